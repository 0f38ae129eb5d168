import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AlertmanagerOptions,
  type PrivateAlertmanager,
  startAlertmanager,
} from '../../scripts/harness/alertmanager.ts';
import { terminate } from '../../scripts/harness/child-process.ts';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';
import {
  type Exporter,
  type PrivatePrometheus,
  startExporter,
  startPrometheus,
} from '../../scripts/harness/prometheus.ts';
import { freePort } from '../../scripts/harness/redis-server.ts';
import type { Incident, TimelineEvent } from '../../src/engine/types.ts';
import { call } from './api.ts';
import { type Receiver, startReceiver } from './receiver.ts';

/**
 * What the Alertmanager end-to-end and chaos tests share: the alert rule Prometheus evaluates, the
 * payment runbook Fireline runs (adapted from runbooks/payment-service-slow.yaml to query the
 * test's Prometheus), the exporter's starting values, and Fireline as a real `fireline start`
 * process with tokens, answering through its HTTP API.
 */

/** The tokens Fireline is started with; Alertmanager posts with the ingest one. */
export const STACK_TOKENS = {
  ingest: 'e2e-ingest-token-0123456789',
  operator: 'e2e-operator-token-0123456789',
  viewer: 'e2e-viewer-token-0123456789',
} as const;

export const RUNBOOK_ID = 'payment-service-slow';
export const LATENCY = 'payment_p99_latency_seconds';

/** Prometheus fires PaymentServiceHighLatency, one alert per pod, as soon as a p99 is above 2 s. */
export const LATENCY_RULES = `groups:
  - name: payment-service
    rules:
      - alert: PaymentServiceHighLatency
        expr: ${LATENCY}{namespace="production"} > 2
        for: 0s
        labels:
          severity: page
        annotations:
          summary: payment-service p99 latency is above 2 s
`;

/**
 * The seed payment runbook cut to what a local exporter can stand in for: the alerting pod's
 * latency (its pod label templated into PromQL), pod readiness and the database pool, all
 * `prometheus_query`. A full pool → a dry-run SQL fix plus a manual step; every channel is Slack.
 * `autoResolve`: Alertmanager's `resolved` resolves the incident.
 */
export const PAYMENT_RUNBOOK = `
id: ${RUNBOOK_ID}
name: Payment Service High Latency
description: payment-service p99 latency above 2 s
severity: P1
service: payment-service
groupBy: [alertname, namespace]
autoResolve: true
triggers:
  - type: alert
    alertName: PaymentServiceHighLatency
    matchers:
      - namespace="production"
diagnostics:
  - id: check_latency
    name: Latency of the alerting pod
    type: prometheus_query
    config:
      query: 'max(${LATENCY}{namespace="production", pod="{{ alert.labels.pod }}"})'
    timeout: 10
    interpret:
      critical: "!empty && value >= 2"
      warning: "!empty && value >= 1"
      healthy: "!empty && value < 1"
  - id: check_pod_health
    name: Pod Health
    type: prometheus_query
    config:
      query: >-
        100 * sum(kube_pod_status_ready{namespace="production", pod=~"payment-service-.*", condition="true"})
        / count(kube_pod_status_ready{namespace="production", pod=~"payment-service-.*", condition="true"})
    timeout: 10
    interpret:
      critical: "empty || value < 50"
      warning: "value < 100"
      healthy: "value >= 100"
  - id: check_db_connections
    name: Database Connection Pool
    type: prometheus_query
    config:
      query: 100 * sum(pg_stat_activity_count{datname="payments"}) / max(pg_settings_max_connections)
    timeout: 10
    interpret:
      critical: "!empty && value >= 90"
      warning: "empty || value >= 70"
      healthy: "value < 70"
decisionTree:
  - condition: diagnostics.check_db_connections.status == "critical"
    then: [kill_idle_connections, scale_db_connections]
    description: DB connection pool exhausted — kill idle connections and increase pool capacity
  - condition: diagnostics.check_pod_health.status == "critical"
    then: [restart_pods, escalate_infra]
    description: Fewer than half of the pods are Ready — restart and escalate to the infra team
  - otherwise: true
    then: [escalate_oncall]
    description: No diagnostic explains the latency — page the on-call engineer
remediations:
  - id: kill_idle_connections
    name: Kill Idle DB Connections
    type: automated
    action:
      type: run_script
      config:
        database: payments
        sql: >-
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = $1 AND state = 'idle' AND pid <> pg_backend_pid()
          AND state_change < now() - make_interval(mins => $2::int)
        params: ["payments", "5"]
    maxPerHour: 2
  - id: scale_db_connections
    name: Increase DB Connection Capacity
    type: manual
    instructions: Raise the PgBouncer pool by at most 20 if Postgres has headroom.
  - id: restart_pods
    name: Restart Payment Pods
    type: automated
    action:
      type: run_script
      config:
        command: [kubectl, rollout, restart, deployment/payment-service, -n, production]
  - id: escalate_infra
    name: Escalate to Infra
    type: escalate
    escalateTo: "#platform-infra"
  - id: escalate_oncall
    name: Escalate to On-Call
    type: escalate
    escalateTo: "#payments-oncall"
escalation:
  primary: "#incidents-payment"
  secondary: "#payments-oncall"
  escalateAfterMinutes: 15
`;

