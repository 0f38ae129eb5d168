import { describe, expect, it } from 'vitest';
import { paymentRunbook } from '../../scripts/harness/fixtures/payment-runbook.ts';
import type { CompiledRunbook } from '../../src/engine/compile.ts';
import { compileRunbook } from '../../src/engine/compile.ts';
import type { DecisionInput } from '../../src/engine/decide.ts';
import { ABSENT, decide, NO_VERDICT, planRemediations } from '../../src/engine/decide.ts';
import type { RunbookInput } from '../../src/engine/runbook-schema.ts';
import { RunbookSchema } from '../../src/engine/runbook-schema.ts';
import type { Decision, PlanStep, RuleRationale, Verdict, VerdictStatus } from '../../src/engine/types.ts';

const NOW = new Date('2024-05-01T10:00:00Z');

const prometheus = (id: string) => ({
  id,
  name: id,
  type: 'prometheus_query' as const,
  config: { query: 'up' },
  interpret: { critical: 'value >= 90', warning: 'value >= 70', healthy: 'value < 70' },
});
const k8s = { deployment: 'api', namespace: 'production' };

const runbookInput: RunbookInput = {
  id: 'api-slow',
  name: 'API slow',
  severity: 'P2',
  service: 'api',
  triggers: [{ type: 'manual' }],
  diagnostics: [prometheus('db'), prometheus('pods')],
  decisionTree: [
    {
      condition: "diagnostics.db.status == 'critical'",
      then: ['kill_idle', 'scale_pool'],
      description: 'pool full',
    },
    {
      condition: "diagnostics.pods.status == 'critical'",
      then: ['restart', 'scale_pool'],
      description: 'pods down',
    },
    {
      condition:
        "has(alert.labels.namespace) && alert.labels.namespace == 'production' && diagnostics.pods.status == 'warning'",
      then: ['restart'],
      stop: true,
      description: 'production pods degraded: restart and stop here',
    },
    { condition: "alert.labels.team == 'payments'", then: ['notify'], description: 'payments team alert' },
    { condition: 'diagnostics.db.facts.value > 95', then: ['page'], description: 'pool far past its limit' },
    { otherwise: true, then: ['page'], description: 'nothing recognised: page a human' },
  ],
  remediations: [
    {
      id: 'kill_idle',
      name: 'Kill idle connections',
      type: 'automated',
      action: { type: 'run_script', config: { database: 'main', sql: 'SELECT 1' } },
    },
    {
      id: 'scale_pool',
      name: 'Scale the pool',
      type: 'automated',
      requiresApproval: true,
      action: { type: 'scale_up', config: { ...k8s, replicas: 4, maxReplicas: 6 } },
    },
    { id: 'restart', name: 'Restart', type: 'automated', action: { type: 'restart_service', config: k8s } },
    {
      id: 'notify',
      name: 'Tell payments',
      type: 'automated',
      action: { type: 'notify', config: { channel: '#pay' } },
    },
    { id: 'page', name: 'Page on-call', type: 'escalate' },
    {
      id: 'breaker',
      name: 'Open the breaker',
      type: 'manual',
      instructions: 'Set BREAKER=open and watch p99.',
    },
    {
      id: 'manual_rollback',
      name: 'Roll back by hand',
      type: 'manual',
      requiresApproval: true,
      instructions: 'kubectl rollout undo deployment/api -n production',
    },
  ],
  escalation: { primary: '#api' },
};

function compileOrThrow(input: RunbookInput): CompiledRunbook {
  const result = compileRunbook(RunbookSchema.parse(input));
  if (!result.ok) throw new Error(`does not compile: ${JSON.stringify(result.issues)}`);
  return result.compiled;
}
const compiled = compileOrThrow(runbookInput);

const verdict = (stepId: string, status: VerdictStatus, value: number | null): Verdict => ({
  stepId,
  status,
  facts: { value, values: [], count: value === null ? 0 : 1, empty: value === null },
});

function input(verdicts: Verdict[], labels: Record<string, string> = {}): DecisionInput {
  return {
    verdicts: Object.fromEntries(verdicts.map((v) => [v.stepId, v])),
    alert: {
      source: 'alertmanager',
      status: 'firing',
      labels,
      annotations: {},
      fingerprint: 'f00d',
      startsAt: '2024-05-01T09:50:00Z',
    },
    incident: { id: 'inc-1', severity: 'P2', service: 'api', createdAt: '2024-05-01T09:15:00Z' },
    now: NOW,
  };
}

