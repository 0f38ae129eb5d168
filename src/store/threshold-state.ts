import type { RedisClient } from '../redis/client.ts';
import { storeKeys } from './keys.ts';

// Releases the poll lock only when this poll still holds it.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * What each `metric_threshold` trigger remembers between polls (src/incidents/threshold.ts): the
 * series it saw across its threshold, and a lock so that two polls of one trigger never overlap.
 */
export interface ThresholdState {
  /** fingerprint → labels JSON of the series seen across at the last polls. */
  seen(schedulerId: string): Promise<Record<string, string>>;
  markSeen(schedulerId: string, fingerprint: string, labelsJson: string): Promise<void>;
  forget(schedulerId: string, fingerprint: string): Promise<void>;
  /** Forgets everything of a trigger that no longer exists. */
  drop(schedulerId: string): Promise<void>;
  /** Takes the poll lock for `ttlMs`; false while another poll holds it. */
  lock(schedulerId: string, token: string, ttlMs: number): Promise<boolean>;
  unlock(schedulerId: string, token: string): Promise<void>;
}

export function createThresholdState(redis: RedisClient, prefix: string): ThresholdState {
  const keys = storeKeys(prefix);
  return {
    seen: (id) => redis.hgetall(keys.threshold(id)),
    async markSeen(id, fingerprint, labelsJson) {
      await redis.hset(keys.threshold(id), fingerprint, labelsJson);
    },
    async forget(id, fingerprint) {
      await redis.hdel(keys.threshold(id), fingerprint);
    },
    async drop(id) {
      await redis.del(keys.threshold(id));
    },
    async lock(id, token, ttlMs) {
      return (await redis.set(keys.thresholdLock(id), token, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async unlock(id, token) {
      await redis.eval(RELEASE, 1, keys.thresholdLock(id), token);
    },
  };
}
