import { describe, expect, it } from 'vitest';
import { formatIssue, locateIssue, parseRunbook } from '../../src/engine/runbook-parse.ts';
import {
  checkRunbookTest,
  formatTestResult,
  parseRunbookTestFile,
  type RunbookTestDefaults,
  runTestCase,
  TestCaseSchema,
} from '../../src/engine/runbook-test.ts';

const DB_RUNBOOK = `id: db
name: DB
severity: P1
service: payments-db
triggers:
  - type: alert
    alertName: DbSlow
diagnostics:
  - id: pool
    name: Pool
    type: prometheus_query
    config: { query: pool_usage }
    interpret:
      critical: value >= 90
      warning: value >= 70
      healthy: value < 70
  - id: pods
    name: Pods
    type: prometheus_query
    config: { query: pods_ready }
    interpret:
      critical: value == 0
      healthy: value > 0
decisionTree:
  - condition: diagnostics.pool.status == 'critical'
    then: [kill_idle, scale_pool]
  - condition: diagnostics.pods.status == 'critical'
    then: [restart, page]
  - condition: >-
      alert.labels.alertname == 'DbSlow' && alert.labels.namespace == 'production'
      && diagnostics.pool.status == 'warning'
    then: [scale_pool]
  - otherwise: true
    then: [page]
remediations:
  - id: kill_idle
    name: Kill idle
    type: automated
    requiresApproval: true
    action: { type: run_script, config: { command: [psql, -c, select 1] } }
  - id: scale_pool
    name: Scale pool
    type: manual
    instructions: Raise max_connections.
  - id: restart
    name: Restart
    type: automated
    requiresApproval: true
    action: { type: restart_service, config: { deployment: api, namespace: prod } }
  - id: page
    name: Page
    type: escalate
escalation:
  primary: '#db'
`;

const parsed = parseRunbook(DB_RUNBOOK, 'db.yaml');
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

const VALID_TEST = `runbook: db
cases:
  - name: pool exhausted
    diagnostics:
      pool: { facts: { value: 96 } }
      pods: { verdict: healthy }
    expect:
      overall: critical
`;

describe('parseRunbookTestFile', () => {
  it.each([
    { change: 'none', from: '', to: '', issues: [] },
    {
      change: 'a misspelt key',
      from: '    expect:',
      to: '    expcet:',
      issues: [
        't.yaml:3:5: cases[0].expect: expected a mapping; got nothing (missing key)',
        "t.yaml:7:5: cases[0].expcet: unknown key 'expcet'; allowed keys: name, now, alert, diagnostics, expect",
      ],
    },
    {
      change: 'a verdict that does not exist',
      from: 'verdict: healthy',
      to: 'verdict: fine',
      issues: [
        't.yaml:6:15: cases[0].diagnostics.pods.verdict: expected one of healthy, warning, critical, unknown, error; got "fine"',
      ],
    },
    {
      change: 'error together with facts',
      from: 'pods: { verdict: healthy }',
      to: 'pods: { error: refused, facts: {} }',
      issues: [
        't.yaml:6:7: cases[0].diagnostics.pods: expected facts (judged by the runbook), verdict (forced; facts optional), or error (the check failed) alone',
      ],
    },
    {
      change: 'nothing expected',
      from: '      overall: critical\n',
      to: '      {}\n',
      issues: [
        't.yaml:7:5: cases[0].expect: expect needs at least one of verdicts, overall, remediations, approvals, escalate',
      ],
    },
    {
      change: 'two cases with one name',
      from: '',
      to: '  - name: pool exhausted\n    expect: { overall: healthy }\n',
      issues: ["t.yaml:9:5: cases[1].name: duplicate case name 'pool exhausted'"],
    },
    {
      change: 'a label that is a number is read as text',
      from: '    diagnostics:',
      to: '    alert: { labels: { code: 500 } }\n    diagnostics:',
      issues: [],
    },
  ])('$change', ({ from, to, issues }) => {
    const text = from === '' ? VALID_TEST + to : VALID_TEST.replace(from, to);
    const result = parseRunbookTestFile(text, 't.yaml');
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual(issues);
  });
});

describe('checkRunbookTest', () => {
  it.each([
    { change: 'none', defaults: '', from: '', to: '', issues: [] },
    {
      change: 'a diagnostic the runbook does not have',
      defaults: '',
      from: '      pods: { verdict: healthy }',
      to: '      pods: { verdict: healthy }\n      disk: { verdict: healthy }',
      issues: ["t.yaml:7:7: cases[0].diagnostics.disk: unknown diagnostic 'disk'"],
    },
    {
      change: 'a diagnostic left out, without defaults',
      defaults: '',
      from: '      pods: { verdict: healthy }\n',
      to: '',
      issues: [
        "t.yaml:4:5: cases[0].diagnostics: no result for diagnostic 'pods' (give one, or set defaults.verdict)",
      ],
    },
    {
      change: 'a diagnostic left out, with defaults',
      defaults: 'defaults: { verdict: healthy }\n',
      from: '      pods: { verdict: healthy }\n',
      to: '',
      issues: [],
    },
    {
      change: 'expected verdict of an unknown diagnostic',
      defaults: '',
      from: '      overall: critical',
      to: '      verdicts: { dsik: critical }',
      issues: ["t.yaml:8:19: cases[0].expect.verdicts.dsik: unknown diagnostic 'dsik'"],
    },
    {
      change: 'unknown remediations and approvals',
      defaults: '',
      from: '      overall: critical',
      to: '      remediations: [kill_idle, reboot]\n      approvals: [reboot]',
      issues: [
        "t.yaml:8:33: cases[0].expect.remediations[1]: unknown remediation 'reboot'",
        "t.yaml:9:19: cases[0].expect.approvals[0]: unknown remediation 'reboot'",
      ],
    },
  ])('$change', ({ defaults, from, to, issues }) => {
    const text = defaults + (from === '' ? VALID_TEST : VALID_TEST.replace(from, to));
    const result = parseRunbookTestFile(text, 't.yaml');
    if (!result.ok) throw new Error(`test bug: test file does not parse: ${result.issues.map(formatIssue)}`);
    const found = checkRunbookTest(result.test, compiled).map((i) =>
      formatIssue(locateIssue(result.source, i)),
    );
    expect(found).toEqual(issues);
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