/** Per evaluated rule: true (held), false (did not), 'error' (failed), 'stop' (held and stopped). */
type Outcome = boolean | 'error' | 'stop';
const outcomes = (d: Decision): Outcome[] =>
  d.rationale.map((r) => (r.error ? 'error' : r.stopped ? 'stop' : r.matched));

describe('decide', () => {
  it.each<[string, Verdict[], Record<string, string>, string[], Outcome[], boolean]>([
    [
      'every holding rule contributes, in rule order; a failing rule counts as not held',
      [verdict('db', 'critical', 96), verdict('pods', 'healthy', 10)],
      {},
      ['kill_idle', 'scale_pool', 'page'],
      [true, false, false, 'error', true, false],
      false,
    ],
    [
      'ids that several rules name appear once, where first named',
      [verdict('db', 'critical', 91), verdict('pods', 'critical', 99)],
      { team: 'payments' },
      ['kill_idle', 'scale_pool', 'restart', 'notify'],
      [true, true, false, true, false, false],
      false,
    ],
    [
      'stop ends the walk: later rules are not evaluated',
      [verdict('db', 'critical', 99), verdict('pods', 'warning', 75)],
      { namespace: 'production', team: 'payments' },
      ['kill_idle', 'scale_pool', 'restart'],
      [true, false, 'stop'],
      false,
    ],
    [
      'a stop rule that does not hold does not stop',
      [verdict('db', 'healthy', 20), verdict('pods', 'warning', 75)],
      { namespace: 'staging', team: 'payments' },
      ['notify'],
      [false, false, false, true, false, false],
      false,
    ],
    [
      'otherwise applies when no condition held (errors included)',
      [verdict('db', 'healthy', 20), verdict('pods', 'healthy', 5)],
      {},
      ['page'],
      [false, false, false, 'error', false, true],
      true,
    ],
    [
      'a diagnostic without verdict is status error with no facts',
      [verdict('pods', 'healthy', 5)],
      { team: 'ops' },
      ['page'],
      [false, false, false, false, 'error', true],
      true,
    ],
  ])('%s', (_name, verdicts, labels, remediations, expected, otherwiseApplied) => {
    const decision = decide(compiled, input(verdicts, labels));
    expect(outcomes(decision)).toEqual(expected);
    expect(decision.remediations).toEqual(remediations);
    expect(decision.otherwiseApplied).toBe(otherwiseApplied);
  });

  it('records each evaluated rule with its condition, the values it read, its error and its then', () => {
    const decision = decide(compiled, input([verdict('pods', 'warning', 75)], { namespace: 'production' }));
    expect(decision).toEqual({
      remediations: ['restart'],
      otherwiseApplied: false,
      rationale: [
        {
          index: 0,
          description: 'pool full',
          condition: "diagnostics.db.status == 'critical'",
          matched: false,
          values: { 'diagnostics.db': NO_VERDICT, 'diagnostics.db.status': 'error' },
          then: ['kill_idle', 'scale_pool'],
        },
        {
          index: 1,
          description: 'pods down',
          condition: "diagnostics.pods.status == 'critical'",
          matched: false,
          values: { 'diagnostics.pods.status': 'warning' },
          then: ['restart', 'scale_pool'],
        },
        {
          index: 2,
          description: 'production pods degraded: restart and stop here',
          condition:
            "has(alert.labels.namespace) && alert.labels.namespace == 'production' && diagnostics.pods.status == 'warning'",
          matched: true,
          values: { 'alert.labels.namespace': 'production', 'diagnostics.pods.status': 'warning' },
          then: ['restart'],
          stopped: true,
        },
      ],
    } satisfies Decision);
  });

  it.each<[string, Verdict[], Record<string, string>, number, RuleRationale]>([
    [
      'a missing label',
      [verdict('db', 'healthy', 20), verdict('pods', 'healthy', 5)],
      {},
      3,
      {
        index: 3,
        description: 'payments team alert',
        condition: "alert.labels.team == 'payments'",
        matched: false,
        values: { 'alert.labels.team': ABSENT },
        error: "No such key: team (at column 14 of `alert.labels.team == 'payments'`)",
        then: ['notify'],
      },
    ],
    [
      'a null fact',
      [verdict('db', 'unknown', null), verdict('pods', 'healthy', 5)],
      {},
      4,
      {
        index: 4,
        description: 'pool far past its limit',
        condition: 'diagnostics.db.facts.value > 95',
        matched: false,
        values: { 'diagnostics.db.facts.value': null },
        error:
          'no such overload: dyn<null> > int — diagnostics.db.facts.value is null (at column 1 of `diagnostics.db.facts.value > 95`)',
        then: ['page'],
      },
    ],
    [
      'facts of a diagnostic without verdict',
      [verdict('pods', 'healthy', 5)],
      {},
      4,
      {
        index: 4,
        description: 'pool far past its limit',
        condition: 'diagnostics.db.facts.value > 95',
        matched: false,
        values: { 'diagnostics.db': NO_VERDICT, 'diagnostics.db.facts.value': ABSENT },
        error: 'No such key: value (at column 22 of `diagnostics.db.facts.value > 95`)',
        then: ['page'],
      },
    ],
  ])('records the evaluation error of %s', (_name, verdicts, labels, index, expected) => {
    expect(decide(compiled, input(verdicts, labels)).rationale[index]).toEqual(expected);
  });

  it('lets conditions read incident (with its age in minutes) and now', () => {
    const timed = compileOrThrow({
      ...runbookInput,
      decisionTree: [
        {
          condition:
            "incident.ageMinutes > 30 && incident.severity == 'P2' && now > timestamp(incident.createdAt)",
          then: ['page'],
        },
      ],
    });
    expect(decide(timed, input([])).rationale[0]?.values).toEqual({
      'incident.ageMinutes': 45,
      'incident.severity': 'P2',
      now: '2024-05-01T10:00:00.000Z',
      'incident.createdAt': '2024-05-01T09:15:00Z',
    });
    expect(decide(timed, input([])).remediations).toEqual(['page']);
  });

  it('decides the payment runbook: pool exhausted right after a deploy', () => {
    const payment = compileOrThrow(paymentRunbook);
    const verdicts = [
      { stepId: 'check_pod_health', status: 'healthy' },
      { stepId: 'check_db_connections', status: 'critical' },
      { stepId: 'check_error_rate', status: 'critical' },
      { stepId: 'check_recent_deploy', status: 'warning' },
      { stepId: 'check_downstream', status: 'healthy' },
    ] as const;
    const decision = decide(payment, input(verdicts.map((v) => ({ ...v, facts: {} }))));
    expect(decision.remediations).toEqual([
      'kill_idle_connections',
      'scale_db_connections',
      'rollback_deployment',
    ]);
    expect(outcomes(decision)).toEqual([true, true, false, false, false]);
  });
});

