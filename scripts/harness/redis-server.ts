import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnRedisServer } from '../../src/redis/launcher.ts';

export { freePort };

export interface PrivateRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a private `redis-server` on a free loopback port, or on `opts.port` (to bring one back
 * where a stopped one was), with nothing on disk unless `extraArgs` asks for it; resolves once it
 * accepts connections.
 */
export async function startRedis(
  extraArgs: string[] = [],
  opts: { port?: number } = {},
): Promise<PrivateRedis> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'fireline-redis-'));
  const child = await spawnRedisServer([
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    ...extraArgs,
  ]).catch((err: Error) => {
    throw new Error(
      `cannot start redis-server (is it installed? apt-get install redis-server): ${err.message}`,
    );
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    async stop() {
      // A server killed by a signal has no exit code, but it is gone all the same.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
