import type { RedisClient } from '../redis/client.ts';
import type { StoreKeys } from './keys.ts';
import { runScript, SWEEP_ONE } from './scripts.ts';

const SWEEP_BATCH = 200;

/** Of a batch of incident ids, those that may go (with the history on: those it holds whole). */
export type Removable = (ids: readonly string[]) => Promise<ReadonlySet<string>>;

/**
 * Deletes incidents resolved before `olderThan` (hash, timeline, firing set, charts, index entries), a
 * batch of the resolved index at a time, one atomic script per incident; returns how many. With
 * `removable`, only the ids it returns go; the others stay for a later sweep.
 */
export async function sweepResolved(
  redis: RedisClient,
  keys: StoreKeys,
  olderThan: Date,
  removable?: Removable,
): Promise<number> {
  const cutoff = olderThan.getTime();
  let removed = 0;
  let kept = 0;
  for (;;) {
    // Deleted ids leave the index, so the next batch starts after the ones the script kept.
    const ids = await redis.zrangebyscore(keys.resolved, '-inf', `(${cutoff}`, 'LIMIT', kept, SWEEP_BATCH);
    const allowed = removable ? await removable(ids) : new Set(ids);
    const results = await Promise.all(
      ids
        .filter((id) => allowed.has(id))
        .map((id) =>
          runScript(
            redis,
            SWEEP_ONE,
            [
              keys.incident(id),
              keys.timeline(id),
              keys.incidents,
              keys.open,
              keys.resolved,
              keys.firing(id),
              keys.charts(id),
            ],
            [id, keys.prefix, cutoff],
          ),
        ),
    );
    const deleted = results.filter((r) => r === 1).length;
    removed += deleted;
    kept += ids.length - deleted;
    if (ids.length < SWEEP_BATCH) return removed;
  }
}
