import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** The Redis a process uses, and how to let go of it. */
export interface RedisTarget {
  url: string;
  /** `env` (REDIS_URL), `local` (something answered on 127.0.0.1:6379), or `private` (we started it). */
  source: 'env' | 'local' | 'private';
  stop(): Promise<void>;
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 500): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  // A refused connection is the expected answer here; the probe reports it as `false`.
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch (err) {
    if (err instanceof Error) return false;
    throw err;
  } finally {
    probe.disconnect();
  }
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

/**
 * Finds Redis the way `npm start` promises: `REDIS_URL` if set; else FIRELINE_LOCAL_REDIS
 * (127.0.0.1:6379) if it answers; else a private `redis-server` from PATH with its data in `dataDir` (append-only file,
 * fsync every second, `noeviction`), stopped by `stop()`; else a ConfigError listing the ways.
 */
export async function resolveRedis(
  env: { REDIS_URL?: string | undefined; FIRELINE_LOCAL_REDIS: string },
  dataDir: string,
  logger: Logger,
): Promise<RedisTarget> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: 'env', stop: async () => undefined };
  const local = env.FIRELINE_LOCAL_REDIS;
  if (await redisAnswers(local)) return { url: local, source: 'local', stop: async () => undefined };
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
  ];
  args.push('--maxmemory-policy', 'noeviction', '--save', '', '--daemonize', 'no');
  let child: ChildProcess;
  try {
    child = await spawnRedisServer(args);
  } catch (err) {
    throw new ConfigError(
      [
        `no Redis to use: REDIS_URL is not set, nothing answers on ${local}, and redis-server could not be started (${(err as Error).message}).`,
        'Provide Redis in one of these ways:',
        '  - set REDIS_URL=redis://host:6379 (a managed Redis, or `docker compose up redis`)',
        '  - start one locally: redis-server --daemonize yes',
        '  - install it so Fireline can start its own: apt-get install redis-server (or brew install redis)',
      ].join('\n'),
    );
  }
  logger.info({ port, dataDir: dir }, 'started a private redis-server');
  return {
    url: `redis://127.0.0.1:${port}`,
    source: 'private',
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Starts `redis-server` with `args`; resolves once it prints `readyLine` (by default: it accepts
 * connections; a sentinel says `+monitor master` instead), its output drained from then on.
 */
export function spawnRedisServer(
  args: string[],
  readyLine = 'Ready to accept connections',
): Promise<ChildProcess> {
  return new Promise((ok, fail) => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyLine)) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        ok(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', fail);
    child.once('exit', (code) =>
      fail(new Error(`redis-server exited with ${code}: ${output.trim().split('\n').pop()}`)),
    );
  });
}
