import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedis } from '../../scripts/harness/redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** One private redis-server for the whole integration run, or `REDIS_URL` when set. */
export default async function setup(project: TestProject) {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return;
  }
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  return async () => redis.stop();
}
