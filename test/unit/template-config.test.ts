import { describe, expect, test } from 'vitest';
import { ActionSchema, DiagnosticStepSchema } from '../../src/engine/runbook-schema.ts';
import { renderActionConfig, renderDiagnosticConfig, templateContext } from '../../src/engine/template.ts';
import type { Alert } from '../../src/engine/types.ts';

const alert: Alert = {
  source: 'alertmanager',
  status: 'firing',
  labels: { alertname: 'PaymentSlow', namespace: 'checkout', pod: 'pay-7d9f"}', deployment: 'Payment;rm' },
  annotations: { summary: 'slow' },
  fingerprint: 'a1b2c3d4e5f60718',
  startsAt: '2024-05-01T03:00:00Z',
};
const ctx = templateContext(alert, {
  id: 'inc-1',
  severity: 'P1',
  service: 'payment',
  runbookId: 'payment-slow',
});
const interpret = { critical: 'value > 1' };

describe('renderDiagnosticConfig', () => {
  test.each([
    {
      name: 'prometheus query as PromQL',
      step: { type: 'prometheus_query', config: { query: 'up{pod="{{ alert.labels.pod }}"}' } },
      want: { ok: true, config: { query: 'up{pod="pay-7d9f\\"}"}' } },
    },
    {
      name: 'http url encoded, header as text',
      step: {
        type: 'http_check',
        config: {
          urls: [
            {
              name: 'pod',
              url: 'http://svc/p/{{ alert.labels.pod }}',
              headers: { 'X-Ns': '{{ alert.labels.namespace }}' },
            },
          ],
        },
      },
      want: {
        ok: true,
        config: {
          urls: [
            {
              name: 'pod',
              url: 'http://svc/p/pay-7d9f%22%7D',
              method: 'GET',
              headers: { 'X-Ns': 'checkout' },
            },
          ],
          slowMs: 1000,
        },
      },
    },
    {
      name: 'shell argv element stays one element',
      step: {
        type: 'shell_command',
        config: {
          command: ['kubectl', 'logs', '{{ alert.labels.pod }}', '-n', '{{ alert.labels.namespace }}'],
          env: { POD: '{{ alert.labels.pod }}' },
        },
      },
      want: {
        ok: true,
        config: {
          command: ['kubectl', 'logs', 'pay-7d9f"}', '-n', 'checkout'],
          env: { POD: 'pay-7d9f"}' },
          maxOutputBytes: 65536,
        },
      },
    },
    {
      name: 'database params as bind values',
      step: {
        type: 'database_query',
        config: { query: 'select 1 where ns = $1', params: ['{{ alert.labels.namespace }}'] },
      },
      want: {
        ok: true,
        config: { database: 'default', query: 'select 1 where ns = $1', params: ['checkout'], maxRows: 100 },
      },
    },
    {
      name: 'database query text with a template',
      step: {
        type: 'database_query',
        config: { query: "select 1 where ns = '{{ alert.labels.namespace }}'" },
      },
      want: { ok: false, reason: expect.stringContaining('use $1'), path: ['config', 'query'] },
    },
    {
      name: 'loki query as LogQL',
      step: {
        type: 'log_search',
        config: { source: 'loki', query: '{ns="{{ alert.labels.namespace }}"} |~ "{{ alert.labels.pod }}"' },
      },
      want: {
        ok: true,
        config: {
          source: 'loki',
          query: '{ns="checkout"} |~ "pay-7d9f\\"\\\\}"',
          sinceMinutes: 15,
          limit: 100,
        },
      },
    },
    {
      name: 'file path with a label that climbs',
      step: {
        type: 'log_search',
        config: {
          source: 'file',
          paths: ['/var/log/{{ alert.labels.x | default "../../etc" }}/app.log'],
          pattern: 'ERROR',
        },
      },
      want: { ok: false, reason: expect.stringContaining('".." segment'), path: ['config', 'paths', 0] },
    },
    {
      name: 'url template in host',
      step: { type: 'http_check', config: { urls: [{ name: 'a', url: 'http://{{ alert.labels.pod }}/' }] } },
      want: {
        ok: false,
        reason: expect.stringContaining('scheme or host'),
        path: ['config', 'urls', 0, 'url'],
      },
    },
    {
      name: 'header value with a newline',
      step: {
        type: 'http_check',
        config: {
          urls: [{ name: 'a', url: 'http://h/', headers: { X: '{{ alert.labels.x | default "a\nb" }}' } }],
        },
      },
      want: {
        ok: false,
        reason: expect.stringContaining('line break'),
        path: ['config', 'urls', 0, 'headers', 'X'],
      },
    },
  ])('$name', ({ step, want }) => {
    const parsed = DiagnosticStepSchema.parse({ id: 's', name: 'S', interpret, ...step });
    expect(renderDiagnosticConfig(parsed, ctx)).toEqual(want);
  });

  test('the step itself is not changed', () => {
    const step = DiagnosticStepSchema.parse({
      id: 's',
      name: 'S',
      interpret,
      type: 'prometheus_query',
      config: { query: 'up{ns="{{ alert.labels.namespace }}"}' },
    });
    renderDiagnosticConfig(step, ctx);
    expect(step.config).toEqual({ query: 'up{ns="{{ alert.labels.namespace }}"}' });
  });
});

