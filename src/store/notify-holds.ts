import type { RedisClient } from '../redis/client.ts';
import { storeKeys } from './keys.ts';

/**
 * Per-address holds of notifications: when a remote answers 429 with Retry-After, every worker
 * puts off its jobs for that address (and only that one) until the hold expires.
 */
export interface NotifyHolds {
  /** Milliseconds the address is still held back; 0 or less when it is not. */
  remainingMs(address: string): Promise<number>;
  hold(address: string, ms: number): Promise<void>;
}

export function createNotifyHolds(redis: RedisClient, prefix: string): NotifyHolds {
  const keys = storeKeys(prefix);
  return {
    remainingMs: (address) => redis.pttl(keys.notifyHold(address)),
    async hold(address, ms) {
      await redis.set(keys.notifyHold(address), '1', 'PX', ms);
    },
  };
}
