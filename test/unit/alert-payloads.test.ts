import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { fingerprintFromLabels } from '../../src/engine/triggers.ts';
import type { Alert } from '../../src/engine/types.ts';
import {
  grafanaSignature,
  parseAlertmanagerPayload,
  parseGrafanaPayload,
  type RejectedAlert,
  verifyGrafanaSignature,
} from '../../src/producer/alert-payloads.ts';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
}

/**
 * The field paths `run` names, as the HTTP layer names them: those of the ZodError it throws (a
 * body that is not a group), else those of the alerts it rejected (issue 12: each alert on its own).
 */
function issuePaths(run: () => { rejected: RejectedAlert[] }): string[] {
  let rejected: RejectedAlert[];
  try {
    ({ rejected } = run());
  } catch (err) {
    if (!(err instanceof ZodError)) throw err;
    return err.issues.map((i) => i.path.map(String).join('.') || '(body)');
  }
  if (rejected.length === 0) throw new Error('expected a ZodError or a rejected alert; all was accepted');
  return rejected.flatMap((r) => r.errors.map((e) => e.field));
}

const LEGACY_LABELS = {
  alertname: 'PaymentServiceHighLatency',
  instance: 'payment-1:9100',
  namespace: 'payments',
};

const alertmanagerCases: { name: string; body: unknown; alerts: Alert[] }[] = [
  {
    name: 'v4 as in the docs: zero endsAt dropped on the firing alert, empty generatorURL dropped',
    body: fixture('alertmanager-v4.json'),
    alerts: [
      {
        source: 'alertmanager',
        status: 'firing',
        labels: {
          alertname: 'PaymentServiceHighLatency',
          instance: 'payment-7d9f8:9100',
          job: 'payment-service',
          namespace: 'payments',
          severity: 'critical',
        },
        annotations: {
          summary: 'p99 latency above 2s',
          runbook_url: 'https://runbooks.example.com/payment-service-slow',
        },
        fingerprint: '5e2b8e0e8c1a4f3d',
        startsAt: '2024-05-01T10:00:00.123456789Z',
        generatorURL:
          'http://prometheus.example.com:9090/graph?g0.expr=histogram_quantile%280.99%2C+rate%28http_request_duration_seconds_bucket%5B5m%5D%29%29+%3E+2&g0.tab=1',
      },
      {
        source: 'alertmanager',
        status: 'resolved',
        labels: {
          alertname: 'PaymentServiceHighLatency',
          instance: 'payment-5c4b1:9100',
          job: 'payment-service',
          namespace: 'payments',
          severity: 'critical',
        },
        annotations: { summary: 'p99 latency above 2s' },
        fingerprint: 'a1b2c3d4e5f60718',
        startsAt: '2024-05-01T09:40:00Z',
        endsAt: '2024-05-01T09:55:30.5+02:00',
      },
    ],
  },
  {
    name: 'v3 without fingerprint, per-alert status or annotations',
    body: fixture('alertmanager-v3-legacy.json'),
    alerts: [
      {
        source: 'alertmanager',
        status: 'firing',
        labels: LEGACY_LABELS,
        annotations: {},
        fingerprint: fingerprintFromLabels(LEGACY_LABELS),
        startsAt: '2024-05-01T10:00:00Z',
        generatorURL: 'http://prometheus.example.com:9090/graph',
      },
    ],
  },
  {
    name: 'unknown fields at every level are ignored',
    body: fixture('alertmanager-newer-fields.json'),
    alerts: [
      {
        source: 'alertmanager',
        status: 'firing',
        labels: { alertname: 'PaymentServiceHighLatency', instance: 'payment-2:9100', namespace: 'payments' },
        annotations: {},
        fingerprint: '0f1e2d3c4b5a6978',
        startsAt: '2024-05-01T10:00:00Z',
        generatorURL: 'http://prometheus.example.com:9090/graph',
      },
    ],
  },
  {
    name: 'resolved group: alerts without status take it; an empty fingerprint is derived',
    body: {
      status: 'resolved',
      alerts: [{ labels: { alertname: 'X' }, startsAt: '2024-05-01T10:00:00Z', fingerprint: '' }],
    },
    alerts: [
      {
        source: 'alertmanager',
        status: 'resolved',
        labels: { alertname: 'X' },
        annotations: {},
        fingerprint: fingerprintFromLabels({ alertname: 'X' }),
        startsAt: '2024-05-01T10:00:00Z',
      },
    ],
  },
  { name: 'an empty group', body: { version: '4', status: 'firing', alerts: [] }, alerts: [] },
];

