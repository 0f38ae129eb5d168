import type { Chart } from '../engine/chart-types.ts';
import { historyFacts } from '../engine/history.ts';
import type { Incident, TimelineEvent } from '../engine/types.ts';
import type { ArchiveItem, HistoryStore } from '../history/history-store.ts';
import { compareStreamIds } from '../store/keys.ts';
import type { PipelineDeps } from './deps.ts';

/**
 * The history archive: copies incidents from Redis (the working store) to PostgreSQL (the history,
 * src/history/history-store.ts) as they change. One `archive` job (a job scheduler, every second,
 * src/workers/index.ts) runs `archivePass`: it reads the global events stream after the cursor the
 * history keeps, takes every incident referenced there whose newest event the history lacks, reads
 * its record, whole timeline and charts, and writes them with the new cursor in one transaction. A
 * worker that dies mid-pass commits nothing and the next pass starts from the same cursor; a pass
 * run twice writes nothing twice (upserts by incident id and event id). Passes are serialised by a
 * Redis marker.
 *
 * The scheduled pass trails the stream by `settleMs` (ARCHIVE_SETTLE_MS): an incident is archived
 * once its first new event is that old, with everything it has by then, so the burst of events an
 * incident makes in its first seconds is written once rather than once a second (the storm bench,
 * bench/history-cost.ts). Anyone else (the sweep, tests) archives up to now.
 */
/** Incidents read and written per transaction. */
const BATCH = 200;
/** Global stream entries read per batch (an incident records ~15–30 events). */
const REFS_PER_READ = 2000;
/** How long one pass may hold the archive (the job's lock is longer). */
const PASS_LOCK_MS = 20_000;

export interface ArchiveOutcome {
  incidents: number;
  events: number;
  unmatched: number;
  /** The stream had been trimmed past the cursor: the incidents changed since were compared one by one. */
  reconciled: boolean;
}

/** The archive's view of the pipeline: with the history on. */
type ArchiveDeps = PipelineDeps & { history: HistoryStore };

export function historyOn(deps: PipelineDeps): deps is ArchiveDeps {
  return deps.history !== undefined;
}

/** How far the scheduled pass trails the events stream. */
export const ARCHIVE_SETTLE_MS = 3000;

/**
 * One archive pass over the events up to `settleMs` before it started (default: up to its start);
 * returns what it wrote (nothing when another pass holds the archive).
 */
export async function archivePass(
  deps: ArchiveDeps,
  opts: { settleMs?: number } = {},
): Promise<ArchiveOutcome> {
  // Up to a fixed point, so a pass ends however fast events keep coming. Stream ids carry Redis's
  // wall-clock milliseconds, hence the wall clock here rather than the injected one.
  const until = String(Date.now() - (opts.settleMs ?? 0));
  const out: ArchiveOutcome = { incidents: 0, events: 0, unmatched: 0, reconciled: false };
  const token = `${process.pid}-${Date.now()}-${Math.random()}`;
  if (!(await deps.store.claim('archive', PASS_LOCK_MS, token))) return out;
  try {
    await archiveUnmatched(deps, out);
    let cursor = await deps.history.cursor('events');
    for (;;) {
      const touched = await deps.feed.touched(cursor, REFS_PER_READ, until);
      if (touched.gap) {
        // Events after the cursor were trimmed (the stream's cap) before the archive read them:
        // archive every incident that may have changed since, then go on from the oldest entry
        // left (everything up to now is in the history by then).
        const oldest = await deps.feed.eventsStart();
        await reconcile(deps, cursor === null ? 0 : Number(cursor.split('-')[0]), out);
        out.reconciled = true;
        if (oldest === null) return out;
        await deps.history.write([], [], { events: oldest });
        cursor = oldest;
        continue;
      }
      if (touched.lastId === cursor) return out;
      for (let i = 0; i < touched.ids.length; i += BATCH) {
        const last = i + BATCH >= touched.ids.length;
        await archiveIncidents(deps, touched.ids.slice(i, i + BATCH), out, last ? touched.lastId : null);
      }
      if (touched.ids.length === 0 && touched.lastId !== null)
        await deps.history.write([], [], { events: touched.lastId });
      cursor = touched.lastId;
    }
  } finally {
    // Only the holder lets go (the marker may have expired and been taken by another pass).
    if ((await deps.store.getMarker('archive')) === token) await deps.store.setMarker('archive', '', 1);
  }
}

