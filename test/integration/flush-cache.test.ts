import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  createFlushCacheAction,
  type FlushCacheAction,
  type FlushCacheConfig,
} from '../../src/adapters/actions/flush-cache.ts';
import type { ActionContext } from '../../src/adapters/types.ts';
import { ActionSchema, isIdempotent } from '../../src/engine/runbook-schema.ts';
import { renderActionConfig, templateContext } from '../../src/engine/template.ts';
import { AdapterError } from '../../src/errors.ts';
import { firingAlert } from '../helpers/pipeline.ts';

// The run's private Redis, on a database index of its own (the other tests use 0), and a key
// prefix per test so that nothing another test writes can match.
const DB = 9;
const base = new URL(inject('redisUrl'));
base.pathname = `/${DB}`;
const cacheUrl = base.href;

let redis: Redis;
let monitor: Redis | undefined;
let action: FlushCacheAction;
let prefix: string;
/** Every command the server ran on our database index while the test ran, lower-cased name first. */
let commands: string[][];

beforeEach(async () => {
  redis = new Redis(cacheUrl);
  prefix = `t${randomUUID().slice(0, 8)}`;
  commands = [];
  // The test's own connection (seeding, KEYS in assertions) is left out of what the action sent.
  const self = /(?:^| )addr=(\S+)/.exec(String(await redis.client('INFO')))?.[1];
  monitor = await redis.duplicate().monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string, database: string) => {
    if (Number(database) === DB && source !== self) commands.push([args[0]!.toLowerCase(), ...args.slice(1)]);
  });
  // Small SCAN pages, so that every test walks the keyspace in several steps.
  action = createFlushCacheAction({ default: { url: cacheUrl } }, { scanCount: 7 });
});
afterEach(async () => {
  await action.close();
  await monitor?.disconnect();
  await redis.quit();
});

const cfg = (config: Record<string, unknown>): FlushCacheConfig => action.configSchema.parse(config);
const live = (): ActionContext => ({ signal: new AbortController().signal, dryRun: false });
const dry = (): ActionContext => ({ signal: new AbortController().signal, dryRun: true });

/** 50 `cache:user:*` keys and 13 others that look alike. */
async function seed() {
  const multi = redis.multi();
  for (let i = 0; i < 50; i++) multi.set(`${prefix}:cache:user:${i}`, 'v');
  for (let i = 0; i < 10; i++) multi.set(`${prefix}:cache:order:${i}`, 'v');
  multi
    .set(`${prefix}:cache:users`, 'v')
    .set(`${prefix}:cache:user`, 'v')
    .set(`${prefix}:session:user:1`, 'v');
  await multi.exec();
}
const left = async (pattern: string) => (await redis.keys(`${prefix}:${pattern}`)).sort();

