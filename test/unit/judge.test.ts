import { describe, expect, it } from 'vitest';
import { compileRunbook } from '../../src/engine/compile.ts';
import { errorVerdict, judge, overallStatus } from '../../src/engine/judge.ts';
import { RunbookSchema } from '../../src/engine/runbook-schema.ts';
import type { Facts, Verdict, VerdictStatus } from '../../src/engine/types.ts';
import { NotFoundError } from '../../src/errors.ts';

const NOW = new Date('2024-05-01T10:00:00Z');

const prometheus = (id: string, interpret: Record<string, string>) => ({
  id,
  name: id,
  type: 'prometheus_query' as const,
  config: { query: 'up' },
  interpret,
});

const parsed = compileRunbook(
  RunbookSchema.parse({
    id: 'judge-cases',
    name: 'Judge cases',
    severity: 'P3',
    service: 'api',
    triggers: [{ type: 'manual' }],
    diagnostics: [
      prometheus('db', { critical: 'value >= 90', warning: 'value >= 70', healthy: 'value < 70' }),
      prometheus('overlap', { healthy: 'value >= 0', warning: 'value > 5', critical: 'value > 10' }),
      prometheus('js_style', { critical: 'count === 0', healthy: 'count !== 0' }),
      prometheus('partial', { critical: 'value > 90' }),
      prometheus('not_bool', { healthy: 'value' }),
      {
        id: 'deploy',
        name: 'deploy',
        type: 'shell_command',
        config: { command: ['kubectl', 'get', 'deployment', 'api', '-o', 'json'] },
        interpret: {
          critical: "exit_code == 0 && now - timestamp(json.updated) < duration('5m')",
          warning: "exit_code == 0 && now - timestamp(json.updated) < duration('30m')",
          healthy: 'exit_code == 0',
        },
      },
      {
        id: 'web',
        name: 'web',
        type: 'http_check',
        config: { urls: [{ name: 'api', url: 'http://127.0.0.1:1/health' }] },
        interpret: {
          critical: 'any_unreachable',
          warning: 'slow_count > 0 || (min_cert_days != null && min_cert_days < 14)',
          healthy: 'all_healthy',
        },
      },
    ],
    decisionTree: [],
    remediations: [],
    escalation: { primary: '#api' },
  }),
);
if (!parsed.ok) throw new Error(`test runbook does not compile: ${JSON.stringify(parsed.issues)}`);
const compiled = parsed.compiled;

const web = (over: Facts): Facts => ({
  checks: [],
  all_healthy: true,
  any_unreachable: false,
  max_latency_ms: 40,
  slow_count: 0,
  min_cert_days: null,
  ...over,
});
const deployed = (updated: string, exit_code = 0): Facts => ({
  exit_code,
  stdout: '',
  stderr: '',
  lines: [],
  json: { updated },
});

