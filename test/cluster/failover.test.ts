import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { FirelineProcess } from '../../scripts/harness/fireline-process.ts';
import { masterPortFor, type PrivateCluster, startCluster } from '../../scripts/harness/redis-cluster.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { expectNoFailoverProblems, failoverStorm } from '../chaos/failover-storm.ts';
import { killAll, type Scratch } from '../chaos/helpers.ts';

describe('chaos (f) on a Redis Cluster: the master holding Fireline’s slot SIGKILLed in the middle of an alert storm', () => {
  const procs: FirelineProcess[] = [];
  let cluster: PrivateCluster | undefined;
  let pipeline: Pipeline | undefined;
  let scratch: Scratch | undefined;
  afterEach(async () => {
    await killAll(procs);
    await pipeline?.close(5000);
    await cluster?.stop();
    scratch?.remove();
    pipeline = cluster = scratch = undefined;
  });

  it('every 2xx is an incident, every incident decided, no action run twice, the SSE follower sees each event once', async () => {
    cluster = await startCluster(3, 1);
    const prefix = `fo${randomUUID().slice(0, 8)}`;
    // On a cluster the prefix becomes the hash tag `{prefix}`: every Fireline key is in its slot.
    const port = await masterPortFor(cluster.nodes[0]!.port, `{${prefix}}`);
    const victim = cluster.nodes.find((n) => n.port === port)!;
    const figures = await failoverStorm({
      redisUrl: cluster.url,
      prefix,
      procs,
      onScratch: (s) => {
        scratch = s;
      },
      kill: async () => {
        const exited = new Promise((r) => victim.process.once('exit', r));
        victim.process.kill('SIGKILL');
        await exited;
        // With one replica per master, the promoted replica has none left, and FIRELINE_DURABILITY
        // =replica answers 503 until it has one: the dead node is started again once its replica
        // took over, and rejoins as that one's replica. (Back before the failover, a node that kept
        // nothing on disk would be an empty master its replica syncs from: everything lost.)
        const other = cluster!.nodes.find((n) => n.port !== port)!.port;
        await expect
          .poll(() => masterPortFor(other, `{${prefix}}`), { timeout: 30_000, interval: 100 })
          .not.toBe(port);
        await cluster!.restartNode(port);
      },
    });
    pipeline = figures.pipeline;
    await expectNoFailoverProblems('cluster failover', figures);
  }, 240_000);
});
