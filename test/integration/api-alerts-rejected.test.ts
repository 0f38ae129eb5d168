import { afterEach, describe, expect, inject, it } from 'vitest';
import { fingerprintFromLabels } from '../../src/engine/triggers.ts';
import { createLogger } from '../../src/logger.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { createMetrics, type Metrics } from '../../src/producer/metrics.ts';
import { alertRoutes } from '../../src/producer/routes/alerts.ts';
import { metricsRoutes } from '../../src/producer/routes/metrics.ts';
import {
  AUTH,
  allIncidents,
  INGEST,
  LATENCY_RUNBOOK,
  latencyGroup,
  postJson,
  TOKENS,
  webhookFixture,
} from '../helpers/alert-webhooks.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

/**
 * Issue 12: one bad alert of a group is rejected alone. The others are taken (202, the rejected
 * ones listed), each rejection is logged and counted on /metrics; a group with nothing valid is a
 * 400 listing every alert.
 */
describe('alert webhooks: a group is not lost for one bad alert', () => {
  let pipeline: Pipeline | undefined;
  let metrics: Metrics | undefined;
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    await metrics?.stop();
    await pipeline?.close(5000);
    api = metrics = pipeline = undefined;
  });

  /** The alert routes and /metrics on one app; `logs` collects the app's log lines. */
  async function serve() {
    pipeline = await testPipeline(redisUrl, [LATENCY_RUNBOOK]);
    metrics = createMetrics({ pipeline, logger: pipeline.deps.logger });
    await metrics.start();
    const logs: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => logs.push(line) } });
    api = await startApi(pipeline, [alertRoutes, metricsRoutes(metrics)], {
      auth: AUTH,
      logger,
      onAlertRejected: metrics.alertRejected,
    });
    const base = api.url;
    const scrape = async () => {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
      expect(res.status).toBe(200);
      return res.text();
    };
    return {
      alertmanager: `${base}/api/v1/alerts/alertmanager`,
      grafana: `${base}/api/v1/alerts/grafana`,
      logs,
      scrape,
    };
  }

  const rejectedLine = (source: string, reason: string, n: number) =>
    `fireline_alerts_rejected_total{source="${source}",reason="${reason}"} ${n}`;

  it('1,000 alerts, one malformed, one with 200 labels, one with a 10 KB label value → 202, 997 taken, 3 listed, logged and counted', async () => {
    const { alertmanager: url, logs, scrape } = await serve();
    const instances = Array.from({ length: 1000 }, (_, i) => `payment-${i}:9100`);
    const body = latencyGroup(instances);
    const labelsOf = (i: number) => body.alerts[i]!.labels as Record<string, unknown>;
    labelsOf(17).alertname = 5;
    for (let l = 0; l < 200; l++) labelsOf(400)[`extra_${l}`] = 'x';
    const hugeValue = 'X'.repeat(10 * 1024);
    labelsOf(901).description = hugeValue;

    const res = await postJson(url, body, INGEST);
    expect(res.status, JSON.stringify(res.body).slice(0, 1000)).toBe(202);
    expect(res.body.accepted).toBe(997);
    const taken = instances.filter((_, i) => ![17, 400, 901].includes(i));
    const fingerprints = taken.map((instance) =>
      fingerprintFromLabels({ alertname: 'PaymentServiceHighLatency', instance }),
    );
    expect(res.body.results.map((r: { fingerprint: string }) => r.fingerprint)).toEqual(fingerprints);
    expect(res.body.rejected).toEqual([
      {
        index: 17,
        fingerprint: null,
        alertname: null,
        reason: 'schema',
        errors: [{ field: 'alerts.17.labels.alertname', message: expect.stringMatching(/expected string/) }],
      },
      {
        index: 400,
        fingerprint: null,
        alertname: 'PaymentServiceHighLatency',
        reason: 'too_many_labels',
        errors: [{ field: 'alerts.400.labels', message: '202 labels, at most 64' }],
      },
      {
        index: 901,
        fingerprint: null,
        alertname: 'PaymentServiceHighLatency',
        reason: 'label_too_long',
        errors: [
          {
            field: 'alerts.901.labels.description',
            message: 'the value is 10240 characters long, at most 1024',
          },
        ],
      },
    ]);
    const stored = await allIncidents(pipeline!);
    expect(stored).toHaveLength(997);
    expect(new Set(stored.map((i) => i.alert.fingerprint))).toEqual(new Set(fingerprints));

    const warned = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'alert rejected');
    const field = (path: string) => expect.stringMatching(new RegExp(`^${path.replaceAll('.', '\\.')}: `));
    expect(warned.map((l) => [l.level, l.source, l.index, l.reason, l.errors])).toEqual([
      [40, 'alertmanager', 17, 'schema', [field('alerts.17.labels.alertname')]],
      [40, 'alertmanager', 400, 'too_many_labels', [field('alerts.400.labels')]],
      [40, 'alertmanager', 901, 'label_too_long', [field('alerts.901.labels.description')]],
    ]);
    expect(logs.join('\n')).not.toContain(hugeValue.slice(0, 200));

    const scraped = await scrape();
    for (const line of [
      rejectedLine('alertmanager', 'schema', 1),
      rejectedLine('alertmanager', 'too_many_labels', 1),
      rejectedLine('alertmanager', 'label_too_long', 1),
      rejectedLine('alertmanager', 'annotation_too_long', 0),
      rejectedLine('grafana', 'schema', 0),
    ])
      expect(scraped.split('\n'), line).toContain(line);
    expect(scraped).not.toContain(':9100'); // no alert label value (the instances)
    expect(scraped).not.toContain('XXXX');
  });

  it('every alert of the group bad → 400 listing each one, nothing stored, each counted', async () => {
    const { alertmanager: url, scrape } = await serve();
    const body = latencyGroup(['a:1', 'b:1', 'c:1']);
    (body.alerts[0]!.labels as Record<string, unknown>).x = 5;
    body.alerts[1]!.startsAt = 'soon';
    body.alerts[2]!.annotations = { summary: 'S'.repeat(16 * 1024 + 1) };
    const res = await postJson(url, body, INGEST);
    expect(res.status, JSON.stringify(res.body).slice(0, 1000)).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toMatch(/every alert/);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'alerts.0.labels.x',
      'alerts.1.startsAt',
      'alerts.2.annotations.summary',
    ]);
    expect(res.body.rejected.map((r: { index: number; reason: string }) => [r.index, r.reason])).toEqual([
      [0, 'schema'],
      [1, 'schema'],
      [2, 'annotation_too_long'],
    ]);
    expect(await allIncidents(pipeline!)).toEqual([]);
    const lines = (await scrape()).split('\n');
    expect(lines).toContain(rejectedLine('alertmanager', 'schema', 2));
    expect(lines).toContain(rejectedLine('alertmanager', 'annotation_too_long', 1));
  });

  it('an empty group is still a 202 with nothing taken and nothing rejected', async () => {
    const { alertmanager: url } = await serve();
    const res = await postJson(url, latencyGroup([]), INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({ accepted: 0, results: [], rejected: [] });
  });

  it('Grafana: the good alert is taken, the bad one listed and counted under source grafana', async () => {
    const { grafana: url, scrape } = await serve();
    const body = webhookFixture('grafana-v1.json');
    const good = body.alerts[0]!;
    body.alerts.push({ ...good, fingerprint: 'bad0bad0bad0bad0', values: { A: 'not a number' } });
    const res = await postJson(url, body, INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.results[0]).toMatchObject({
      fingerprint: '57c6d9296de2ad39',
      outcomes: [{ outcome: 'opened' }],
    });
    expect(res.body.rejected).toEqual([
      {
        index: 1,
        fingerprint: 'bad0bad0bad0bad0',
        alertname: 'PaymentServiceHighLatency',
        reason: 'schema',
        errors: [{ field: 'alerts.1.values.A', message: expect.any(String) }],
      },
    ]);
    expect((await scrape()).split('\n')).toContain(rejectedLine('grafana', 'schema', 1));
  });
});
