/**
 * Engine benchmark: one op = judge all five diagnostics of the payment runbook + one decide.
 * Baseline, same run and same timing: the runbook's expressions and rules written by hand in plain
 * JS (bench/engine-baseline.ts), checked at start to give the same verdicts and decision as the
 * engine on the bench's facts and on variants that reach every level and rule (the bench fails
 * otherwise). Both in ops per second of CPU time, median of rounds, their rounds interleaved.
 * Prints one JSON object. Run with `npm run bench:engine`.
 */

import { paymentRunbook } from '../scripts/harness/fixtures/payment-runbook.ts';
import { compileRunbook } from '../src/engine/compile.ts';
import type { DecisionInput } from '../src/engine/decide.ts';
import { decide } from '../src/engine/decide.ts';
import { judge } from '../src/engine/judge.ts';
import { RunbookSchema } from '../src/engine/runbook-schema.ts';
import type { Facts, Verdict } from '../src/engine/types.ts';
import { type HandOutcome, handJudgeDecide } from './engine-baseline.ts';

const ITERATIONS = 20_000;
const WARMUP = 5_000;
const ROUNDS = 5;
/** The hand-written op is far cheaper: more of them per round, so a round is not a few ms. */
const BASELINE_ITERATIONS = 400_000;
/** Target: the engine's CPU time per op at most this many times the hand-written one's. */
const TARGET_RATIO = 10;
const DURATION_MS = 12;

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
  for (const id of stepIds) verdicts[id] = judge(compiled, id, facts[id]!, DURATION_MS, now);
  // The same input as `{ ...base, verdicts }`, built as a literal: V8 (Node 20) takes a slow path
  // for a spread followed by another property (~0.75 µs here, 2× the whole hand-written op),
  // which is the harness's cost, not the engine's.
  const input: DecisionInput = { alert: base.alert, incident: base.incident, now: base.now, verdicts };
  sink += decide(compiled, input).remediations.length;
}

function handOp(): void {
  sink += handJudgeDecide(facts, DURATION_MS, now).decision.remediations.length;
}

/** The engine's verdicts and decision for `input`, in the hand-written version's terms. */
function engineOutcome(input: Record<string, Facts>): HandOutcome {
  const verdicts: Record<string, Verdict> = {};
  for (const id of stepIds) verdicts[id] = judge(compiled, id, input[id]!, DURATION_MS, now);
  const decision = decide(compiled, { ...base, verdicts });
  return {
    verdicts,
    decision: {
      remediations: decision.remediations,
      matchedRules: decision.rationale.filter((r) => r.matched).map((r) => r.index),
      otherwiseApplied: decision.otherwiseApplied,
    },
  };
}

/** The bench's facts with one step's facts changed. */
const variant = (id: string, patch: Record<string, unknown>): Record<string, Facts> => ({
  ...facts,
  [id]: { ...facts[id]!, ...patch },
});
const deployAt = (lastUpdateTime: string) => ({
  json: {
    status: { conditions: [{ type: 'Progressing', status: 'True', lastUpdateTime }] },
  },
});
const downstreamCheck = (status: number) => ({
  checks: [{ name: 'stripe', url: 'https://api.stripe.com/healthcheck', status, ok: status < 400 }],
});

/** The bench's facts, then variants that reach every interpret level and every decision rule. */
const CHECKED_INPUTS: Record<string, Facts>[] = [
  facts,
  variant('check_pod_health', { values: [{ labels: {}, value: 0 }], value: 0 }),
  variant('check_pod_health', { values: [], count: 0, empty: true }),
  variant('check_pod_health', { values: [{ labels: {}, value: 1 }], value: 1 }),
  variant('check_pod_health', { values: [{ labels: {}, value: 0.5 }], value: 0.5 }),
  variant('check_db_connections', { value: 75 }),
  {
    ...variant('check_db_connections', { value: 12 }),
    check_error_rate: { ...facts.check_error_rate!, value: 2 },
  },
  {
    ...variant('check_db_connections', { value: 12 }),
    check_error_rate: { ...facts.check_error_rate!, value: 0.2 },
  },
  variant('check_db_connections', { value: 12 }),
  variant('check_recent_deploy', deployAt('2024-05-01T09:58:00Z')),
  variant('check_recent_deploy', deployAt('2024-05-01T08:00:00Z')),
  variant('check_recent_deploy', { exit_code: 1 }),
  variant('check_downstream', { any_unreachable: true, all_healthy: false }),
  variant('check_downstream', downstreamCheck(503)),
  variant('check_downstream', { slow_count: 1 }),
  variant('check_downstream', { min_cert_days: 3 }),
  variant('check_downstream', { min_cert_days: null }),
];

