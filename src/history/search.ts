import type { Incident } from '../engine/types.ts';
import type { HistoryStore } from './history-store.ts';
import { type HistoryFilter, incidentConditions, SqlParams } from './incident-filter.ts';

/**
 * Search of past incidents: newest first, each word of `q` found (case-insensitive, as a substring)
 * in the text the archive keeps for it (runbook, service, alert labels as `name=value`, annotation
 * values), narrowed by the same filter as the statistics. Pages are keyset pages: the cursor is the
 * last row's (created_at, id), so a page costs the same however deep it is and an incident archived
 * meanwhile neither repeats nor skips a row.
 */

export interface HistoryQuery extends HistoryFilter {
  /** Words that must all appear; none: every incident the filter selects. */
  q?: string;
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface HistoryPage {
  items: Incident[];
  nextCursor: string | null;
}

/** At most this many words are matched; more is a mistake or an attack, not a search. */
export const MAX_SEARCH_WORDS = 12;

/** The words of `q`, lower-cased, without repeats. */
export function searchWords(q: string | undefined): string[] {
  return [...new Set((q ?? '').toLowerCase().split(/\s+/).filter(Boolean))];
}

/** A word as a LIKE pattern matching it anywhere: `%`, `_` and the escape `\` are taken literally. */
export function containsPattern(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

interface Cursor {
  /** created_at in UTC to the microsecond, as PostgreSQL wrote it (`2026-12-07T16:55:01.123456`). */
  at: string;
  id: string;
}

const CURSOR_AT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

/** The cursor's position, or null when it is not one this module made. */
export function decodeCursor(cursor: string): Cursor | null {
  if (!/^[A-Za-z0-9_-]{1,800}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const bar = text.indexOf('|');
  const at = text.slice(0, bar);
  const id = text.slice(bar + 1);
  return bar > 0 && CURSOR_AT.test(at) && id.length > 0 ? { at, id } : null;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.at}|${c.id}`, 'utf8').toString('base64url');
}

/** One page of past incidents matching `query`, newest first. */
export async function searchHistory(history: HistoryStore, query: HistoryQuery): Promise<HistoryPage> {
  const params = new SqlParams();
  const conditions = [incidentConditions(params, history.prefix, query)];
  const words = searchWords(query.q);
  if (words.length > MAX_SEARCH_WORDS)
    throw new RangeError(`at most ${MAX_SEARCH_WORDS} search words; got ${words.length}`);
  for (const word of words) conditions.push(`i.search LIKE ${params.add(containsPattern(word))} ESCAPE '\\'`);
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    if (!after) throw new RangeError('the cursor is not the nextCursor of a previous page');
    conditions.push(
      `(i.created_at, i.id) < (${params.add(after.at)}::timestamp AT TIME ZONE 'UTC', ${params.add(after.id)})`,
    );
  }
  const limit = params.add(query.limit + 1);
  const rows = await history.db.query<{ record: Incident; at: string; id: string }>(
    `SELECT i.record, i.id,
            to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at
     FROM incidents i WHERE ${conditions.join(' AND ')}
     ORDER BY i.created_at DESC, i.id DESC LIMIT ${limit}`,
    params.values,
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => r.record),
    nextCursor: rows.length > query.limit && last ? encodeCursor({ at: last.at, id: last.id }) : null,
  };
}
