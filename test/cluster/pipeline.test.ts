import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { approveStep } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { createRedis, type RedisClient, waitReady } from '../../src/redis/client.ts';
import { createIncidentStore } from '../../src/store/incident-store.ts';
import { actionMarker, apiRunbook } from '../helpers/api.ts';
import { eventsUntil, FAST_WORKERS, firingAlert } from '../helpers/pipeline.ts';
import { makeIncident } from '../helpers/store-fixtures.ts';
import { clusterPipeline, expectNoCrossSlot, type LogCapture } from './helpers.ts';

const clusterUrl = inject('clusterUrl');

/** Every key under `prefix` on each master: `[node port, key count]`, and all keys. */
async function keysByNode(redis: RedisClient, prefix: string) {
  const perNode: [string, number][] = [];
  const all: string[] = [];
  for (const node of (redis as Cluster).nodes('master')) {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
      all.push(...keys);
    } while (cursor !== '0');
    perNode.push([String(node.options.port), count]);
  }
  return { perNode, all };
}

describe('pipeline on a 3-master Redis Cluster', () => {
  let pipeline: Pipeline | undefined;
  let log: LogCapture;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await pipeline?.close(5000);
    pipeline = undefined;
    for (const close of closers.splice(0)) await close();
  });

  async function setup() {
    const marker = actionMarker();
    const made = await clusterPipeline(clusterUrl, [apiRunbook({ marker: marker.path })]);
    pipeline = made.pipeline;
    log = made.log;
    await pipeline.startWorkers(FAST_WORKERS);
    return { marker, configuredPrefix: made.configuredPrefix };
  }

  it('an alert runs the diagnostics flow, the decision and a run_script remediation, all keys in one slot', async () => {
    const { marker, configuredPrefix } = await setup();
    const prefix = pipeline!.deps.queues.prefix;
    expect(prefix, 'the configured prefix became a hash tag').toBe(`{${configuredPrefix}}`);
    expect(log.lines.some((l) => l.includes('using the prefix as a hash tag'))).toBe(true);

    const [o] = await pipeline!.intake(firingAlert({ alertname: 'PaymentServiceHighLatency', pod: 'p1' }));
    expect(o).toMatchObject({ outcome: 'opened', runbookId: 'payment-service-slow' });
    const id = (o as { incidentId: string }).incidentId;
    const events = await eventsUntil(pipeline!, id, (e) => e.type === 'remediation.succeeded');
    const types = events.map((e) => e.type);
    for (const t of ['incident.opened', 'diagnostic.finished', 'decision.made', 'remediation.started'])
      expect(types, `${t} in ${types.join(', ')}`).toContain(t);

    const incident = await pipeline!.deps.store.get(id);
    expect(incident?.verdicts.check_db_connections?.status).toBe('critical');
    expect(incident?.plan.map((s) => [s.stepId, s.state])).toEqual([
      ['kill_idle_connections', 'succeeded'],
      ['rollback_deployment', 'awaiting_approval'],
      ['check_dashboards', 'pending'],
    ]);
    expect(marker.ran()).toEqual(['kill']);

    // BullMQ's and the store's keys alike: all on the one master that owns the tag's slot.
    const { perNode, all } = await keysByNode(pipeline!.deps.redis, prefix);
    expect(
      perNode.filter(([, n]) => n > 0),
      `keys per node ${JSON.stringify(perNode)}`,
    ).toHaveLength(1);
    expect(all).toContain(`${prefix}:incident:${id}`);
    expect(all.some((k) => k.startsWith(`${prefix}:diagnostics:`))).toBe(true);
    await expectNoCrossSlot(pipeline!, log);
  });

  it('50 concurrent duplicate deliveries of one alert make exactly one incident and one flow', async () => {
    await setup();
    const alert = firingAlert({ alertname: 'PaymentServiceHighLatency', pod: 'dup' }, 'fp-cluster-dup');
    const outcomes = (await Promise.all(Array.from({ length: 50 }, () => pipeline!.intake(alert)))).flat();
    const opened = outcomes.filter((o) => o.outcome === 'opened');
    expect(opened, JSON.stringify(outcomes.slice(0, 3))).toHaveLength(1);
    const id = (opened[0] as { incidentId: string }).incidentId;
    expect(new Set(outcomes.map((o) => (o as { incidentId: string }).incidentId))).toEqual(new Set([id]));
    const events = await eventsUntil(pipeline!, id, (e) => e.type === 'decision.made');
    expect(events.filter((e) => e.type === 'incident.opened')).toHaveLength(1);
    expect((await pipeline!.deps.store.list({}, { limit: 100 })).items.map((i) => i.id)).toEqual([id]);
    const counts = await pipeline!.deps.queues.byName.diagnostics.getJobCounts();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total, `diagnostic jobs ${JSON.stringify(counts)}`).toBe(1);
    // The same firing delivered again is a repeat, not news: the timeline does not fill with copies.
    const refired = (await pipeline!.deps.store.timeline(id)).filter((e) => e.type === 'alert.refired');
    expect(refired).toHaveLength(0);
    await expectNoCrossSlot(pipeline!, log);
  });

  it('an approval runs the approved step once; a second approval is refused', async () => {
    const { marker } = await setup();
    const [o] = await pipeline!.intake(firingAlert({ alertname: 'PaymentServiceHighLatency', pod: 'p2' }));
    const id = (o as { incidentId: string }).incidentId;
    await eventsUntil(pipeline!, id, (e) => e.type === 'remediation.succeeded');
    expect((await pipeline!.deps.store.get(id))?.status).toBe('awaiting_approval');

    await approveStep(pipeline!.deps, id, 'rollback_deployment', { user: 'alice', comment: 'bad deploy' });
    await expect(approveStep(pipeline!.deps, id, 'rollback_deployment', { user: 'bob' })).rejects.toThrow(
      /cannot approve rollback_deployment/,
    );
    await eventsUntil(
      pipeline!,
      id,
      (e) => e.type === 'incident.status' && e.data?.to === 'awaiting_responder',
    );
    expect(marker.ran()).toEqual(['kill', 'rollback']);
    const step = (await pipeline!.deps.store.get(id))?.plan.find((s) => s.stepId === 'rollback_deployment');
    expect(step).toMatchObject({ state: 'succeeded', by: 'alice', comment: 'bad deploy' });
    await expectNoCrossSlot(pipeline!, log);
  });

  it('control: without a hash tag the same store script fails with CROSSSLOT (what the tag prevents)', async () => {
    const redis = createRedis(clusterUrl, 'producer');
    closers.push(async () => {
      await redis.quit();
    });
    await waitReady(redis);
    const store = createIncidentStore({ redis, prefix: `plain-${randomUUID().slice(0, 8)}` });
    await expect(
      store.openIncident(makeIncident(), { type: 'incident.opened', actor: 'system', message: 'opened' }),
    ).rejects.toThrow(/CROSSSLOT/);
  });
});