describe('parseAlertmanagerPayload', () => {
  it.each(alertmanagerCases)('$name', ({ body, alerts }) => {
    expect(parseAlertmanagerPayload(body).alerts).toEqual(alerts);
  });

  it('reports truncatedAlerts (0 when absent)', () => {
    expect(
      parseAlertmanagerPayload({ status: 'firing', alerts: [], truncatedAlerts: 7 }).truncatedAlerts,
    ).toBe(7);
    expect(parseAlertmanagerPayload(fixture('alertmanager-v3-legacy.json')).truncatedAlerts).toBe(0);
  });

  const ok = { labels: { alertname: 'A' }, startsAt: '2024-05-01T10:00:00Z' };
  const badCases: { name: string; body: unknown; fields: string[] }[] = [
    { name: 'not an object', body: [1], fields: ['(body)'] },
    { name: 'no alerts', body: { status: 'firing' }, fields: ['alerts'] },
    {
      name: 'a number as a label value',
      body: { status: 'firing', alerts: [ok, ok, ok, { ...ok, labels: { x: 1 } }] },
      fields: ['alerts.3.labels.x'],
    },
    {
      name: 'a number as an annotation value',
      body: { status: 'firing', alerts: [{ ...ok, annotations: { summary: 5 } }] },
      fields: ['alerts.0.annotations.summary'],
    },
    {
      name: 'an unknown status',
      body: { status: 'firing', alerts: [{ ...ok, status: 'pending' }] },
      fields: ['alerts.0.status'],
    },
    {
      name: 'no status anywhere',
      body: { alerts: [{ ...ok, status: 'firing' }, ok] },
      fields: ['alerts.1.status'],
    },
    {
      name: 'startsAt missing and endsAt not a time',
      body: { status: 'firing', alerts: [{ labels: {}, endsAt: 'soon' }] },
      fields: ['alerts.0.startsAt', 'alerts.0.endsAt'],
    },
  ];
  it.each(badCases)('rejects $name, naming $fields', ({ body, fields }) => {
    expect(issuePaths(() => parseAlertmanagerPayload(body))).toEqual(fields);
  });
});

describe('parseGrafanaPayload', () => {
  it('maps values and links to annotations; the rule’s own annotations win', () => {
    const { alerts } = parseGrafanaPayload(fixture('grafana-v1.json'));
    expect(alerts).toEqual([
      {
        source: 'grafana',
        status: 'firing',
        labels: { alertname: 'PaymentServiceHighLatency', grafana_folder: 'Payments', namespace: 'payments' },
        annotations: {
          summary: 'p99 latency above 2s',
          value_A: '2.75',
          value_B: 'set by the rule',
          valueString: "[ var='A' labels={namespace=payments} value=2.75 ]",
          silenceURL:
            'https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DPaymentServiceHighLatency',
          dashboardURL: 'https://grafana.example.com/d/payments?orgId=1',
          panelURL: 'https://grafana.example.com/d/payments?orgId=1&viewPanel=2',
        },
        fingerprint: '57c6d9296de2ad39',
        startsAt: '2024-05-01T10:00:00+02:00',
        generatorURL: 'https://grafana.example.com/alerting/grafana/abc123/view?orgId=1',
      },
    ] satisfies Alert[]);
  });

  it.each([
    { state: 'ok', status: 'resolved' },
    { state: 'alerting', status: 'firing' },
  ] as const)('takes the status from state $state when no status is sent', ({ state, status }) => {
    const body = {
      state,
      alerts: [{ labels: { alertname: 'A' }, startsAt: '2024-05-01T10:00:00Z', values: null }],
    };
    const [alert] = parseGrafanaPayload(body).alerts;
    expect(alert?.status).toBe(status);
    expect(alert?.annotations).toEqual({});
  });

  it('rejects a value that is not a number, naming it', () => {
    const body = {
      status: 'firing',
      alerts: [{ labels: {}, startsAt: '2024-05-01T10:00:00Z', values: { A: '2.75' } }],
    };
    expect(issuePaths(() => parseGrafanaPayload(body))).toEqual(['alerts.0.values.A']);
  });
});

describe('Grafana signature', () => {
  const secret = 'grafana-test-secret';
  // Vectors from `printf '<message>' | openssl dgst -sha256 -hmac grafana-test-secret`.
  it.each([
    {
      body: 'abc',
      timestamp: undefined,
      hex: '78dc0d1fe640de74b50d1221e661f5926536e9dfec034d9bbed3ac91f2c78f44',
    },
    {
      body: '{"a":1}',
      timestamp: '1714557600',
      hex: '6da2b176f2e85d331c0bb54965c259aa770fcb85c606bcb0cfd863a12bf4cf4d',
    },
  ])('signs $body (timestamp $timestamp) as openssl does', ({ body, timestamp, hex }) => {
    expect(grafanaSignature(secret, Buffer.from(body), timestamp)).toBe(hex);
  });

  const now = new Date(1714557600 * 1000 + 60_000);
  const signed = { rawBody: '{"a":1}', timestamp: '1714557600' };
  const good = '6da2b176f2e85d331c0bb54965c259aa770fcb85c606bcb0cfd863a12bf4cf4d';
  it.each([
    { name: 'a valid signature with timestamp', req: { ...signed, signature: good }, ok: true },
    { name: 'upper-case hex', req: { ...signed, signature: good.toUpperCase() }, ok: true },
    { name: 'no signature', req: { ...signed, signature: undefined }, ok: false },
    { name: 'a tampered body', req: { ...signed, rawBody: '{"a":2}', signature: good }, ok: false },
    { name: 'another timestamp', req: { ...signed, timestamp: '1714557601', signature: good }, ok: false },
    { name: 'the timestamp left out', req: { ...signed, timestamp: undefined, signature: good }, ok: false },
    {
      name: 'a timestamp that is not seconds',
      req: { ...signed, timestamp: '1e9', signature: good },
      ok: false,
    },
  ])('$name → ok: $ok', ({ req, ok }) => {
    expect(verifyGrafanaSignature(secret, req, now).ok).toBe(ok);
  });

  it('refuses a signed timestamp more than five minutes away (a replay)', () => {
    const later = new Date(1714557600 * 1000 + 301_000);
    expect(verifyGrafanaSignature(secret, { ...signed, signature: good }, later)).toEqual({
      ok: false,
      reason: 'the signature timestamp is more than 300 s from now',
    });
  });
});
