/**
 * Engine benchmark: one op = judge all five diagnostics of the payment runbook + one decide.
 * Prints one JSON object. Run with `npm run bench:engine`.
 */

import { paymentRunbook } from '../scripts/harness/fixtures/payment-runbook.ts';
import { compileRunbook } from '../src/engine/compile.ts';
import type { DecisionInput } from '../src/engine/decide.ts';
import { decide } from '../src/engine/decide.ts';
import { judge } from '../src/engine/judge.ts';
import { RunbookSchema } from '../src/engine/runbook-schema.ts';
import type { Facts, Verdict } from '../src/engine/types.ts';

const ITERATIONS = 20_000;
const WARMUP = 5_000;
const ROUNDS = 5;
const TARGET_OPS_PER_SEC = 100_000;

const now = new Date('2024-05-01T10:00:00Z');
const facts: Record<string, Facts> = {
  check_pod_health: {
    value: 1,
    values: [
      { labels: { pod: 'payment-service-7d9f-abcde' }, value: 1 },
      { labels: { pod: 'payment-service-7d9f-fghij' }, value: 0 },
      { labels: { pod: 'payment-service-7d9f-klmno' }, value: 1 },
    ],
    count: 3,
    empty: false,
  },
  check_db_connections: { value: 96.4, values: [{ labels: {}, value: 96.4 }], count: 1, empty: false },
  check_error_rate: { value: 7.25, values: [{ labels: {}, value: 7.25 }], count: 1, empty: false },
  check_recent_deploy: {
    exit_code: 0,
    stdout: '{…}',
    stderr: '',
    lines: ['{…}'],
    json: {
      metadata: { name: 'payment-service', namespace: 'production' },
      status: {
        replicas: 3,
        conditions: [
          { type: 'Available', status: 'True', lastUpdateTime: '2024-04-30T08:00:00Z' },
          { type: 'Progressing', status: 'True', lastUpdateTime: '2024-05-01T09:48:00Z' },
        ],
      },
    },
  },
  check_downstream: {
    checks: [
      { name: 'stripe', url: 'https://api.stripe.com/healthcheck', status: 200, ok: true, latency_ms: 180 },
      {
        name: 'fraud-service',
        url: 'http://fraud-service.production:8080/health',
        status: 200,
        ok: true,
        latency_ms: 35,
      },
    ],
    all_healthy: true,
    any_unreachable: false,
    max_latency_ms: 180,
    slow_count: 0,
    min_cert_days: 61,
  },
};

const compiledResult = compileRunbook(RunbookSchema.parse(paymentRunbook));
if (!compiledResult.ok) throw new Error(`fixture does not compile: ${JSON.stringify(compiledResult.issues)}`);
const compiled = compiledResult.compiled;
const stepIds = Object.keys(facts);
const base: Omit<DecisionInput, 'verdicts'> = {
  alert: {
    source: 'alertmanager',
    status: 'firing',
    labels: { alertname: 'PaymentServiceHighLatency', namespace: 'production' },
    annotations: {},
    fingerprint: 'b1f3c0a9d2e4',
    startsAt: '2024-05-01T09:58:00Z',
  },
  incident: { id: 'inc-1', severity: 'P1', service: 'payment-service', createdAt: '2024-05-01T09:58:30Z' },
  now,
};

let sink = 0;
function op(): void {
  const verdicts: Record<string, Verdict> = {};
  for (const id of stepIds) verdicts[id] = judge(compiled, id, facts[id]!, 12, now);
  sink += decide(compiled, { ...base, verdicts }).remediations.length;
}

/**
 * Ops per second of this process's CPU time (user + system), not wall time: the target is per
 * core, and other processes on a shared machine must not count against the engine.
 */
function round(iterations: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) op();
  const used = process.cpuUsage(start);
  return iterations / ((used.user + used.system) / 1e6);
}

round(WARMUP);
const rates = Array.from({ length: ROUNDS }, () => round(ITERATIONS)).sort((a, b) => a - b);
const median = rates[Math.floor(ROUNDS / 2)]!;
if (sink === 0) throw new Error('decide chose nothing: the benchmark facts no longer match the rules');

console.log(
  JSON.stringify({
    benchmark: 'engine',
    iterations: ITERATIONS,
    opsPerSec: { median: Math.round(median), min: Math.round(rates[0]!), max: Math.round(rates.at(-1)!) },
    judgeDecideMedianUs: Number((1e6 / median).toFixed(2)),
    targetOpsPerSec: TARGET_OPS_PER_SEC,
    meetsTarget: median >= TARGET_OPS_PER_SEC,
    node: process.version,
  }),
);