/**
 * What must agree: every verdict's step, status, matched level and expression, duration and facts
 * (the same object), and the decision. Not the words of an `unknown` verdict's message.
 */
function comparable({ verdicts, decision }: HandOutcome, input: Record<string, Facts>): string {
  const steps = Object.values(verdicts).map((v) => ({
    stepId: v.stepId,
    status: v.status,
    matched: v.matched ?? null,
    durationMs: v.durationMs,
    sameFacts: v.facts === input[v.stepId],
    message: v.message !== undefined,
  }));
  return JSON.stringify({ steps, decision });
}

/** Throws unless the hand-written op gives the engine's verdicts and decision on every checked input. */
function checkBaseline(): void {
  const seen = new Set<string>();
  for (const [i, input] of CHECKED_INPUTS.entries()) {
    const expected = engineOutcome(input);
    const actual = handJudgeDecide(input, DURATION_MS, now);
    const a = comparable(actual, input);
    const e = comparable(expected, input);
    if (a !== e)
      throw new Error(
        `hand-written baseline differs from the engine on input ${i}:\n  engine ${e}\n  hand   ${a}`,
      );
    for (const v of Object.values(expected.verdicts)) seen.add(`${v.stepId}=${v.status}`);
    for (const r of expected.decision.matchedRules) seen.add(`rule ${r}`);
  }
  const rules = Array.from({ length: compiled.runbook.decisionTree.length }, (_, r) => `rule ${r}`);
  const levels = stepIds.flatMap((id) => ['critical', 'warning', 'healthy'].map((level) => `${id}=${level}`));
  const missed = [...rules, ...levels].filter((r) => !seen.has(r));
  if (missed.length > 0) throw new Error(`the checked inputs never reach ${missed.join(', ')}`);
}

/**
 * Ops per second of this process's CPU time (user + system), not wall time: the target is per
 * core, and other processes on a shared machine must not count against the engine.
 */
function round(fn: () => void, iterations: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) fn();
  const used = process.cpuUsage(start);
  return iterations / ((used.user + used.system) / 1e6);
}

const summary = (rates: number[]) => {
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return {
    opsPerSec: { median: Math.round(median), min: Math.round(sorted[0]!), max: Math.round(sorted.at(-1)!) },
    judgeDecideMedianUs: Number((1e6 / median).toFixed(3)),
  };
};

checkBaseline();
round(op, WARMUP);
round(handOp, BASELINE_ITERATIONS / 4);
const engineRates: number[] = [];
const handRates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  engineRates.push(round(op, ITERATIONS));
  handRates.push(round(handOp, BASELINE_ITERATIONS));
}
if (sink === 0) throw new Error('decide chose nothing: the benchmark facts no longer match the rules');
const engine = summary(engineRates);
const hand = summary(handRates);
/** The engine's CPU time per op over the hand-written one's (= hand-written ops/s over the engine's). */
const ratio = Number((hand.opsPerSec.median / engine.opsPerSec.median).toFixed(2));
process.stderr.write(
  `[bench] engine ${engine.opsPerSec.median} ops/s, hand-written JS ${hand.opsPerSec.median} ops/s: ${ratio}× the time per op (target ≤ ${TARGET_RATIO}×)\n`,
);

console.log(
  JSON.stringify({
    benchmark: 'engine',
    iterations: ITERATIONS,
    ...engine,
    handWritten: {
      what: 'the payment runbook written by hand in plain JS (bench/engine-baseline.ts)',
      iterations: BASELINE_ITERATIONS,
      ...hand,
      checkedInputs: CHECKED_INPUTS.length,
    },
    /** Engine CPU time per op ÷ the hand-written one's. */
    ratio,
    targetRatio: TARGET_RATIO,
    meetsTarget: ratio <= TARGET_RATIO,
    node: process.version,
  }),
);