/** Three Ready pods and a database pool at `dbPercent` % of max_connections. */
export function setServiceMetrics(exporter: Exporter, dbPercent: number): void {
  for (const pod of ['payment-service-0', 'payment-service-1', 'payment-service-2'])
    exporter.set('kube_pod_status_ready', { namespace: 'production', pod, condition: 'true' }, 1);
  exporter.set('pg_stat_activity_count', { datname: 'payments' }, dbPercent);
  exporter.set('pg_settings_max_connections', {}, 100);
}

/** Fireline's answers through its API, read with the viewer token. */
export interface StackApi {
  /** Every incident of the payment runbook, newest first. */
  incidents(): Promise<Incident[]>;
  detail(id: string): Promise<{ incident: Incident; escalation: { dueAt: string | null } }>;
  timeline(id: string): Promise<TimelineEvent[]>;
}

export interface StackFireline {
  url: string;
  proc: FirelineProcess;
  api: StackApi;
  /** SIGTERM, wait for the exit, remove the scratch directory. */
  stop(): Promise<void>;
}

async function ok<T>(res: Promise<{ status: number; body: T; text: string }>, what: string): Promise<T> {
  const r = await res;
  if (r.status !== 200) throw new Error(`${what}: expected 200, got ${r.status}: ${r.text}`);
  return r.body;
}

/** Where Fireline on `port` takes Alertmanager's webhook (Alertmanager starts before Fireline). */
export function ingestUrl(port: number): string {
  return `http://127.0.0.1:${port}/api/v1/alerts/alertmanager`;
}

/**
 * Starts `fireline start` (API and workers in one process) on `port` and `redisUrl` with its own
 * prefix, the payment runbook, tokens, dry run, PROMETHEUS_URL and SLACK_WEBHOOK_URL; resolves
 * once the API listens.
 */
