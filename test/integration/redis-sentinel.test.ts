import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type SentinelGroup, startSentinelGroup } from '../../scripts/harness/redis-sentinel.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { DB_RUNBOOK } from '../helpers/cli-api.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';

/** REDIS_URL=redis+sentinel://…: Fireline finds the primary through the sentinels, and again after a failover. */
describe('Fireline on a Redis Sentinel group', () => {
  let group: SentinelGroup | undefined;
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close(3000);
    await group?.stop();
    pipeline = undefined;
    group = undefined;
  });

  async function primaryPort(g: SentinelGroup): Promise<number> {
    const sentinel = new Redis({ port: g.sentinelPorts[0], host: '127.0.0.1' });
    try {
      const [, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', g.masterName)) as [
        string,
        string,
      ];
      return Number(port);
    } finally {
      sentinel.disconnect();
    }
  }

  it('decides incidents on the primary the sentinels name, before and after the primary is killed', async () => {
    group = await startSentinelGroup({ replicas: 1, sentinels: 3 });
    pipeline = await testPipeline(group.url, [DB_RUNBOOK]);
    await pipeline.startWorkers(FAST_WORKERS);
    const [first] = await pipeline.intake(firingAlert({ alertname: 'DbPoolExhausted', pod: 'before' }));
    if (first?.outcome !== 'opened')
      throw new Error(`expected an opened incident, got ${JSON.stringify(first)}`);
    await eventsUntil(pipeline, first.incidentId, (e) => e.type === 'decision.made');
    expect(await primaryPort(group)).toBe(group.primary.port);

    // Replication is asynchronous: make sure the replica has the first incident before the kill.
    const direct = new Redis(group.primary.url);
    expect(await direct.call('WAIT', 1, 5000)).toBe(1);
    direct.disconnect();
    group.primary.process.kill('SIGKILL');
    const replica = group.replicas[0]!.port;
    await expect.poll(() => primaryPort(group!), { timeout: 30_000, interval: 250 }).toBe(replica);
    // Intake fails fast while there is no primary (the API answers 503 then); it works again by itself.
    let second: Awaited<ReturnType<Pipeline['intake']>>[number] | undefined;
    await expect
      .poll(
        async () => {
          [second] = await pipeline!
            .intake(firingAlert({ alertname: 'DbPoolExhausted', pod: 'after' }))
            .catch(() => [undefined]);
          return second?.outcome;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe('opened');
    if (second?.outcome !== 'opened') throw new Error('unreachable');
    await eventsUntil(pipeline, second.incidentId, (e) => e.type === 'decision.made', 30_000);
    // The first incident was replicated before the kill: the new primary holds it.
    expect(
      (await pipeline.deps.store.get(first.incidentId))?.status,
      'the first incident, on the new primary',
    ).toBeDefined();
  }, 90_000);
});
