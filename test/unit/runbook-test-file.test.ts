import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIssue, locateIssue, parseRunbook } from '../../src/engine/runbook-parse.ts';
import { checkRunbookTest, parseRunbookTestFile } from '../../src/engine/runbook-test.ts';

const DB_RUNBOOK = 'test/fixtures/runbook-test-db.yaml';
const parsed = parseRunbook(readFileSync(DB_RUNBOOK, 'utf8'), DB_RUNBOOK);
if (!parsed.ok)
  throw new Error(`test bug: DB_RUNBOOK does not load:\n${parsed.issues.map(formatIssue).join('\n')}`);
const compiled = parsed.compiled;

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
