import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIssue, parseRunbook } from '../../src/engine/runbook-parse.ts';
import {
  formatTestResult,
  type RunbookTestDefaults,
  runTestCase,
  TestCaseSchema,
} from '../../src/engine/runbook-test.ts';

const DB_RUNBOOK = 'test/fixtures/runbook-test-db.yaml';

const parsed = parseRunbook(readFileSync(DB_RUNBOOK, 'utf8'), DB_RUNBOOK);
if (!parsed.ok)
  throw new Error(`test bug: DB_RUNBOOK does not load:\n${parsed.issues.map(formatIssue).join('\n')}`);
const compiled = parsed.compiled;

describe('runTestCase', () => {
  it.each([
    {
      name: 'facts are judged by the runbook',
      testCase: {
        diagnostics: { pool: { facts: { value: 96 } }, pods: { facts: { value: 3 } } },
        expect: {
          verdicts: { pool: 'critical', pods: 'healthy' },
          overall: 'critical',
          remediations: ['kill_idle', 'scale_pool'],
          approvals: ['kill_idle'],
          escalate: false,
        },
      },
      failures: [],
    },
    {
      name: 'a forced verdict',
      testCase: {
        diagnostics: { pool: { verdict: 'healthy' }, pods: { verdict: 'critical' } },
        expect: { remediations: ['restart', 'page'], approvals: ['restart'], escalate: true },
      },
      failures: [],
    },
    {
      name: 'an executor error is verdict error',
      testCase: {
        diagnostics: { pool: { error: 'connection refused' }, pods: { verdict: 'healthy' } },
        expect: { verdicts: { pool: 'error' }, overall: 'error', remediations: ['page'] },
      },
      failures: [],
    },
    {
      name: 'defaults.verdict fills the diagnostics a case leaves out',
      defaults: { verdict: 'healthy' },
      testCase: { expect: { overall: 'healthy', remediations: ['page'] } },
      failures: [],
    },
    {
      name: 'case labels are added to the default alertname',
      testCase: {
        alert: { labels: { namespace: 'production' } },
        diagnostics: { pool: { facts: { value: 75 } }, pods: { verdict: 'healthy' } },
        expect: { remediations: ['scale_pool'] },
      },
      failures: [],
    },
    {
      name: 'a case alertname replaces the default',
      testCase: {
        alert: { labels: { alertname: 'Other', namespace: 'production' } },
        diagnostics: { pool: { facts: { value: 75 } }, pods: { verdict: 'healthy' } },
        expect: { remediations: ['page'] },
      },
      failures: [],
    },
    {
      name: 'approvals in any order',
      testCase: {
        diagnostics: { pool: { verdict: 'critical' }, pods: { verdict: 'critical' } },
        expect: { approvals: ['restart', 'kill_idle'] },
      },
      failures: [],
    },
    {
      name: 'every expectation that does not hold is a failure',
      testCase: {
        diagnostics: { pool: { facts: { value: 96 } }, pods: { verdict: 'healthy' } },
        expect: {
          verdicts: { pool: 'warning', pods: 'healthy' },
          overall: 'warning',
          remediations: ['scale_pool'],
          approvals: [],
          escalate: true,
        },
      },
      failures: [
        { field: 'verdicts.pool', expected: 'warning', actual: 'critical' },
        { field: 'overall', expected: 'warning', actual: 'critical' },
        { field: 'remediations', expected: ['scale_pool'], actual: ['kill_idle', 'scale_pool'] },
        { field: 'approvals', expected: [], actual: ['kill_idle'] },
        { field: 'escalate', expected: true, actual: false },
      ],
    },
    {
      name: 'remediations are compared in order',
      testCase: {
        diagnostics: { pool: { verdict: 'critical' }, pods: { verdict: 'healthy' } },
        expect: { remediations: ['scale_pool', 'kill_idle'] },
      },
      failures: [
        { field: 'remediations', expected: ['scale_pool', 'kill_idle'], actual: ['kill_idle', 'scale_pool'] },
      ],
    },
    {
      name: 'a diagnostic with no result and no default',
      testCase: { diagnostics: { pool: { verdict: 'healthy' } }, expect: { overall: 'healthy' } },
      failures: [{ field: 'diagnostics.pods', expected: 'a result in the case', actual: 'none' }],
    },
  ])('$name', ({ name, testCase, defaults, failures }) => {
    const result = runTestCase(
      compiled,
      TestCaseSchema.parse({ name, ...testCase }),
      defaults as RunbookTestDefaults | undefined,
    );
    expect(result).toEqual({ name, passed: failures.length === 0, failures });
  });
});

const ROLLOUT_RUNBOOK = `id: rollout
name: Rollout
severity: P3
service: api
triggers: [{ type: manual }]
diagnostics:
  - id: deploy
    name: Last rollout
    type: shell_command
    config: { command: [kubectl, get, deploy, api, -o, json] }
    interpret:
      warning: now - timestamp(json.at) < duration("30m")
      healthy: now - timestamp(json.at) >= duration("30m")
decisionTree: []
remediations: []
escalation: { primary: '#api' }
`;

describe('runTestCase: now', () => {
  const rollout = parseRunbook(ROLLOUT_RUNBOOK, 'rollout.yaml');
  it.each([
    { name: 'the default now is 2025-01-01T12:00:00Z', now: undefined, verdict: 'warning' },
    { name: 'a case sets now for interpret', now: '2025-01-01T13:00:00Z', verdict: 'healthy' },
  ])('$name', ({ name, now, verdict }) => {
    if (!rollout.ok)
      throw new Error(`test bug: ROLLOUT_RUNBOOK does not load: ${rollout.issues.map(formatIssue)}`);
    const testCase = TestCaseSchema.parse({
      name,
      now,
      diagnostics: { deploy: { facts: { json: { at: '2025-01-01T11:45:00Z' } } } },
      expect: { verdicts: { deploy: verdict } },
    });
    expect(runTestCase(rollout.compiled, testCase)).toEqual({ name, passed: true, failures: [] });
  });
});

describe('formatTestResult', () => {
  it.each([
    { result: { name: 'ok', passed: true, failures: [] }, lines: ['✓ db › ok'] },
    {
      result: {
        name: 'pool',
        passed: false,
        failures: [
          { field: 'remediations', expected: ['a', 'b'], actual: [] },
          { field: 'verdicts.pods', expected: 'healthy', actual: undefined },
          { field: 'escalate', expected: true, actual: false },
        ],
      },
      lines: [
        '✗ db › pool',
        '    remediations',
        '      - expected: [a, b]',
        '      + actual:   []',
        '    verdicts.pods',
        '      - expected: healthy',
        '      + actual:   (none)',
        '    escalate',
        '      - expected: true',
        '      + actual:   false',
      ],
    },
  ])('$result.name', ({ result, lines }) => {
    expect(formatTestResult('db', result)).toEqual(lines);
  });
});
