import type { Chart } from '../engine/chart-types.ts';
import { historyFacts } from '../engine/history.ts';
import type { Incident, TimelineEvent } from '../engine/types.ts';
import type { ArchiveItem, HistoryStore } from '../history/history-store.ts';
import { compareStreamIds } from '../store/keys.ts';
import type { PipelineDeps } from './deps.ts';

/**
 * The history archive: copies incidents from Redis (the working store) to PostgreSQL (the history,
 * src/history/history-store.ts) as they change. One `archive` job (a job scheduler, every second,
 * src/workers/index.ts) runs `archivePass`. It reads the global events stream after the cursor the
 * history keeps and marks each incident named there pending in Redis (`{p}:archive:pending`,
 * scored by its newest event), then archives the pending incidents that have been quiet for
 * ARCHIVE_SETTLE_MS: each one's record, whole timeline and charts, written in one transaction
 * (upserts by incident id and by event id). So an incident's burst of events is written once, the
 * stream is read as fast as it grows (its cap never outruns the archive), and a worker that dies
 * anywhere loses nothing: the cursor moves only after the incidents are marked, an incident leaves
 * the pending set only after its transaction commits, and a pass run twice writes nothing twice.
 * Passes are serialised by a Redis marker.
 */
/** Incidents read and written per transaction. */
const BATCH = 200;
/** Global stream entries read at once (an incident records ~15–30 events). */
const REFS_PER_READ = 10_000;
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

/** How long an incident must be quiet before the scheduled pass archives it. */
export const ARCHIVE_SETTLE_MS = 3000;
/** How long one pass archives before it lets the next read the stream (the rest stays pending). */
const ARCHIVE_BUDGET_MS = 2000;

/**
 * One archive pass: reads the events stream after the cursor and marks each incident seen there
 * pending (with the time of its newest event), moving the cursor on at once; then archives the
 * pending incidents quiet for `settleMs` (default: all of them), for at most ARCHIVE_BUDGET_MS
 * when settling (the scheduled pass). Returns what it wrote (nothing when another pass holds the
 * archive).
 */
export async function archivePass(
  deps: ArchiveDeps,
  opts: { settleMs?: number } = {},
): Promise<ArchiveOutcome> {
  const out: ArchiveOutcome = { incidents: 0, events: 0, unmatched: 0, reconciled: false };
  const token = `${process.pid}-${Date.now()}-${Math.random()}`;
  if (!(await deps.store.claim('archive', PASS_LOCK_MS, token))) return out;
  try {
    await archiveUnmatched(deps, out);
    await readStream(deps, out);
    // Stream ids carry Redis's wall-clock milliseconds, hence the wall clock rather than deps.now.
    const settleMs = opts.settleMs ?? 0;
    const quietSince = Date.now() - settleMs;
    const stopAt = settleMs > 0 ? Date.now() + ARCHIVE_BUDGET_MS : Number.POSITIVE_INFINITY;
    for (;;) {
      const due = await deps.feed.duePending(quietSince, BATCH);
      if (due.length === 0) return out;
      await archiveIncidents(deps, due, out, null);
      // Only passes mark incidents pending, one pass at a time: nothing re-marked them meanwhile.
      await deps.feed.clearPending(due);
      if (Date.now() >= stopAt) return out;
    }
  } finally {
    // Only the holder lets go (the marker may have expired and been taken by another pass).
    if ((await deps.store.getMarker('archive')) === token) await deps.store.setMarker('archive', '', 1);
  }
}

/**
 * Reads the events stream from the cursor to where it ended when the pass began, marking the incidents it names pending;
 * the cursor moves with each read, in the history. A gap (events trimmed before they were read)
 * archives every incident that may have changed since the cursor, then goes on from the oldest
 * entry left.
 */
async function readStream(deps: ArchiveDeps, out: ArchiveOutcome): Promise<void> {
  // Up to where the stream was when the pass began: during a storm the end keeps moving.
  const until = Date.now();
  let cursor = await deps.history.cursor('events');
  for (;;) {
    const touched = await deps.feed.touched(cursor, REFS_PER_READ, until);
    if (touched.gap) {
      const oldest = await deps.feed.eventsStart();
      await reconcile(deps, cursor === null ? 0 : Number(cursor.split('-')[0]), out);
      out.reconciled = true;
      if (oldest === null) return;
      await deps.history.write([], [], { events: oldest });
      cursor = oldest;
      continue;
    }
    if (touched.lastId === null || touched.lastId === cursor) return;
    // Pending first, then the cursor: a pass that dies between the two reads the same refs again.
    await deps.feed.markPending(touched.touches);
    await deps.history.write([], [], { events: touched.lastId });
    cursor = touched.lastId;
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
  if (live.length > 0 || !deps.history || (await deps.store.has(id))) return live;
  return deps.history.timeline(id, opts);
}

/** The charts, from wherever the incident is (`findIncident`). */
export async function findCharts(
  deps: Pick<PipelineDeps, 'store' | 'history'>,
  id: string,
): Promise<Record<string, Chart>> {
  if (!deps.history || (await deps.store.has(id))) return deps.store.charts(id);
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
