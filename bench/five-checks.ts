/**
 * The 5-diagnostic runbook shape that the pipeline and in-process benches both run, so they
 * measure the very same steps:
 * five `http_check` steps, one URL each, judged by `any_unreachable` / `all_healthy`, and a
 * decision tree that always lands on one manual step.
 */
import type { CompiledRunbook } from '../src/engine/compile.ts';
import { parseRunbook } from '../src/engine/runbook-parse.ts';
import type { Alert } from '../src/engine/types.ts';

/** How many diagnostics the runbook has. */
export const FIVE_CHECKS = 5;

/**
 * The first step as a `prometheus_query` (the chart bench: bench/chart-cost.ts), its chart on or
 * off; the other four stay http_checks.
 */
export interface MetricStep {
  chart: boolean;
}

const metricStep = (opts: MetricStep) => `
  - id: check_1
    name: Local metric
    type: prometheus_query
    timeout: 10
    config:
      query: 'max(bench_latency{instance="{{ alert.labels.instance }}"})'${opts.chart ? '' : '\n    chart: false'}
    interpret:
      critical: "!empty && value >= 90"
      healthy: "empty || value < 90"`;

/** The runbook's YAML, its checks pointed at `baseUrl`. */
export function fiveChecksRunbook(baseUrl: string, metric?: MetricStep): string {
  const steps = Array.from({ length: FIVE_CHECKS }, (_, i) =>
    i === 0 && metric
      ? metricStep(metric)
      : `
  - id: check_${i + 1}
    name: Local check ${i + 1}
    type: http_check
    timeout: 10
    config:
      urls:
        - name: local-${i + 1}
          url: "${baseUrl}/check_${i + 1}?instance={{ alert.labels.instance }}"
    interpret:
      critical: any_unreachable
      warning: "!all_healthy"
      healthy: all_healthy`,
  ).join('');
  return `
id: bench-five-checks
name: Bench Five Checks
severity: P3
service: bench-service
triggers:
  - type: alert
    alertName: BenchAlert
diagnostics:${steps}
decisionTree:
  - condition: "diagnostics.check_1.status == 'critical'"
    then: [look]
    description: First check unreachable
  - otherwise: true
    then: [look]
remediations:
  - id: look
    name: Look at the bench dashboard
    type: manual
    instructions: Open the bench dashboard and compare with last week.
escalation:
  primary: "#bench"
`;
}

/** The runbook parsed and compiled, as the catalog would hold it; throws if it does not load. */
export function compileFiveChecks(baseUrl: string, metric?: MetricStep): CompiledRunbook {
  const parsed = parseRunbook(fiveChecksRunbook(baseUrl, metric), 'bench-five-checks.yaml');
  if (!parsed.ok)
    throw new Error(`bench runbook does not load: ${parsed.issues.map((i) => i.message).join('; ')}`);
  return parsed.compiled;
}

/** A firing `BenchAlert` (the alert the five-check runbook takes) for `instance`. */
export function benchAlert(instance: string, fingerprint: string = instance): Alert {
  return {
    source: 'alertmanager',
    status: 'firing',
    labels: { alertname: 'BenchAlert', instance },
    annotations: {},
    fingerprint,
    startsAt: new Date().toISOString(),
  };
}
