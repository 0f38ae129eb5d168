import { describe, expect, inject, it } from 'vitest';
import { grafanaSignature } from '../../src/producer/alert-payloads.ts';
import {
  alertApiPerTest,
  allIncidents,
  INGEST,
  postJson,
  webhookFixture,
} from '../helpers/alert-webhooks.ts';

const redisUrl = inject('redisUrl');
const SECRET = 'grafana-hmac-secret-for-tests';

describe('POST /api/v1/alerts/grafana', () => {
  const serve = alertApiPerTest(redisUrl);

  const body = JSON.stringify(webhookFixture('grafana-v1.json'));

  it('without a secret: 202, and the incident’s alert carries Grafana’s values and links as annotations', async () => {
    const { pipeline, grafana: url } = await serve();
    const res = await postJson(url, body, INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({
      accepted: 1,
      results: [
        {
          fingerprint: '57c6d9296de2ad39',
          alertname: 'PaymentServiceHighLatency',
          status: 'firing',
          outcomes: [{ outcome: 'opened', runbookId: 'payment-latency' }],
        },
      ],
    });
    const incident = await pipeline.deps.store.get(res.body.results[0].outcomes[0].incidentId);
    expect(incident?.alert).toMatchObject({
      source: 'grafana',
      annotations: {
        value_A: '2.75',
        value_B: 'set by the rule',
        dashboardURL: 'https://grafana.example.com/d/payments?orgId=1',
      },
    });
  });

  it('a resolved Grafana group (state ok) adds an event to the open incident', async () => {
    const { grafana: url } = await serve();
    const opened = await postJson(url, body, INGEST);
    const resolved = webhookFixture('grafana-v1.json');
    resolved.status = 'resolved';
    resolved.state = 'ok';
    resolved.alerts[0]!.status = 'resolved';
    resolved.alerts[0]!.endsAt = '2024-05-01T10:20:00+02:00';
    const res = await postJson(url, resolved, INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.results[0].outcomes).toEqual([
      expect.objectContaining({
        outcome: 'resolved_event',
        incidentId: opened.body.results[0].outcomes[0].incidentId,
      }),
    ]);
  });

  describe('with a secret', () => {
    const nowSeconds = () => String(Math.floor(Date.now() / 1000));

    it('a valid signature of the body → 202', async () => {
      const { grafana: url } = await serve({ grafanaSecret: SECRET });
      const res = await postJson(url, body, {
        ...INGEST,
        'X-Grafana-Alerting-Signature': grafanaSignature(SECRET, body),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    });

    it.each(['X-Grafana-Alerting-Signature-Timestamp', 'X-Grafana-Alerting-Timestamp'])(
      'a valid signature of timestamp:body, timestamp in %s → 202',
      async (header) => {
        const { grafana: url } = await serve({ grafanaSecret: SECRET });
        const ts = nowSeconds();
        const res = await postJson(url, body, {
          ...INGEST,
          'X-Grafana-Alerting-Signature': grafanaSignature(SECRET, body, ts),
          [header]: ts,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
      },
    );

    it.each([
      { name: 'no signature', headers: () => ({}) },
      {
        name: 'a signature made with another secret',
        headers: () => ({ 'X-Grafana-Alerting-Signature': grafanaSignature('another-secret', body) }),
      },
      {
        name: 'a signature that is not hex',
        headers: () => ({ 'X-Grafana-Alerting-Signature': 'sha256=nope' }),
      },
      {
        name: 'a signed timestamp from ten minutes ago',
        headers: () => {
          const ts = String(Math.floor(Date.now() / 1000) - 600);
          return {
            'X-Grafana-Alerting-Signature': grafanaSignature(SECRET, body, ts),
            'X-Grafana-Alerting-Timestamp': ts,
          };
        },
      },
    ])('$name → 401 problem, nothing stored', async ({ headers }) => {
      const { pipeline, grafana: url } = await serve({ grafanaSecret: SECRET });
      const res = await postJson(url, body, { ...INGEST, ...headers() });
      expect(res.status, JSON.stringify(res.body)).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await allIncidents(pipeline)).toEqual([]);
    });

    it('a tampered body (signed, then one label changed) → 401', async () => {
      const { pipeline, grafana: url } = await serve({ grafanaSecret: SECRET });
      const signature = grafanaSignature(SECRET, body);
      const tampered = body.replace('"namespace":"payments"', '"namespace":"prod"');
      expect(tampered).not.toBe(body);
      const res = await postJson(url, tampered, { ...INGEST, 'X-Grafana-Alerting-Signature': signature });
      expect(res.status, JSON.stringify(res.body)).toBe(401);
      expect(res.body.detail).toBe('the Grafana signature does not match the body');
      expect(await allIncidents(pipeline)).toEqual([]);
    });
  });
});