describe('planRemediations', () => {
  const runbook = RunbookSchema.parse(runbookInput);
  it.each<[string[], PlanStep[]]>([
    [[], []],
    [
      ['kill_idle', 'scale_pool', 'page'],
      [
        {
          stepId: 'kill_idle',
          name: 'Kill idle connections',
          kind: 'automated',
          state: 'pending',
          actionType: 'run_script',
        },
        {
          stepId: 'scale_pool',
          name: 'Scale the pool',
          kind: 'approval',
          state: 'awaiting_approval',
          actionType: 'scale_up',
        },
        { stepId: 'page', name: 'Page on-call', kind: 'escalate', state: 'pending' },
      ],
    ],
    [
      ['breaker', 'manual_rollback', 'notify'],
      [
        {
          stepId: 'breaker',
          name: 'Open the breaker',
          kind: 'manual',
          state: 'pending',
          instructions: 'Set BREAKER=open and watch p99.',
        },
        {
          stepId: 'manual_rollback',
          name: 'Roll back by hand',
          kind: 'approval',
          state: 'awaiting_approval',
          instructions: 'kubectl rollout undo deployment/api -n production',
        },
        {
          stepId: 'notify',
          name: 'Tell payments',
          kind: 'automated',
          state: 'pending',
          actionType: 'notify',
        },
      ],
    ],
  ])('%j', (remediations, expected) => {
    const decision: Decision = { remediations, rationale: [], otherwiseApplied: false };
    expect(planRemediations(runbook, decision)).toStrictEqual(expected);
  });

  it('throws on an id the runbook does not define (decide never produces one)', () => {
    const decision: Decision = { remediations: ['nope'], rationale: [], otherwiseApplied: false };
    expect(() => planRemediations(runbook, decision)).toThrow("decision names remediation 'nope'");
  });
});
