import { afterEach, describe, expect, inject, it } from 'vitest';
import { type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { alertRoutes } from '../../src/producer/routes/alerts.ts';
import { jobIds } from '../../src/queues/catalog.ts';
import {
  allIncidents,
  INGEST,
  incidentIds,
  LATENCY_RUNBOOK,
  latencyGroup,
  postJson,
} from '../helpers/alert-webhooks.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';

/**
 * A 2xx promises the alerts are in Redis. When Redis cannot take them the sender must get a 503
 * with Retry-After (Alertmanager retries only 5xx), and its retry must succeed once Redis is back.
 */
describe('alert webhooks when Redis fails', () => {
  const pipelines: Pipeline[] = [];
  const apis: ApiServer[] = [];
  const redises: PrivateRedis[] = [];
  afterEach(async () => {
    try {
      for (const api of apis.splice(0)) await api.close();
      for (const p of pipelines.splice(0)) await p.close(5000);
    } finally {
      for (const r of redises.splice(0)) await r.stop();
    }
  });

  async function serve(redisUrl: string) {
    const pipeline = await testPipeline(redisUrl, [LATENCY_RUNBOOK]);
    pipelines.push(pipeline);
    const api = await startApi(pipeline, [alertRoutes]);
    apis.push(api);
    return { pipeline, url: `${api.url}/api/v1/alerts/alertmanager` };
  }

  it('Redis stopped → 503 with Retry-After; restarted on the same port → the same POST is taken', async () => {
    const first = await startRedis();
    redises.push(first);
    const { pipeline, url } = await serve(first.url);
    const before = await postJson(url, latencyGroup(['a:1']), INGEST);
    expect(before.status, JSON.stringify(before.body)).toBe(202);

    await first.stop();
    await expect.poll(() => pipeline.deps.redis.status).not.toBe('ready');
    const group = latencyGroup(['b:1']);
    const during = await postJson(url, group, INGEST);
    expect(during.status, JSON.stringify(during.body)).toBe(503);
    expect(during.headers.get('retry-after')).toBe('5');
    expect(during.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    redises.push(await startRedis([], { port: first.port }));
    await expect.poll(() => pipeline.deps.redis.status, { timeout: 15_000 }).toBe('ready');
    // Intake also adds a job through the queue connection, which reconnects on its own schedule.
    const queueClient = await pipeline.deps.queues.byName.triggers.getBackend().connection.client;
    await expect.poll(() => queueClient.status, { timeout: 15_000 }).toBe('ready');

    const after = await postJson(url, group, INGEST);
    expect(after.status, JSON.stringify(after.body)).toBe(202);
    expect(after.body.results[0].outcomes).toEqual([expect.objectContaining({ outcome: 'opened' })]);
    const [id] = incidentIds(after.body.results);
    expect(await pipeline.deps.store.get(id!)).toMatchObject({ id, status: 'triggered' });
  });

  it('intake failing half-way (the trigger job cannot be added) → 503; the retry attaches and adds the job', async () => {
    const { pipeline, url } = await serve(inject('redisUrl'));
    const triggers = pipeline.deps.queues.byName.triggers;
    // A real Redis error after the store wrote the incident: the queue's meta hash has the wrong
    // type, so the add script fails with WRONGTYPE.
    await pipeline.deps.redis.set(triggers.keys.meta!, 'not a hash');
    const group = latencyGroup(['c:1']);
    const failed = await postJson(url, group, INGEST);
    expect(failed.status, JSON.stringify(failed.body)).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('5');
    const [written] = await allIncidents(pipeline);
    expect(written?.status).toBe('triggered');
    expect(await triggers.getJob(jobIds.trigger(written!.id))).toBeUndefined();

    await pipeline.deps.redis.del(triggers.keys.meta!);
    const retried = await postJson(url, group, INGEST);
    expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    expect(retried.body.results[0].outcomes).toEqual([
      expect.objectContaining({ outcome: 'attached', incidentId: written!.id }),
    ]);
    const job = await triggers.getJob(jobIds.trigger(written!.id));
    expect(job?.data).toEqual({ incidentId: written!.id });
  });
});
