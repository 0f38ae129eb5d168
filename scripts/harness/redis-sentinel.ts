import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, spawnRedisServer } from '../../src/redis/launcher.ts';
import { type PrivateRedis, startRedis } from './redis-server.ts';

/**
 * A local Redis Sentinel group from Debian's `redis-server` (which also runs as a sentinel): one
 * primary, `replicas` replicas and `sentinels` sentinels (quorum: a majority) watching it as
 * `masterName`, quick to fail over (down after 1 s). Nothing on disk but the sentinels' config.
 */
export interface SentinelGroup {
  /** `redis+sentinel://…/<masterName>`, what REDIS_URL takes. */
  url: string;
  masterName: string;
  primary: PrivateRedis;
  replicas: PrivateRedis[];
  sentinelPorts: number[];
  stop(): Promise<void>;
}

/** A full sync at once (the default waits 5 s for more replicas to share one transfer). */
async function primaryClientConfig(primary: PrivateRedis): Promise<void> {
  const client = new Redis(primary.url);
  try {
    await client.config('SET', 'repl-diskless-sync-delay', '0');
  } finally {
    client.disconnect();
  }
}

/** A private primary and its replicas, in sync: plain Redis replication, no sentinels. */
export interface ReplicatedRedis {
  primary: PrivateRedis;
  replicas: PrivateRedis[];
  stop(): Promise<void>;
}

/**
 * Starts a primary and `replicas` replicas of it, and resolves once every replica's link is up (a
 * full sync done), with the primary's `repl-diskless-sync-delay` at 0.
 */
export async function startReplicated(replicaCount: number): Promise<ReplicatedRedis> {
  const primary = await startRedis();
  const replicas: PrivateRedis[] = [];
  const stop = async () => {
    for (const r of [primary, ...replicas]) await r.stop();
  };
  try {
    for (let i = 0; i < replicaCount; i++)
      replicas.push(await startRedis(['--replicaof', '127.0.0.1', String(primary.port)]));
    await primaryClientConfig(primary);
    // Replicas in sync before anything is written (Redis 7 waits 5 s before a diskless full sync).
    for (const r of replicas) {
      const client = new Redis(r.url);
      try {
        while (!/master_link_status:up/.test(await client.info('replication')))
          await new Promise((ok) => setTimeout(ok, 100));
      } finally {
        client.disconnect();
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { primary, replicas, stop };
}

export async function startSentinelGroup(
  opts: { replicas?: number; sentinels?: number; masterName?: string } = {},
): Promise<SentinelGroup> {
  const masterName = opts.masterName ?? 'fireline';
  const { primary, replicas, stop: stopServers } = await startReplicated(opts.replicas ?? 2);
  const count = opts.sentinels ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'fireline-sentinel-'));
  const sentinelPorts: number[] = [];
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} ${Math.floor(count / 2) + 1}`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 5000`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
    children.push(await spawnRedisServer([conf, '--sentinel'], '+monitor master'));
    sentinelPorts.push(port);
  }
  return {
    url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${masterName}`,
    masterName,
    primary,
    replicas,
    sentinelPorts,
    async stop() {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
      await stopServers();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