async function archiveUnmatched(deps: ArchiveDeps, out: ArchiveOutcome): Promise<void> {
  let cursor = await deps.history.cursor('unmatched');
  for (;;) {
    const { items, lastId } = await deps.feed.unmatched(cursor, REFS_PER_READ);
    if (lastId === null || lastId === cursor) return;
    await deps.history.write([], items, { unmatched: lastId });
    out.unmatched += items.length;
    cursor = lastId;
  }
}

/**
 * Archives every incident that may have changed since `sinceMs` (created since, open, or resolved
 * since) whose newest timeline id the history does not have yet.
 */
async function reconcile(deps: ArchiveDeps, sinceMs: number, out: ArchiveOutcome): Promise<void> {
  const ids = await deps.feed.changedSince(sinceMs);
  for (let i = 0; i < ids.length; i += BATCH)
    await archiveIncidents(deps, ids.slice(i, i + BATCH), out, null);
}

/**
 * Reads from Redis those of `ids` whose newest event the history lacks, and writes them (and the
 * cursor, when given) in one transaction.
 */
async function archiveIncidents(
  deps: ArchiveDeps,
  ids: readonly string[],
  out: ArchiveOutcome,
  cursor: string | null,
): Promise<void> {
  const [inRedis, archived] = await Promise.all([
    deps.feed.lastTimelineIds(ids),
    deps.history.lastEventIds(ids),
  ]);
  const behind = ids.filter((id) => inRedis.has(id) && archived.get(id) !== inRedis.get(id));
  const read = await Promise.all(behind.map((id) => readIncident(deps, id)));
  const items: ArchiveItem[] = [];
  for (const found of read) {
    if (found === null) continue; // swept meanwhile: the history has what was archived before
    const { incident, timeline, charts } = found;
    const lastEventId = timeline.at(-1)?.id;
    if (lastEventId === undefined) continue;
    const after = archived.get(incident.id);
    const events = after === undefined ? timeline : timeline.filter((e) => compareStreamIds(e.id, after) > 0);
    items.push({ incident, facts: historyFacts(incident, timeline), events, charts, lastEventId });
    out.events += events.length;
  }
  await deps.history.write(items, [], cursor === null ? {} : { events: cursor });
  out.incidents += items.length;
}

async function readIncident(
  deps: ArchiveDeps,
  id: string,
): Promise<{ incident: Incident; timeline: TimelineEvent[]; charts: Record<string, Chart> } | null> {
  const [incident, timeline, charts] = await Promise.all([
    deps.store.get(id),
    deps.store.timeline(id),
    deps.store.charts(id),
  ]);
  return incident === null ? null : { incident, timeline, charts };
}

/**
 * The incident: from Redis while it is there, else from the history (after the retention sweep);
 * null when neither has it.
 */
export async function findIncident(
  deps: Pick<PipelineDeps, 'store' | 'history'>,
  id: string,
): Promise<Incident | null> {
  return (await deps.store.get(id)) ?? (deps.history ? deps.history.incident(id) : null);
}

/** The timeline, from wherever the incident is (`findIncident`). */
export async function findTimeline(
  deps: Pick<PipelineDeps, 'store' | 'history'>,
  id: string,
  opts: { after?: string; limit?: number } = {},
): Promise<TimelineEvent[]> {
  const live = await deps.store.timeline(id, opts);
  if (live.length > 0 || !deps.history || (await deps.store.get(id)) !== null) return live;
  return deps.history.timeline(id, opts);
}

/** The charts, from wherever the incident is (`findIncident`). */
export async function findCharts(
  deps: Pick<PipelineDeps, 'store' | 'history'>,
  id: string,
): Promise<Record<string, Chart>> {
  if (!deps.history || (await deps.store.get(id)) !== null) return deps.store.charts(id);
  return deps.history.charts(id);
}

/**
 * The retention sweep: deletes from Redis the incidents resolved more than `retentionDays` ago.
 * With the history on, it first brings the history up to date and deletes only the incidents the
 * history holds whole (resolved, with the newest event Redis has), so the sweep never loses one.
 */
export async function sweepIncidents(deps: PipelineDeps): Promise<{ removed: number }> {
  const cutoff = new Date(deps.now().getTime() - deps.retentionDays * 24 * 3600 * 1000);
  if (!historyOn(deps)) return { removed: await deps.store.sweep(cutoff) };
  await archivePass(deps);
  const { history, feed } = deps;
  const removed = await deps.store.sweep(cutoff, async (ids) => {
    // An event the archive missed (a note on an old incident while the stream was trimmed) is archived now.
    await archiveIncidents(deps, ids, { incidents: 0, events: 0, unmatched: 0, reconciled: false }, null);
    return history.archivedResolved(ids, await feed.lastTimelineIds(ids));
  });
  return { removed };
}
