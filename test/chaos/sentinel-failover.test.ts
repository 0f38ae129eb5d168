import { afterEach, describe, it } from 'vitest';
import type { FirelineProcess } from '../../scripts/harness/fireline-process.ts';
import { type SentinelGroup, startSentinelGroup } from '../../scripts/harness/redis-sentinel.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { expectNoFailoverProblems, failoverStorm } from './failover-storm.ts';
import { killAll, type Scratch } from './helpers.ts';

describe('chaos (f): the Redis primary of a Sentinel group SIGKILLed in the middle of an alert storm', () => {
  const procs: FirelineProcess[] = [];
  let group: SentinelGroup | undefined;
  let pipeline: Pipeline | undefined;
  let scratch: Scratch | undefined;
  afterEach(async () => {
    await killAll(procs);
    await pipeline?.close(5000);
    await group?.stop();
    scratch?.remove();
    pipeline = group = scratch = undefined;
  });

  it('every 2xx is an incident, every incident decided, no action run twice, the SSE follower sees each event once', async () => {
    group = await startSentinelGroup({ replicas: 2, sentinels: 3 });
    const primary = group.primary;
    const figures = await failoverStorm({
      redisUrl: group.url,
      procs,
      onScratch: (s) => {
        scratch = s;
      },
      kill: async () => {
        const exited = new Promise((r) => primary.process.once('exit', r));
        primary.process.kill('SIGKILL');
        await exited;
      },
    });
    pipeline = figures.pipeline;
    await expectNoFailoverProblems('sentinel failover', figures);
  }, 240_000);
});
