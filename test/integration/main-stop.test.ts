import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startFireline } from '../../src/main.ts';
import type { RedisTarget } from '../../src/redis/launcher.ts';

const redisUrl = inject('redisUrl');

describe('stopping a running Fireline (what SIGTERM does)', () => {
  it('is idempotent, runs each step once, and goes on past a step that fails', async () => {
    const calls: string[] = [];
    const redis: RedisTarget = {
      url: redisUrl,
      source: 'env',
      stop: async () => {
        calls.push('redis.stop');
        throw new Error('redis-server would not stop');
      },
    };
    const config = loadConfig({
      FIRELINE_RUNBOOKS: 'runbooks',
      FIRELINE_PREFIX: `t${randomUUID().slice(0, 8)}`,
      FIRELINE_SHUTDOWN_TIMEOUT_MS: '2000',
      FIRELINE_HISTORY: 'off',
    });
    const fireline = await startFireline(config, createLogger({ level: 'silent' }), redis, {
      role: 'worker',
    });
    const first = fireline.stop();
    const second = fireline.stop();
    expect(second, 'a second stop() while the first runs is the same shutdown').toBe(first);
    await expect(first, 'a failing step is logged and shutdown goes on').resolves.toBeUndefined();
    await fireline.stop();
    expect(calls, 'each step runs once however often stop() is called').toEqual(['redis.stop']);
  });
});
