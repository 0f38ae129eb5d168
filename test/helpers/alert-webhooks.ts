import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import type { Incident } from '../../src/engine/types.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import type { ApiDeps } from '../../src/producer/deps.ts';
import { type AlertResult, alertRoutes } from '../../src/producer/routes/alerts.ts';
import { type ApiServer, startApi } from './api-server.ts';
import { testPipeline } from './pipeline.ts';

/** A runbook the webhook fixtures trigger: one quick local diagnostic, one manual step. */
export const LATENCY_RUNBOOK = `
id: payment-latency
name: Payment latency
severity: P2
service: payment-service
triggers:
  - type: alert
    alertName: PaymentServiceHighLatency
diagnostics:
  - id: probe
    name: Probe
    type: shell_command
    config: { command: [node, -e, "console.log(1)"] }
    interpret: { critical: "exit_code != 0", healthy: "exit_code == 0" }
decisionTree:
  - condition: "diagnostics.probe.status == 'healthy'"
    then: [look]
remediations:
  - id: look
    name: Look at the latency dashboard
    type: manual
    instructions: Compare p99 with last week.
escalation:
  primary: "#payments"
  escalateAfterMinutes: 15
`;

/** Tokens of every scope (≥ 16 characters, as the config demands). */
export const TOKENS = {
  ingest: 'ingest-token-0123456789',
  operator: 'operator-token-0123456789',
  viewer: 'viewer-token-0123456789',
};
export const AUTH = {
  ingestToken: TOKENS.ingest,
  operatorToken: TOKENS.operator,
  viewerToken: TOKENS.viewer,
};
export const INGEST = { authorization: `Bearer ${TOKENS.ingest}` };

/** A webhook fixture from test/fixtures, parsed. */
export function webhookFixture(
  name: string,
): Record<string, unknown> & { alerts: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
}

/** An Alertmanager v4 group of firing latency alerts, one per instance name. */
export function latencyGroup(instances: string[], status: 'firing' | 'resolved' = 'firing') {
  return {
    version: '4',
    groupKey: '{}:{alertname="PaymentServiceHighLatency"}',
    status,
    receiver: 'fireline',
    groupLabels: { alertname: 'PaymentServiceHighLatency' },
    commonLabels: { alertname: 'PaymentServiceHighLatency' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test:9093',
    alerts: instances.map((instance) => ({
      status,
      labels: { alertname: 'PaymentServiceHighLatency', instance },
      annotations: { summary: `slow on ${instance}` },
      startsAt: '2024-05-01T10:00:00Z',
      endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2024-05-01T10:30:00Z',
      generatorURL: 'http://prometheus.test:9090/graph',
    })),
  };
}

/** What a POST answered: status, headers and the parsed JSON body. */
export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape the answer has
  body: any;
}

/** POSTs JSON (or a raw string, sent as is) and reads the answer. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** The incident ids of `results`, one per outcome that names one. */
export function incidentIds(results: AlertResult[]): string[] {
  return results.flatMap((r) => r.outcomes.flatMap((o) => ('incidentId' in o ? [o.incidentId] : [])));
}

/** Every incident in the pipeline's store, paging through the list. */
export async function allIncidents(pipeline: Pipeline): Promise<Incident[]> {
  const all: Incident[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Incident[]; nextCursor: string | null } = await pipeline.deps.store.list(
      {},
      cursor === null ? { limit: 200 } : { cursor, limit: 200 },
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}

/**
 * Call in a describe block: each call of the returned function builds a pipeline on `redisUrl`
 * with LATENCY_RUNBOOK and serves the alert routes (auth on with AUTH unless `extra` says
 * otherwise); everything built is closed after each test.
 */
export function alertApiPerTest(redisUrl: string) {
  const open: { pipeline: Pipeline; api: ApiServer }[] = [];
  afterEach(async () => {
    for (const { pipeline, api } of open.splice(0)) {
      await api.close();
      await pipeline.close(5000);
    }
  });
  return async (extra: Partial<ApiDeps> = {}) => {
    const pipeline = await testPipeline(redisUrl, [LATENCY_RUNBOOK]);
    const api = await startApi(pipeline, [alertRoutes], { auth: AUTH, ...extra }).catch(async (err) => {
      await pipeline.close(5000);
      throw err;
    });
    open.push({ pipeline, api });
    return {
      pipeline,
      alertmanager: `${api.url}/api/v1/alerts/alertmanager`,
      grafana: `${api.url}/api/v1/alerts/grafana`,
    };
  };
}