describe('flush_cache', () => {
  it('deletes exactly the matching keys, with SCAN and UNLINK only', async () => {
    await seed();
    const outcome = await action.run(cfg({ pattern: `${prefix}:cache:user:*` }), live());
    expect(outcome).toEqual({
      dryRun: false,
      summary: `deleted 50 keys matching '${prefix}:cache:user:*' on default`,
      request: { target: 'default', pattern: `${prefix}:cache:user:*`, maxKeys: 10_000 },
    });
    expect(await left('cache:user:*')).toEqual([]);
    expect(await left('*')).toHaveLength(13);
    await expect
      .poll(() => commands.filter((c) => c[0] === 'unlink').flatMap((c) => c.slice(1)).length)
      .toBe(50);
    // ioredis's own INFO (ready check) and SELECT (database index) besides; never KEYS or FLUSH*.
    const names = new Set(commands.map((c) => c[0]));
    expect([...names].sort()).toEqual(['info', 'scan', 'select', 'unlink']);
    expect(commands.filter((c) => c[0] === 'scan')[0]).toEqual([
      'scan',
      '0',
      'MATCH',
      `${prefix}:cache:user:*`,
      'COUNT',
      '7',
    ]);
  });

  it('stops at maxKeys: exactly that many deleted, and the outcome says it was capped', async () => {
    await seed();
    const outcome = await action.run(cfg({ pattern: `${prefix}:cache:user:*`, maxKeys: 20 }), live());
    expect(outcome.summary).toBe(
      `deleted 20 keys matching '${prefix}:cache:user:*' on default; stopped at maxKeys 20, more keys match`,
    );
    expect(await left('cache:user:*')).toHaveLength(30);
    expect(await left('*')).toHaveLength(43);
    // Exactly as many keys as matched: not capped.
    const rest = await action.run(cfg({ pattern: `${prefix}:cache:user:*`, maxKeys: 30 }), live());
    expect(rest.summary).toBe(`deleted 30 keys matching '${prefix}:cache:user:*' on default`);
  });

  it('counts in a dry run and deletes nothing', async () => {
    await seed();
    const outcome = await action.run(cfg({ pattern: `${prefix}:cache:user:*`, maxKeys: 20 }), dry());
    expect(outcome).toEqual({
      dryRun: true,
      summary: `dry run: would delete 20 keys matching '${prefix}:cache:user:*' on default; stopped at maxKeys 20, more keys match`,
      request: { target: 'default', pattern: `${prefix}:cache:user:*`, maxKeys: 20 },
    });
    const all = await action.run(cfg({ pattern: `${prefix}:cache:*` }), dry());
    expect(all.summary).toBe(`dry run: would delete 62 keys matching '${prefix}:cache:*' on default`);
    expect(await left('*')).toHaveLength(63);
    expect(commands.some((c) => c[0] === 'unlink' || c[0] === 'del')).toBe(false);
  });

  it('treats glob characters of alert text as literal: a label "*" flushes one key, not all', async () => {
    await seed();
    await redis.set(`${prefix}:cache:user:*`, 'literal');
    const step = ActionSchema.parse({
      type: 'flush_cache',
      config: { pattern: `${prefix}:cache:user:{{ alert.labels.user }}` },
    });
    const rendered = renderActionConfig(
      step,
      templateContext(firingAlert({ alertname: 'X', user: '*' }), {
        id: 'inc-1',
        severity: 'P2',
        service: 'web',
        runbookId: 'rb',
      }),
    );
    if (!rendered.ok) throw new Error(`render failed: ${rendered.reason}`);
    const outcome = await action.run(cfg(rendered.config), live());
    expect(outcome.summary).toBe(`deleted 1 keys matching '${prefix}:cache:user:\\*' on default`);
    expect(await redis.exists(`${prefix}:cache:user:*`)).toBe(0);
    expect(await left('cache:user:*')).toHaveLength(50);
  });

  it('is idempotent: a second run finds nothing to delete', async () => {
    await seed();
    await action.run(cfg({ pattern: `${prefix}:cache:order:*` }), live());
    const again = await action.run(cfg({ pattern: `${prefix}:cache:order:*` }), live());
    expect(again.summary).toBe(`deleted 0 keys matching '${prefix}:cache:order:*' on default`);
    expect(isIdempotent(ActionSchema.parse({ type: 'flush_cache', config: { pattern: 'x:*' } }))).toBe(true);
  });

  it('names a target that is not configured, an unreachable one, and an abort', async () => {
    await expect(action.run(cfg({ target: 'sessions', pattern: 'x:*' }), live())).rejects.toThrow(
      "flush_cache: redis target 'sessions' is not configured",
    );
    const unreachable = createFlushCacheAction({ default: { url: 'redis://127.0.0.1:1' } });
    try {
      const error = await unreachable.run(cfg({ pattern: 'x:*' }), live()).then(
        (o) => new Error(`expected a failure, got ${JSON.stringify(o)}`),
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(AdapterError);
      expect(error).toMatchObject({ retryable: true });
      expect((error as Error).message).toBe(
        "flush_cache: cannot connect to redis target 'default': connect ECONNREFUSED 127.0.0.1:1",
      );
    } finally {
      await unreachable.close();
    }
    await expect(
      action.run(cfg({ pattern: `${prefix}:*` }), { signal: AbortSignal.abort(), dryRun: false }),
    ).rejects.toThrow(/^flush_cache: cancelled after 0\.0s; 0 keys were deleted before$/);
  });
});
