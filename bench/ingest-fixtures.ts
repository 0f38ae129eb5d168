/** What the ingest benchmark posts, where, and the runbook it posts for. */
import type { CompiledRunbook } from '../src/engine/compile.ts';
import { parseRunbook } from '../src/engine/runbook-parse.ts';

/** The Alertmanager webhook path, on Fireline's API and on the baseline API alike. */
export const INGEST_PATH = '/api/v1/alerts/alertmanager';

/** The alertname of every posted alert. */
export const ALERT_NAME = 'BenchIngestLatencyHigh';

/** A small runbook whose alert trigger matches every posted alert: no diagnostics, one manual step. */
export const INGEST_RUNBOOK = `
id: bench-ingest
name: Bench Ingest Latency
severity: P3
service: checkout
triggers:
  - type: alert
    alertName: ${ALERT_NAME}
diagnostics: []
decisionTree:
  - otherwise: true
    then: [look]
remediations:
  - id: look
    name: Look at the checkout dashboard
    type: manual
    instructions: Open the checkout latency dashboard and compare with last week.
escalation:
  primary: "#bench-ingest"
`;

/** INGEST_RUNBOOK parsed and compiled, as the catalog would hold it; throws if it does not load. */
export function compileIngestRunbook(): CompiledRunbook {
  const parsed = parseRunbook(INGEST_RUNBOOK, 'bench-ingest.yaml');
  if (!parsed.ok)
    throw new Error(`bench runbook does not load: ${parsed.issues.map((i) => i.message).join('; ')}`);
  return parsed.compiled;
}

/** An Alertmanager v4 webhook body with one firing alert, distinct per `i`. */
export function alertmanagerBody(i: number, runTag: string): string {
  const instance = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:9100`;
  const labels = {
    alertname: ALERT_NAME,
    instance,
    job: 'checkout',
    namespace: 'production',
    pod: `checkout-7d9f8b6c5-${i.toString(36).padStart(5, '0')}`,
    service: 'checkout',
    severity: 'warning',
  };
  const annotations = {
    summary: `checkout p99 latency above 500 ms on ${instance}`,
    description: 'The 99th percentile of checkout request latency has been above 500 ms for 5 minutes.',
    runbook_url: 'https://runbooks.example.com/checkout/latency',
  };
  return JSON.stringify({
    receiver: 'fireline',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations,
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL:
          'http://prometheus.example.com:9090/graph?g0.expr=histogram_quantile%280.99%2C+checkout_latency%29+%3E+0.5',
        fingerprint: `${runTag}${i.toString(16).padStart(10, '0')}`,
      },
    ],
    groupLabels: { alertname: ALERT_NAME, instance },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'http://alertmanager.example.com:9093',
    version: '4',
    groupKey: `{}/{service="checkout"}:{alertname="${ALERT_NAME}", instance="${instance}"}`,
    truncatedAlerts: 0,
  });
}
