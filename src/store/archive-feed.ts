import { type Alert, AlertSchema } from '../engine/types.ts';
import type { RedisClient } from '../redis/client.ts';
import { compareStreamIds, INCIDENT_ID_FIELD, type StoreKeys, type StreamEntry } from './keys.ts';

/**
 * What the history archive (src/incidents/archive.ts) reads from Redis besides the incidents
 * themselves: which incidents changed (the global events stream's references, read after a cursor),
 * the incidents that may have changed since a time (after the stream was trimmed past the cursor), and the
 * alerts no runbook took (intake records them here; a capped stream).
 */

/** Caps the unmatched-alerts stream: at worst the oldest are lost when the archive is down that long. */
const UNMATCHED_MAX_LEN = 10_000;

export interface UnmatchedEntry {
  id: string;
  /** When intake recorded it (ISO). */
  at: string;
  alert: Alert;
}

export interface ArchiveFeed {
  /**
   * The incidents referenced by the events stream after `after` (exclusive; `null`: from the
   * start) up to `until` (ms, inclusive: a fixed end, so a reader catches up however fast events
   * come), at most `count` entries read: each incident with the time (ms) of its newest entry
   * read; `lastId` the last entry read (`after` when none); `gap` when entries after `after` were
   * trimmed before they were read.
   */
  touched(
    after: string | null,
    count: number,
    until: number,
  ): Promise<{ touches: Map<string, number>; lastId: string | null; gap: boolean }>;
  /** Marks incidents pending for the archive, each at the given time unless it is already later. */
  markPending(touches: ReadonlyMap<string, number>): Promise<void>;
  /** Up to `count` pending incidents whose newest event is at or before `quietSince` (ms), oldest first. */
  duePending(quietSince: number, count: number): Promise<string[]>;
  /** Takes incidents off the pending set (once archived). */
  clearPending(ids: readonly string[]): Promise<void>;
  /** The events stream's oldest entry id (null: empty). */
  eventsStart(): Promise<string | null>;
  /** Every incident that may have changed since `sinceMs`: created since, open, or resolved since. */
  changedSince(sinceMs: number): Promise<string[]>;
  /** Each incident's newest timeline id (absent: no timeline, swept). */
  lastTimelineIds(ids: readonly string[]): Promise<Map<string, string>>;
  recordUnmatched(alert: Alert, at: Date): Promise<void>;
  unmatched(after: string | null, count: number): Promise<{ items: UnmatchedEntry[]; lastId: string | null }>;
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

export function createArchiveFeed(redis: RedisClient, keys: StoreKeys): ArchiveFeed {
  /**
   * Whether entries after `after` (`null`: from the stream's beginning) were deleted before they
   * were read. XDEL moves `max-deleted-entry-id`; the cap's trimming does not, but it removes the
   * oldest entries, so the oldest one left being newer than the cursor says it (at worst a
   * needless, bounded reconcile when exactly the entries up to the cursor went). Without a cursor,
   * the stream has lost entries when it holds fewer than were ever added (Redis 7; older: no gap).
   */
  async function trimmedPast(key: string, after: string | null): Promise<boolean> {
    const info = (await redis.call('XINFO', 'STREAM', key).catch(() => null)) as unknown[] | null;
    if (info === null) return false; // no stream yet
    const value = (name: string) => {
      const at = info.indexOf(name);
      return at < 0 ? undefined : info[at + 1];
    };
    const maxDeleted = value('max-deleted-entry-id');
    if (after !== null && maxDeleted !== undefined && compareStreamIds(String(maxDeleted), after) > 0)
      return true;
    if (after === null) {
      const added = value('entries-added');
      return added !== undefined && Number(added) > Number(value('length'));
    }
    const first = value('first-entry') as StreamEntry | null | undefined;
    const newest = first ? first[0] : String(value('last-generated-id') ?? '0-0');
    return compareStreamIds(newest, after) > 0 && (first !== null || Number(value('entries-added') ?? 1) > 0);
  }
  return {
    async touched(after, count, until) {
      const start = after === null ? '-' : `(${after}`;
      const entries = (await redis.xrange(keys.events, start, until, 'COUNT', count)) as StreamEntry[];
      const touches = new Map<string, number>();
      for (const [entryId, fields] of entries) {
        const id = field(fields, INCIDENT_ID_FIELD) ?? incidentOfCopy(fields);
        if (id !== undefined) touches.set(id, Number(entryId.split('-')[0]));
      }
      const gap = await trimmedPast(keys.events, after);
      return { touches, lastId: entries.at(-1)?.[0] ?? after, gap };
    },
    async markPending(touches) {
      if (touches.size === 0) return;
      const pairs = [...touches].flatMap(([id, ms]) => [ms, id]);
      await redis.zadd(keys.archivePending, 'GT', ...pairs);
    },
    duePending(quietSince, count) {
      return redis.zrangebyscore(keys.archivePending, '-inf', quietSince, 'LIMIT', 0, count);
    },
    async clearPending(ids) {
      if (ids.length > 0) await redis.zrem(keys.archivePending, ...ids);
    },
    async eventsStart() {
      const [first] = (await redis.xrange(keys.events, '-', '+', 'COUNT', 1)) as StreamEntry[];
      return first?.[0] ?? null;
    },
    async changedSince(sinceMs) {
      const [created, open, resolved] = await Promise.all([
        redis.zrangebyscore(keys.incidents, sinceMs, '+inf'),
        redis.zrange(keys.open, 0, -1),
        redis.zrangebyscore(keys.resolved, sinceMs, '+inf'),
      ]);
      return [...new Set([...created, ...open, ...resolved])];
    },
    async lastTimelineIds(ids) {
      if (ids.length === 0) return new Map();
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.xrevrange(keys.timeline(id), '+', '-', 'COUNT', 1);
      const replies = (await pipeline.exec()) ?? [];
      const out = new Map<string, string>();
      ids.forEach((id, i) => {
        const [err, reply] = replies[i] ?? [new Error(`no reply for ${id}`), null];
        if (err) throw err;
        const [entry] = reply as StreamEntry[];
        if (entry) out.set(id, entry[0]);
      });
      return out;
    },
    async recordUnmatched(alert, at) {
      await redis.xadd(
        keys.unmatched,
        'MAXLEN',
        '~',
        UNMATCHED_MAX_LEN,
        '*',
        'at',
        at.toISOString(),
        'alert',
        JSON.stringify(alert),
      );
    },
    async unmatched(after, count) {
      const entries = (await redis.xrange(
        keys.unmatched,
        after === null ? '-' : `(${after}`,
        '+',
        'COUNT',
        count,
      )) as StreamEntry[];
      const items = entries.flatMap(([id, fields]): UnmatchedEntry[] => {
        const parsed = AlertSchema.safeParse(JSON.parse(field(fields, 'alert') ?? 'null'));
        // Written by intake from a validated alert: anything else is not an alert to keep.
        return parsed.success
          ? [
              {
                id,
                at: field(fields, 'at') ?? new Date(Number(id.split('-')[0])).toISOString(),
                alert: parsed.data,
              },
            ]
          : [];
      });
      return { items, lastId: entries.at(-1)?.[0] ?? after };
    },
  };
}

/** The incident id of a global entry written before issue 13 (a copy of the event). */
function incidentOfCopy(fields: string[]): string | undefined {
  const body = field(fields, 'event');
  if (body === undefined) return undefined;
  const id = (JSON.parse(body) as { incidentId?: unknown }).incidentId;
  return typeof id === 'string' ? id : undefined;
}