describe('renderActionConfig', () => {
  test.each([
    {
      name: 'restart with label names',
      action: {
        type: 'restart_service',
        config: { deployment: 'payment', namespace: '{{ alert.labels.namespace }}' },
      },
      want: { ok: true, config: { deployment: 'payment', namespace: 'checkout' } },
    },
    {
      name: 'a label that is not a Kubernetes name',
      action: { type: 'rollback', config: { deployment: '{{ alert.labels.deployment }}', namespace: 'x' } },
      want: {
        ok: false,
        reason: expect.stringContaining('"Payment;rm" is not a Kubernetes name'),
        path: ['config', 'deployment'],
      },
    },
    {
      name: 'a literal kubeconfig context keeps its own spelling',
      action: {
        type: 'restart_service',
        config: { deployment: 'a', namespace: 'b', context: 'gke_Proj_eu_prod' },
      },
      want: { ok: true, config: { deployment: 'a', namespace: 'b', context: 'gke_Proj_eu_prod' } },
    },
    {
      name: 'a templated context must be a name',
      action: {
        type: 'restart_service',
        config: { deployment: 'a', namespace: 'b', context: '{{ alert.labels.pod }}' },
      },
      want: {
        ok: false,
        reason: expect.stringContaining('not a Kubernetes name'),
        path: ['config', 'context'],
      },
    },
    {
      name: 'scale keeps numbers',
      action: {
        type: 'scale_up',
        config: { deployment: 'a', namespace: '{{ alert.labels.namespace }}', by: 2, maxReplicas: 9 },
      },
      want: { ok: true, config: { deployment: 'a', namespace: 'checkout', by: 2, maxReplicas: 9 } },
    },
    {
      name: 'cache pattern escapes glob characters of values',
      action: {
        type: 'flush_cache',
        config: { pattern: 'session:{{ alert.labels.x | default "*?[a]\\\\" }}:*' },
      },
      want: {
        ok: true,
        config: { target: 'default', pattern: 'session:\\*\\?\\[a\\]\\\\:*', maxKeys: 10000 },
      },
    },
    {
      name: 'a cache pattern of just *',
      action: { type: 'flush_cache', config: { pattern: '*' } },
      want: {
        ok: false,
        reason: expect.stringContaining('would flush every key'),
        path: ['config', 'pattern'],
      },
    },
    {
      name: 'script argv',
      action: { type: 'run_script', config: { command: ['/opt/fix.sh', '{{ alert.labels.pod }}'] } },
      want: { ok: true, config: { command: ['/opt/fix.sh', 'pay-7d9f"}'], idempotent: false } },
    },
    {
      name: 'script sql with params',
      action: {
        type: 'run_script',
        config: { database: 'main', sql: 'select $1', params: ['{{ incident.id }}'] },
      },
      want: {
        ok: true,
        config: { database: 'main', sql: 'select $1', params: ['inc-1'], idempotent: false },
      },
    },
    {
      name: 'notify as text',
      action: {
        type: 'notify',
        config: { channel: '#{{ incident.service }}', message: 'Pod {{ alert.labels.pod }} <b>' },
      },
      want: { ok: true, config: { channel: '#payment', message: 'Pod pay-7d9f"} <b>' } },
    },
  ])('$name', ({ action, want }) => {
    expect(renderActionConfig(ActionSchema.parse(action), ctx)).toEqual(want);
  });
});

test('templateContext copies what templates may read', () => {
  expect(ctx).toEqual({
    alert: {
      labels: alert.labels,
      annotations: { summary: 'slow' },
      fingerprint: 'a1b2c3d4e5f60718',
      status: 'firing',
      startsAt: '2024-05-01T03:00:00Z',
    },
    incident: { id: 'inc-1', severity: 'P1', service: 'payment', runbookId: 'payment-slow' },
  });
});
