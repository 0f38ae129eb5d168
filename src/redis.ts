import { Redis, type RedisOptions } from 'ioredis';

/**
 * How a connection is used decides its options (notes/bullmq.md):
 * - `worker`: BullMQ workers and blocking commands — retry forever (`maxRetriesPerRequest: null`);
 * - `producer`: HTTP request paths — fail fast when Redis is down (`enableOfflineQueue: false`) so the
 *   API can answer 503 instead of hanging;
 * - `subscriber`: pub/sub, reconnects on its own.
 * Never ioredis `keyPrefix`: BullMQ and the store use their own prefix.
 */
export type ConnectionRole = 'worker' | 'producer' | 'subscriber';

export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  const base: RedisOptions =
    role === 'producer'
      ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 }
      : { maxRetriesPerRequest: null };
  return new Redis(url, { ...base, lazyConnect: false, ...extra });
}

/** Resolves once the connection is ready, or rejects with the connection error. */
export async function waitReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      redis.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      redis.off('ready', onReady);
      reject(err);
    };
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}