describe('judge', () => {
  it.each<[string, string, Facts, Omit<Verdict, 'stepId' | 'facts' | 'durationMs'>]>([
    [
      'critical',
      'db',
      { value: 96 },
      { status: 'critical', matched: { level: 'critical', expression: 'value >= 90' } },
    ],
    [
      'warning',
      'db',
      { value: 70 },
      { status: 'warning', matched: { level: 'warning', expression: 'value >= 70' } },
    ],
    [
      'healthy',
      'db',
      { value: 12.5 },
      { status: 'healthy', matched: { level: 'healthy', expression: 'value < 70' } },
    ],
    [
      'critical is tried first, then warning, then healthy, whatever the written order',
      'overlap',
      { value: 20 },
      { status: 'critical', matched: { level: 'critical', expression: 'value > 10' } },
    ],
    [
      'the first true level wins',
      'overlap',
      { value: 7 },
      { status: 'warning', matched: { level: 'warning', expression: 'value > 5' } },
    ],
    [
      '=== is accepted',
      'js_style',
      { count: 0 },
      { status: 'critical', matched: { level: 'critical', expression: 'count === 0' } },
    ],
    [
      '!== is accepted',
      'js_style',
      { count: 2 },
      { status: 'healthy', matched: { level: 'healthy', expression: 'count !== 0' } },
    ],
    [
      'none true is unknown, never healthy',
      'partial',
      { value: 10 },
      { status: 'unknown', message: 'no interpret expression matched (value = 10)' },
    ],
    [
      'NaN matches nothing',
      'db',
      { value: Number.NaN },
      { status: 'unknown', message: 'no interpret expression matched (value = NaN)' },
    ],
    [
      'a null fact is an error, not a silent false',
      'db',
      { value: null },
      {
        status: 'error',
        message:
          'critical expression failed: no such overload: dyn<null> >= int — value is null (at column 1 of `value >= 90`)',
      },
    ],
    [
      'a missing fact is an error',
      'db',
      {},
      {
        status: 'error',
        message: 'critical expression failed: Unknown variable: value (at column 1 of `value >= 90`)',
      },
    ],
    [
      'a result that is not a bool is an error',
      'not_bool',
      { value: 3 },
      { status: 'error', message: 'healthy expression failed: expected a bool, got double (in `value`)' },
    ],
    [
      'interpret sees now: deployed 3 minutes ago',
      'deploy',
      deployed('2024-05-01T09:57:00Z'),
      {
        status: 'critical',
        matched: {
          level: 'critical',
          expression: "exit_code == 0 && now - timestamp(json.updated) < duration('5m')",
        },
      },
    ],
    [
      'interpret sees now: deployed 20 minutes ago',
      'deploy',
      deployed('2024-05-01T09:40:00Z'),
      {
        status: 'warning',
        matched: {
          level: 'warning',
          expression: "exit_code == 0 && now - timestamp(json.updated) < duration('30m')",
        },
      },
    ],
    [
      'interpret sees now: deployed yesterday',
      'deploy',
      deployed('2024-04-30T10:00:00Z'),
      { status: 'healthy', matched: { level: 'healthy', expression: 'exit_code == 0' } },
    ],
    [
      'kubectl failed',
      'deploy',
      deployed('2024-04-30T10:00:00Z', 1),
      {
        status: 'unknown',
        message: 'no interpret expression matched (exit_code = 1, json.updated = "2024-04-30T10:00:00Z")',
      },
    ],
    [
      'unreachable',
      'web',
      web({ any_unreachable: true, all_healthy: false }),
      { status: 'critical', matched: { level: 'critical', expression: 'any_unreachable' } },
    ],
    [
      'a certificate close to expiry',
      'web',
      web({ min_cert_days: 9 }),
      {
        status: 'warning',
        matched: {
          level: 'warning',
          expression: 'slow_count > 0 || (min_cert_days != null && min_cert_days < 14)',
        },
      },
    ],
    [
      'a bad status but reachable and fast',
      'web',
      web({ all_healthy: false }),
      {
        status: 'unknown',
        message:
          'no interpret expression matched (any_unreachable = false, slow_count = 0, min_cert_days = null, all_healthy = false)',
      },
    ],
  ])('%s', (_name, stepId, facts, expected) => {
    expect(judge(compiled, stepId, facts, 12, NOW)).toEqual({ stepId, facts, durationMs: 12, ...expected });
  });

  it('leaves durationMs out when it is not given', () => {
    expect(Object.keys(judge(compiled, 'db', { value: 1 }, undefined, NOW))).toEqual([
      'stepId',
      'status',
      'matched',
      'facts',
    ]);
  });

  it('throws on a step the runbook does not have (a bug in the caller)', () => {
    expect(() => judge(compiled, 'nope', {}, undefined, NOW)).toThrow(
      new NotFoundError("diagnostic 'nope' in runbook 'judge-cases'"),
    );
  });
});

describe('errorVerdict', () => {
  it.each<[string, string, number | undefined, Verdict]>([
    [
      'db',
      'timed out after 10 s',
      10_000,
      { stepId: 'db', status: 'error', facts: {}, message: 'timed out after 10 s', durationMs: 10_000 },
    ],
    [
      'web',
      'connect ECONNREFUSED',
      undefined,
      { stepId: 'web', status: 'error', facts: {}, message: 'connect ECONNREFUSED' },
    ],
  ])('%s: %s', (stepId, message, durationMs, expected) => {
    expect(errorVerdict(stepId, message, durationMs)).toStrictEqual(expected);
  });
});

describe('overallStatus', () => {
  it.each<[VerdictStatus[], VerdictStatus]>([
    [[], 'unknown'],
    [['healthy'], 'healthy'],
    [['healthy', 'unknown'], 'unknown'],
    [['unknown', 'warning', 'healthy'], 'warning'],
    [['warning', 'error'], 'error'],
    [['error', 'critical', 'warning'], 'critical'],
    [['healthy', 'healthy', 'critical'], 'critical'],
  ])('%j → %s', (statuses, expected) => {
    const verdicts = statuses.map((status, i): Verdict => ({ stepId: `s${i}`, status, facts: {} }));
    expect(overallStatus(verdicts)).toBe(expected);
  });
});
