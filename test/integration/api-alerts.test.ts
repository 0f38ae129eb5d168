import { describe, expect, inject, it } from 'vitest';
import { fingerprintFromLabels } from '../../src/engine/triggers.ts';
import {
  alertApiPerTest,
  allIncidents,
  INGEST,
  incidentIds,
  latencyGroup,
  postJson,
  TOKENS,
  webhookFixture,
} from '../helpers/alert-webhooks.ts';
import { eventsUntil, FAST_WORKERS } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

describe('POST /api/v1/alerts/alertmanager', () => {
  const serve = alertApiPerTest(redisUrl);

  it('v4 as Alertmanager sends it: the firing alert opens an incident that gets decided, the resolved one finds none', async () => {
    const { pipeline, alertmanager: url } = await serve();
    await pipeline.startWorkers(FAST_WORKERS);
    const res = await postJson(url, webhookFixture('alertmanager-v4.json'), INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.accepted).toBe(2);
    const [firing, resolved] = res.body.results;
    expect(firing).toMatchObject({
      fingerprint: '5e2b8e0e8c1a4f3d',
      alertname: 'PaymentServiceHighLatency',
      status: 'firing',
      outcomes: [{ outcome: 'opened', runbookId: 'payment-latency' }],
    });
    expect(resolved).toEqual({
      fingerprint: 'a1b2c3d4e5f60718',
      alertname: 'PaymentServiceHighLatency',
      status: 'resolved',
      outcomes: [{ outcome: 'no_open_incident', runbookId: 'payment-latency' }],
    });
    const id = firing.outcomes[0].incidentId;
    const incident = await pipeline.deps.store.get(id);
    expect(incident?.alert).toMatchObject({
      source: 'alertmanager',
      startsAt: '2024-05-01T10:00:00.123456789Z',
    });
    expect(incident?.alert).not.toHaveProperty('endsAt');
    const events = await eventsUntil(pipeline, id, (e) => e.type === 'decision.made');
    expect(events.at(-1)?.type).toBe('decision.made');
    expect((await pipeline.deps.store.get(id))?.plan.map((s) => s.stepId)).toEqual(['look']);
  });

  it('v3 without fingerprint, per-alert status or annotations: the fingerprint is derived from the labels', async () => {
    const { pipeline, alertmanager: url } = await serve();
    const body = webhookFixture('alertmanager-v3-legacy.json');
    const labels = body.alerts[0]!.labels as Record<string, string>;
    const res = await postJson(url, body, INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.results).toEqual([
      {
        fingerprint: fingerprintFromLabels(labels),
        alertname: 'PaymentServiceHighLatency',
        status: 'firing',
        outcomes: [expect.objectContaining({ outcome: 'opened' })],
      },
    ]);
    const [incident] = await allIncidents(pipeline);
    expect(incident?.alert).toMatchObject({ fingerprint: fingerprintFromLabels(labels), annotations: {} });
  });

  it('accepts unknown fields at every level (notification_reason, routeLabels, …)', async () => {
    const { alertmanager: url } = await serve();
    const res = await postJson(url, webhookFixture('alertmanager-newer-fields.json'), INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.results[0].outcomes).toEqual([expect.objectContaining({ outcome: 'opened' })]);
  });

  it('a group of 500 alerts: 500 results in order, 500 incidents', async () => {
    const { pipeline, alertmanager: url } = await serve();
    const instances = Array.from({ length: 500 }, (_, i) => `payment-${i}:9100`);
    const res = await postJson(url, latencyGroup(instances), INGEST);
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(202);
    expect(res.body.accepted).toBe(500);
    const fingerprints = instances.map((instance) =>
      fingerprintFromLabels({ alertname: 'PaymentServiceHighLatency', instance }),
    );
    expect(res.body.results.map((r: { fingerprint: string }) => r.fingerprint)).toEqual(fingerprints);
    expect(new Set(fingerprints).size).toBe(500);
    const opened = res.body.results.filter(
      (r: { outcomes: { outcome: string }[] }) => r.outcomes[0]?.outcome === 'opened',
    );
    expect(opened).toHaveLength(500);
    const stored = await allIncidents(pipeline);
    expect(stored).toHaveLength(500);
    expect(new Set(stored.map((i) => i.alert.fingerprint))).toEqual(new Set(fingerprints));
  });

  it('the same group twice: the second time every alert attaches to its incident', async () => {
    const { pipeline, alertmanager: url } = await serve();
    const group = latencyGroup(['a:1', 'b:1', 'c:1']);
    const first = await postJson(url, group, INGEST);
    const second = await postJson(url, group, INGEST);
    expect(second.status, JSON.stringify(second.body)).toBe(202);
    expect(
      second.body.results.map((r: { outcomes: { outcome: string }[] }) => r.outcomes[0]?.outcome),
    ).toEqual(['attached', 'attached', 'attached']);
    expect(incidentIds(second.body.results)).toEqual(incidentIds(first.body.results));
    expect(await allIncidents(pipeline)).toHaveLength(3);
  });

  it('resolved alerts add an event to the open incident, or find none; never a new incident', async () => {
    const { pipeline, alertmanager: url } = await serve();
    const opened = await postJson(url, latencyGroup(['a:1']), INGEST);
    const [id] = incidentIds(opened.body.results);
    const res = await postJson(url, latencyGroup(['a:1', 'never-fired:1'], 'resolved'), INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(
      res.body.results.map((r: { status: string; outcomes: unknown[] }) => [r.status, r.outcomes]),
    ).toEqual([
      [
        'resolved',
        [{ outcome: 'resolved_event', runbookId: 'payment-latency', incidentId: id, autoResolved: false }],
      ],
      ['resolved', [{ outcome: 'no_open_incident', runbookId: 'payment-latency' }]],
    ]);
    expect((await allIncidents(pipeline)).map((i) => i.id)).toEqual([id]);
    const timeline = await pipeline.deps.store.timeline(id!);
    expect(timeline.map((e) => e.type)).toContain('alert.resolved');
  });

  it('an alert no runbook matches is accepted with outcome no_runbook', async () => {
    const { alertmanager: url } = await serve();
    const body = latencyGroup(['a:1']);
    body.alerts[0]!.labels.alertname = 'SomethingElse';
    const res = await postJson(url, body, INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.results[0]).toMatchObject({
      alertname: 'SomethingElse',
      outcomes: [{ outcome: 'no_runbook' }],
    });
  });

  describe('auth', () => {
    it.each<{ who: string; headers: Record<string, string>; status: number }>([
      { who: 'no token', headers: {}, status: 401 },
      { who: 'a wrong token', headers: { authorization: 'Bearer not-a-token-of-this-app' }, status: 401 },
      { who: 'the viewer token', headers: { authorization: `Bearer ${TOKENS.viewer}` }, status: 403 },
      { who: 'the operator token', headers: { authorization: `Bearer ${TOKENS.operator}` }, status: 403 },
      { who: 'the ingest token', headers: INGEST, status: 202 },
    ])('$who → $status', async ({ headers, status }) => {
      const { pipeline, alertmanager: url } = await serve();
      const res = await postJson(url, latencyGroup(['a:1']), headers);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      if (status !== 202) {
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(await allIncidents(pipeline)).toEqual([]);
      }
    });
  });

  describe('bad requests', () => {
    it('malformed JSON → 400 naming (body)', async () => {
      const { alertmanager: url } = await serve();
      const res = await postJson(url, '{"alerts": [', INGEST);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: '(body)', message: 'invalid JSON' }]);
    });

    it('a number as a label value → 202 listing alerts.3.labels.x as rejected; the other three are stored', async () => {
      const { pipeline, alertmanager: url } = await serve();
      const body = latencyGroup(['a:1', 'b:1', 'c:1', 'd:1']);
      (body.alerts[3]!.labels as Record<string, unknown>).x = 5;
      const res = await postJson(url, body, INGEST);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(
        res.body.rejected.flatMap((r: { errors: { field: string }[] }) => r.errors.map((e) => e.field)),
      ).toEqual(['alerts.3.labels.x']);
      expect(await allIncidents(pipeline)).toHaveLength(3);
    });

    it('wrong types elsewhere → 400 naming each field', async () => {
      const { alertmanager: url } = await serve();
      const body = { ...latencyGroup(['a:1']), status: 'pending', alerts: [{ labels: 'x', startsAt: 3 }] };
      const res = await postJson(url, body, INGEST);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([
        'status',
        'alerts.0.labels',
        'alerts.0.startsAt',
      ]);
    });

    it('a body over the limit → 413', async () => {
      const { pipeline, alertmanager: url } = await serve({ bodyLimitBytes: 2048 });
      const res = await postJson(
        url,
        latencyGroup(Array.from({ length: 50 }, (_, i) => `p-${i}:9100`)),
        INGEST,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(413);
      expect(res.body.detail).toContain('2048');
      expect(await allIncidents(pipeline)).toEqual([]);
    });
  });
});
