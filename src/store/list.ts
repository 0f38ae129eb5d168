import type { Severity } from '../engine/runbook-schema.ts';
import type { Incident, IncidentStatus } from '../engine/types.ts';
import { InvalidOperationError } from '../errors.ts';
import type { RedisClient } from '../redis/client.ts';
import { decodeIncident, type StoreKeys } from './keys.ts';

/** Filters of `list`; all given ones must hold. `open: false` means resolved. */
export interface IncidentFilter {
  status?: IncidentStatus;
  service?: string;
  severity?: Severity;
  runbookId?: string;
  open?: boolean;
}

/** Newest first; `cursor` is the `nextCursor` of the previous page. */
export interface PageRequest {
  cursor?: string;
  limit: number;
}

const BATCH = 100;

/** A position in an index: creation time (ms) and incident id, which breaks ties. */
interface Position {
  score: number;
  id: string;
}

/**
 * Pages through incidents newest first. It walks the smallest index zset that a filter names
 * (every index is scored by creation time) and checks the other filters on the documents, so a
 * narrow filter reads few incidents. The cursor is `<created ms>:<id>` of the last item returned,
 * and null when no further incident matches.
 */
export async function listIncidents(
  redis: RedisClient,
  keys: StoreKeys,
  filter: IncidentFilter,
  page: PageRequest,
): Promise<{ items: Incident[]; nextCursor: string | null }> {
  if (!Number.isInteger(page.limit) || page.limit < 1) {
    throw new InvalidOperationError(`page limit must be a positive integer, got ${page.limit}`);
  }
  const index = await smallestIndex(redis, candidateIndexes(keys, filter));
  let bound = page.cursor === undefined ? null : parseCursor(page.cursor);
  const items: Incident[] = [];
  let offset = 0;
  for (;;) {
    const rows = await redis.zrange(
      index,
      bound === null ? '+inf' : bound.score,
      '-inf',
      'BYSCORE',
      'REV',
      'LIMIT',
      offset,
      BATCH,
      'WITHSCORES',
    );
    const fetched = rows.length / 2;
    // With equal scores, REV order is descending id: ids ≥ the bound's were already returned.
    const fresh: Position[] = [];
    for (let i = 0; i < rows.length; i += 2) {
      const position = { id: rows[i]!, score: Number(rows[i + 1]) };
      if (bound && position.score === bound.score && position.id >= bound.id) continue;
      fresh.push(position);
    }
    if (fresh.length === 0 && fetched === BATCH) {
      offset += BATCH; // a long run of equal scores, all already returned
      continue;
    }
    offset = 0;
    const docs = await load(redis, keys, fresh);
    for (const [i, position] of fresh.entries()) {
      const incident = docs[i];
      if (incident && matches(incident, filter)) {
        // One match past the page proves there is a next page; its cursor is the page's last item.
        if (items.length === page.limit) return { items, nextCursor: `${bound!.score}:${bound!.id}` };
        items.push(incident);
      }
      bound = position;
    }
    if (fetched < BATCH) return { items, nextCursor: null };
  }
}

function candidateIndexes(keys: StoreKeys, filter: IncidentFilter): string[] {
  const out: string[] = [];
  if (filter.status !== undefined) out.push(keys.byStatus(filter.status));
  if (filter.service !== undefined) out.push(keys.byService(filter.service));
  if (filter.severity !== undefined) out.push(keys.bySeverity(filter.severity));
  if (filter.runbookId !== undefined) out.push(keys.byRunbook(filter.runbookId));
  // The resolved index is scored by resolution time; the status index keeps creation order.
  if (filter.open !== undefined) out.push(filter.open ? keys.open : keys.byStatus('resolved'));
  return out.length > 0 ? out : [keys.incidents];
}

async function smallestIndex(redis: RedisClient, candidates: string[]): Promise<string> {
  if (candidates.length === 1) return candidates[0]!;
  const pipeline = redis.pipeline();
  for (const key of candidates) pipeline.zcard(key);
  const sizes = await execOrThrow(pipeline);
  let best = 0;
  for (let i = 1; i < sizes.length; i++) if (Number(sizes[i]) < Number(sizes[best])) best = i;
  return candidates[best]!;
}

async function load(
  redis: RedisClient,
  keys: StoreKeys,
  positions: Position[],
): Promise<(Incident | null)[]> {
  if (positions.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const { id } of positions) pipeline.hgetall(keys.incident(id));
  // An incident swept between the index read and this read is simply left out.
  return (await execOrThrow(pipeline)).map((hash) => decodeIncident(hash as Record<string, string>));
}

async function execOrThrow(pipeline: ReturnType<RedisClient['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function matches(incident: Incident, filter: IncidentFilter): boolean {
  return (
    (filter.status === undefined || incident.status === filter.status) &&
    (filter.service === undefined || incident.service === filter.service) &&
    (filter.severity === undefined || incident.severity === filter.severity) &&
    (filter.runbookId === undefined || incident.runbookId === filter.runbookId) &&
    (filter.open === undefined || (incident.status !== 'resolved') === filter.open)
  );
}

function parseCursor(cursor: string): Position {
  const colon = cursor.indexOf(':');
  const score = Number(cursor.slice(0, colon));
  if (colon < 1 || !Number.isFinite(score)) {
    throw new InvalidOperationError(`invalid cursor '${cursor}'`);
  }
  return { score, id: cursor.slice(colon + 1) };
}