export async function startStackFireline(opts: {
  port: number;
  redisUrl: string;
  prometheusUrl: string;
  slackUrl: string;
}): Promise<StackFireline> {
  const { port } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'fireline-e2e-'));
  mkdirSync(join(dir, 'runbooks'));
  writeFileSync(join(dir, 'runbooks', `${RUNBOOK_ID}.yaml`), PAYMENT_RUNBOOK);
  const proc = spawnFireline(['start'], {
    REDIS_URL: opts.redisUrl,
    FIRELINE_PREFIX: `e2e-am-${port}`,
    HOST: '127.0.0.1',
    PORT: String(port),
    FIRELINE_RUNBOOKS: join(dir, 'runbooks'),
    // No connections file: everything comes from the variables below.
    FIRELINE_CONFIG: join(dir, 'fireline.yaml'),
    FIRELINE_DATA_DIR: dir,
    FIRELINE_DRY_RUN: 'true',
    PROMETHEUS_URL: opts.prometheusUrl,
    SLACK_WEBHOOK_URL: opts.slackUrl,
    FIRELINE_INGEST_TOKEN: STACK_TOKENS.ingest,
    FIRELINE_OPERATOR_TOKEN: STACK_TOKENS.operator,
    FIRELINE_VIEWER_TOKEN: STACK_TOKENS.viewer,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await terminate(proc.child, 15_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await proc.waitForLine(/API listening/, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const token = STACK_TOKENS.viewer;
  const api: StackApi = {
    incidents: async () =>
      (
        await ok<{ items: Incident[] }>(
          call(url, 'GET', `/api/v1/incidents?runbook=${RUNBOOK_ID}&limit=100`, { token }),
          'list incidents',
        )
      ).items,
    detail: (id) => ok(call(url, 'GET', `/api/v1/incidents/${id}`, { token }), `incident ${id}`),
    timeline: async (id) =>
      (
        await ok<{ events: TimelineEvent[] }>(
          call(url, 'GET', `/api/v1/incidents/${id}/timeline`, { token }),
          `timeline of ${id}`,
        )
      ).events,
  };
  return { url, proc, api, stop };
}

/** The `type`s of a timeline, in order. */
export function eventTypes(events: TimelineEvent[]): string[] {
  return events.map((e) => e.type);
}

/** Every process and server of one test, from the exporter to Fireline. */
export interface Stack {
  exporter: Exporter;
  /** Stands in for Slack's incoming webhook: records each post, answers 200 `ok`. */
  slack: Receiver;
  alertmanager: PrivateAlertmanager;
  prometheus: PrivatePrometheus;
  fireline: StackFireline;
  /** Stops everything in reverse start order; every step runs even when one throws. */
  stop(): Promise<void>;
}

/**
 * Exporter (healthy pods, the pool at `dbPercent`), Slack stand-in, Alertmanager posting to
 * Fireline's port with the ingest token, Prometheus evaluating LATENCY_RULES and sending to
 * Alertmanager, then Fireline querying that Prometheus. Nothing fires until the test sets a
 * latency above 2 s.
 */
export async function startStack(opts: {
  redisUrl: string;
  dbPercent: number;
  alertmanager?: Partial<AlertmanagerOptions>;
}): Promise<Stack> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    const errors: unknown[] = [];
    for (const step of stops.splice(0).reverse()) await step().catch((err: unknown) => errors.push(err));
    if (errors.length) throw errors[0];
  };
  try {
    const exporter = await startExporter();
    stops.push(() => exporter.close());
    setServiceMetrics(exporter, opts.dbPercent);
    const slack = await startReceiver();
    stops.push(() => slack.close());
    const port = await freePort();
    const alertmanager = await startAlertmanager({
      webhookUrl: ingestUrl(port),
      bearerToken: STACK_TOKENS.ingest,
      ...opts.alertmanager,
    });
    stops.push(() => alertmanager.stop());
    const prometheus = await startPrometheus([exporter.target], {
      rules: LATENCY_RULES,
      alertmanagers: [alertmanager.target],
    });
    stops.push(() => prometheus.stop());
    const fireline = await startStackFireline({
      port,
      redisUrl: opts.redisUrl,
      prometheusUrl: prometheus.url,
      slackUrl: slack.url,
    });
    stops.push(() => fireline.stop());
    return { exporter, slack, alertmanager, prometheus, fireline, stop };
  } catch (err) {
    await stop().catch((stopErr: unknown) => {
      throw new AggregateError([err, stopErr], 'the stack failed to start, and to stop');
    });
    throw err;
  }
}
