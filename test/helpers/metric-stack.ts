import { randomUUID } from 'node:crypto';
import {
  type Exporter,
  type PrivatePrometheus,
  startExporter,
  startPrometheus,
} from '../../scripts/harness/prometheus.ts';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import { createAdapters } from '../../src/adapters/index.ts';
import type { Alert, TimelineEvent } from '../../src/engine/types.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { FAST_WORKERS, httpServer, testPipeline } from './pipeline.ts';

/**
 * A metric that rises past a runbook's threshold in a real Prometheus, and an automated remediation
 * that brings it down (its script POSTs to a hook here, which lowers the exporter's value), with a
 * verify: the charts of issue 14 end to end (test/integration/charts.test.ts,
 * test/e2e/console-charts.test.ts). Everything started is closed by the `cleanups` given.
 */
export type Cleanups = (() => Promise<void>)[];

export const METRIC = 'fireline_chart_latency';

export function chartRunbook(lowerUrl: string, chart = 'chart: { window: 30s, step: 1s }') {
  return `
id: chart-latency
name: Chart latency
severity: P2
service: pay
triggers:
  - type: alert
    alertName: PayLatencyHigh
diagnostics:
  - id: latency
    name: Payment p99 latency
    type: prometheus_query
    timeout: 10
    config:
      query: 'max(${METRIC}{service="pay"})'
    ${chart}
    interpret:
      critical: "value >= 90"
      healthy: "value < 90"
decisionTree:
  - condition: "diagnostics.latency.status == 'critical'"
    then: [lower]
    description: Latency over 90
remediations:
  - id: lower
    name: Lower the latency
    type: automated
    action:
      type: run_script
      config:
        command: [node, -e, "fetch(process.argv[1], { method: 'POST' }).then((r) => process.exit(r.ok ? 0 : 1))", "${lowerUrl}"]
    verify:
      diagnostics: [latency]
      afterSeconds: 2
escalation:
  primary: "#ops"
  escalateAfterMinutes: 15
`;
}

export interface MetricStack {
  exporter: Exporter;
  prometheus: PrivatePrometheus;
  lowered: string[];
  lowerUrl: string;
}

/** The exporter at 95 for a few scrapes (after 10 at first), a real Prometheus, the "lower" hook. */
export async function metricStack(cleanups: Cleanups): Promise<MetricStack> {
  const exporter = await startExporter();
  cleanups.push(exporter.close);
  exporter.set(METRIC, { service: 'pay' }, 10);
  const prometheus = await startPrometheus([exporter.target]);
  cleanups.push(prometheus.stop);
  const at = (v: string) => (r: unknown) => (r as { value: [number, string] }[])[0]?.value[1] === v;
  // A few seconds of each value in Prometheus (its range query sees whole seconds only).
  await prometheus.waitFor(
    `count_over_time(${METRIC}[30s])`,
    (r) => Number((r as { value: [number, string] }[])[0]?.value[1]) >= 3,
  );
  exporter.set(METRIC, { service: 'pay' }, 95);
  await prometheus.waitFor(`min_over_time(${METRIC}[3s])`, at('95'));
  const lowered: string[] = [];
  const hook = await httpServer((_req, res) => {
    exporter.set(METRIC, { service: 'pay' }, 20);
    lowered.push(new Date().toISOString());
    res.end('lowered');
  });
  cleanups.push(hook.close);
  return { exporter, prometheus, lowered, lowerUrl: `${hook.url}/lower` };
}

export async function pipelineWith(
  redisUrl: string,
  cleanups: Cleanups,
  stack: MetricStack,
  opts: { publicUrl: string; chart?: string; slackUrl?: string },
): Promise<Pipeline> {
  const connections = {
    prometheus: { url: stack.prometheus.url },
    ...(opts.slackUrl ? { slack: { webhooks: { '#ops': opts.slackUrl } } } : {}),
  };
  const pipeline = await testPipeline(redisUrl, [chartRunbook(stack.lowerUrl, opts.chart)], {
    adapters: createAdapters(ConnectionsSchema.parse(connections)),
    publicUrl: opts.publicUrl,
  });
  cleanups.push(() => pipeline.close(5000));
  await pipeline.startWorkers(FAST_WORKERS);
  return pipeline;
}

export function metricAlert(): Alert {
  const startsAt = new Date(Date.now() - 5_000).toISOString();
  return {
    source: 'alertmanager',
    status: 'firing',
    labels: { alertname: 'PayLatencyHigh', service: 'pay' },
    annotations: {},
    fingerprint: randomUUID().slice(0, 16),
    startsAt,
  };
}

export async function openMetricIncident(pipeline: Pipeline): Promise<string> {
  const [outcome] = await pipeline.intake(metricAlert());
  if (!outcome || !('incidentId' in outcome)) throw new Error(`not opened: ${JSON.stringify(outcome)}`);
  return outcome.incidentId;
}

/** Whether `seen` holds the verify's outcome and the chart its re-run drew (its own job). */
export function verifiedAndCharted(_e: TimelineEvent, seen: TimelineEvent[]): boolean {
  return (
    seen.some((x) => x.type === 'remediation.verified') &&
    seen.some((x) => x.type === 'diagnostic.charted' && (x.data as { phase?: string }).phase === 'verify')
  );
}
