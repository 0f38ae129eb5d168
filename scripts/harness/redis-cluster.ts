import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, type PrivateRedis, startRedis } from './redis-server.ts';

const run = promisify(execFile);

/** A local Redis Cluster of private `redis-server` masters on loopback. */
export interface PrivateCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…`, the form Fireline's REDIS_URL takes. */
  url: string;
  nodes: PrivateRedis[];
  /** Stops every node, keeping their cluster state files (the cluster is down, not gone). */
  stopNodes(): Promise<void>;
  /**
   * Starts the node on `port` again (after it was killed), on its state file and with no data: as
   * a supervisor would. A master that was failed over meanwhile rejoins as its successor's replica.
   */
  restartNode(port: number): Promise<void>;
  /** Starts the stopped nodes again on their ports and state files; resolves once the cluster is ok. */
  startNodes(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled `redis-server`s (and `replicas` replicas of each) on free
 * loopback ports (nothing saved to disk), joins them with `redis-cli --cluster create`, and
 * resolves once every node reports `cluster_state:ok` and every replica is in sync, so the first
 * command sent finds every slot served. With replicas, a master that dies is replaced by its
 * replica after `cluster-node-timeout` (1 s here).
 */
export async function startCluster(masters = 3, replicas = 0): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fireline-cluster-'));
  const nodes: PrivateRedis[] = [];
  // Redis writes each node's view of the cluster to its state file; one file per node.
  const startNode = (port: number) =>
    startRedis(
      [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        ...(replicas > 0 ? ['--cluster-node-timeout', '1000', '--repl-diskless-sync-delay', '0'] : []),
      ],
      { port },
    );
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) nodes.push(await startNode(await freePort()));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    await Promise.all(nodes.map((n) => untilClusterOk(n.port)));
    await Promise.all(nodes.map((n) => untilReplicaInSync(n.port)));
    await Promise.all(nodes.map((n) => untilClusterOk(n.port)));
    return {
      url: `redis+cluster://${addresses.join(',')}`,
      nodes,
      stop,
      async stopNodes() {
        await Promise.all(nodes.map((n) => n.stop()));
      },
      async restartNode(port) {
        const i = nodes.findIndex((n) => n.port === port);
        if (i < 0) throw new Error(`no cluster node on port ${port}`);
        await nodes[i]?.stop();
        nodes[i] = await startNode(port);
      },
      async startNodes() {
        const ports = nodes.map((n) => n.port);
        nodes.splice(0, nodes.length, ...(await Promise.all(ports.map(startNode))));
        await Promise.all(nodes.map((n) => untilClusterOk(n.port)));
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** On a replica, polls until its link to its master is up (a full sync done); a master returns at once. */
async function untilReplicaInSync(port: number): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1' });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const info = await client.info('replication');
      if (info.includes('role:master') || info.includes('master_link_status:up')) return;
      if (Date.now() > deadline) throw new Error(`cluster replica ${port} not in sync after 20 s:\n${info}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.disconnect();
  }
}

/** The port of the master that serves `key`'s slot, asked of the node on `port`. */
export async function masterPortFor(port: number, key: string): Promise<number> {
  const client = new Redis({ port, host: '127.0.0.1' });
  try {
    const slot = Number(await client.cluster('KEYSLOT', key));
    const range = (await client.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
    if (!range?.[2]) throw new Error(`no node serves slot ${slot} of '${key}'`);
    return Number(range[2][1]);
  } finally {
    client.disconnect();
  }
}

/** Polls CLUSTER INFO on one node until the slots are all assigned and agreed (or 20 s pass). */
async function untilClusterOk(port: number): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  try {
    await client.connect();
    const deadline = Date.now() + 20_000;
    let info = '';
    while (Date.now() < deadline) {
      info = await client.cluster('INFO');
      if (info.includes('cluster_state:ok')) return;
      // Gossip settles in a few hundred ms; this is a poll of a condition, not a fixed wait.
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`cluster node ${port} not ok after 20 s:\n${info}`);
  } finally {
    client.disconnect();
  }
}
