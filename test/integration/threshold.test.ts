import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  type Exporter,
  type PrivatePrometheus,
  startExporter,
  startPrometheus,
} from '../../scripts/harness/prometheus.ts';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import { createAdapters } from '../../src/adapters/index.ts';
import { fingerprintFromLabels } from '../../src/engine/triggers.ts';
import type { Incident } from '../../src/engine/types.ts';
import { type ThresholdPollResult, upsertThresholdSchedulers } from '../../src/incidents/threshold.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventsUntil, FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const METRIC = 'fireline_latency_seconds';

const RUNBOOK = `
id: api-latency
name: API latency over threshold
severity: P2
service: api
autoResolve: true
triggers:
  - type: metric_threshold
    metricQuery: ${METRIC}
    threshold: 5
    comparison: ">"
    intervalSeconds: 1
diagnostics:
  - id: current
    name: Current latency
    type: prometheus_query
    timeout: 5
    config:
      query: '${METRIC}{service="{{ alert.labels.service }}"}'
    interpret:
      critical: "value > 5.0"
      healthy: "value <= 5.0"
decisionTree: []
remediations: []
escalation:
  primary: "#ops"
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  exporter: Exporter;
  prometheus: PrivatePrometheus;
  pipeline: Pipeline;
  /** Every finished poll, in order. */
  polls: Exclude<ThresholdPollResult, { skipped: string }>[];
}

async function setup(): Promise<Setup> {
  const exporter = await startExporter();
  cleanups.push(exporter.close);
  exporter.set(METRIC, { service: 'api' }, 1);
  exporter.set(METRIC, { service: 'web' }, 1);
  const prometheus = await startPrometheus([exporter.target]);
  cleanups.push(prometheus.stop);
  await prometheus.waitFor(
    `count(${METRIC})`,
    (r) => (r as { value: [number, string] }[])[0]?.value[1] === '2',
  );
  const adapters = createAdapters(ConnectionsSchema.parse({ prometheus: { url: prometheus.url } }));
  const pipeline = await testPipeline(redisUrl, [RUNBOOK], { adapters });
  cleanups.push(() => pipeline.close(5000));

  const polls: Setup['polls'] = [];
  const events = new QueueEvents('triggers', {
    connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
    prefix: pipeline.deps.queues.prefix,
  });
  cleanups.push(() => events.close().then(() => events.disconnect()));
  events.on('completed', ({ returnvalue }) => {
    const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as Record<
      string,
      unknown
    >;
    if (r && ('crossing' in r || 'error' in r)) polls.push(r as Setup['polls'][number]);
  });
  await events.waitUntilReady();
  await pipeline.startWorkers(FAST_WORKERS);
  return { exporter, prometheus, pipeline, polls };
}

/** Waits until `n` more polls than `from` finished, all satisfying `each`. */
async function morePolls(s: Setup, from: number, n: number, each: (p: Setup['polls'][number]) => boolean) {
  await expect
    .poll(() => s.polls.length, { timeout: 15_000, message: `${n} polls after the first ${from}` })
    .toBeGreaterThanOrEqual(from + n);
  const later = s.polls.slice(from);
  expect(
    later.filter((p) => !each(p)),
    'polls that did not hold',
  ).toEqual([]);
}

const incidents = async (s: Setup): Promise<Incident[]> =>
  (await s.pipeline.deps.store.list({ runbookId: 'api-latency' }, { limit: 50 })).items;

async function waitForIncidents(s: Setup, open: number): Promise<Incident[]> {
  await expect
    .poll(async () => (await incidents(s)).filter((i) => i.status !== 'resolved').length, { timeout: 15_000 })
    .toBe(open);
  return incidents(s);
}

describe('metric_threshold triggers against a real Prometheus', () => {
  it('opens one incident per crossing series, stays one while it crosses, resolves when it recovers', {
    timeout: 90_000,
  }, async () => {
    const s = await setup();
    await morePolls(s, 0, 2, (p) => 'crossing' in p && p.crossing === 0);
    expect(await incidents(s), 'incidents while every value is below 5').toEqual([]);

    s.exporter.set(METRIC, { service: 'api' }, 9);
    s.exporter.set(METRIC, { service: 'web' }, 7);
    const opened = await waitForIncidents(s, 2);
    const api = opened.find((i) => i.alert.labels.service === 'api')!;
    expect(api.alert).toMatchObject({ source: 'metric_threshold', status: 'firing' });
    expect(api.alert.labels).toEqual({
      __name__: METRIC,
      alertname: 'api-latency-threshold',
      instance: s.exporter.target,
      job: 'exporter',
      service: 'api',
    });
    expect(api.alert.fingerprint).toBe(fingerprintFromLabels(api.alert.labels));
    expect(api.alert.annotations.value).toBe('9');
    // The templated diagnostic ran against the same Prometheus for this series.
    await eventsUntil(s.pipeline, api.id, (e) => e.type === 'diagnostic.finished');
    const judged = await s.pipeline.deps.store.get(api.id);
    expect(judged?.verdicts.current).toMatchObject({ status: 'critical', facts: { value: 9, count: 1 } });

    // Later polls see both series still across and send nothing: still two incidents, no re-fired.
    // (Counted from after the poll that opened them has reported, which may come after the incidents.)
    await expect.poll(() => s.polls.reduce((n, p) => n + ('opened' in p ? p.opened : 0), 0)).toBe(2);
    const seen = s.polls.length;
    await morePolls(
      s,
      seen,
      3,
      (p) => 'crossing' in p && p.crossing === 2 && p.opened === 0 && p.attached === 0,
    );
    expect((await incidents(s)).map((i) => i.status !== 'resolved')).toEqual([true, true]);
    const timeline = await s.pipeline.deps.store.timeline(api.id);
    expect(timeline.filter((e) => e.type === 'alert.refired')).toEqual([]);

    s.exporter.set(METRIC, { service: 'api' }, 2);
    await eventsUntil(s.pipeline, api.id, (e) => e.type === 'incident.resolved');
    expect((await s.pipeline.deps.store.get(api.id))?.status).toBe('resolved');
    const web = (await incidents(s)).find((i) => i.alert.labels.service === 'web');
    expect(web?.status, 'the web series still crosses').not.toBe('resolved');
    const resolvedEvents = (await s.pipeline.deps.store.timeline(api.id)).filter(
      (e) => e.type === 'alert.resolved',
    );
    expect(resolvedEvents).toHaveLength(1);
  });

  it('keeps the incident open while Prometheus cannot be reached (a failed poll changes nothing)', {
    timeout: 60_000,
  }, async () => {
    const s = await setup();
    s.exporter.set(METRIC, { service: 'api' }, 9);
    const [incident] = await waitForIncidents(s, 1);
    await s.prometheus.stop();
    const seen = s.polls.length;
    const failures = () => s.polls.slice(seen).filter((p) => 'error' in p);
    await expect
      .poll(() => failures().length, { timeout: 15_000, message: 'failed polls after the stop' })
      .toBeGreaterThanOrEqual(2);
    const failed = failures();
    expect(failed[0]).toEqual({
      error: expect.stringMatching(/^prometheus: could not reach .*ECONNREFUSED/),
    });
    expect((await s.pipeline.deps.store.get(incident!.id))?.status).not.toBe('resolved');
  });
});

describe('threshold job schedulers', () => {
  it('upserts one scheduler per metric_threshold trigger and removes those whose trigger is gone', async () => {
    const pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    cleanups.push(() => pipeline.close(5000));
    const queue = pipeline.deps.queues.byName.triggers;
    expect(await upsertThresholdSchedulers(pipeline.deps)).toEqual(['threshold-api-latency-0']);
    const [scheduler] = (await queue.getJobSchedulers()).filter((j) => j.key.startsWith('threshold-'));
    expect(scheduler).toMatchObject({
      key: 'threshold-api-latency-0',
      every: 1000,
      name: 'threshold',
      template: { data: { runbookId: 'api-latency', triggerIndex: 0 } },
    });
    await queue.upsertJobScheduler('retention-sweep', { every: 3600_000 }, { name: 'sweep', data: {} });

    pipeline.deps.catalog.replace([]);
    expect(await upsertThresholdSchedulers(pipeline.deps)).toEqual([]);
    expect((await queue.getJobSchedulers()).map((j) => j.key)).toEqual(['retention-sweep']);
  });
});
