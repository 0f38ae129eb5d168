import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CompiledRunbook } from '../../src/engine/compile.ts';
import { decide, planRemediations } from '../../src/engine/decide.ts';
import { errorVerdict, judge, overallStatus } from '../../src/engine/judge.ts';
import { decidedAt, replayIncident, testCaseFromIncident } from '../../src/engine/replay.ts';
import { formatIssue, parseRunbook } from '../../src/engine/runbook-parse.ts';
import { checkRunbookTest, parseRunbookTestFile, runTestCase } from '../../src/engine/runbook-test.ts';
import { appendTestCase, testCaseYaml } from '../../src/engine/runbook-test-yaml.ts';
import type { Alert, Facts, Incident, TimelineEvent, Verdict } from '../../src/engine/types.ts';
import { InvalidOperationError } from '../../src/errors.ts';

const DB_FILE = 'test/fixtures/runbook-test-db.yaml';
const DB_TEXT = readFileSync(DB_FILE, 'utf8');

function load(text: string): CompiledRunbook {
  const parsed = parseRunbook(text, DB_FILE);
  if (!parsed.ok)
    throw new Error(`test bug: runbook does not load:\n${parsed.issues.map(formatIssue).join('\n')}`);
  return parsed.compiled;
}
const db = load(DB_TEXT);
/** The same runbook after someone raised the pool's critical threshold from 90 to 99. */
const raised = load(DB_TEXT.replace('critical: value >= 90', 'critical: value >= 99'));

const OPENED = '2025-03-04T09:15:00.000Z';
const DECIDED = '2025-03-04T09:15:02.500Z';

const ALERT: Alert = {
  source: 'alertmanager',
  status: 'firing',
  labels: { alertname: 'DbSlow', namespace: 'production', code: '500' },
  annotations: { summary: 'p99 above 2 s' },
  fingerprint: 'f00d',
  startsAt: OPENED,
};

type Found = { facts: Facts } | { error: string };

/** An incident as the pipeline records it: each step judged, then decided and planned by `compiled`. */
function recordedIncident(found: Record<string, Found>, compiled = db): Incident {
  const now = new Date(DECIDED);
  const verdicts: Record<string, Verdict> = {};
  for (const [id, f] of Object.entries(found))
    verdicts[id] = 'error' in f ? errorVerdict(id, f.error, 40) : judge(compiled, id, f.facts, 40, now);
  const decision = decide(compiled, {
    verdicts,
    alert: ALERT,
    incident: { id: 'inc-1', severity: 'P1', service: 'payments-db', createdAt: OPENED },
    now,
  });
  return {
    id: 'inc-1',
    key: 'db:f00d',
    runbookId: 'db',
    runbookName: 'DB',
    service: 'payments-db',
    severity: 'P1',
    status: 'awaiting_approval',
    acknowledged: false,
    escalated: false,
    dryRun: false,
    createdAt: OPENED,
    updatedAt: DECIDED,
    alert: ALERT,
    verdicts,
    overall: overallStatus(Object.values(verdicts)),
    decision,
    plan: planRemediations(compiled.runbook, decision),
  };
}

/** A fact of every shape YAML could get wrong: numbers, strings that look like other things, nesting. */
const TRICKY: Facts = {
  value: 96.5,
  count: 3,
  tiny: 1e-7,
  huge: 1e21,
  sum: 0.1 + 0.2,
  negative: -12,
  zero: 0,
  empty: false,
  nothing: null,
  numeric_text: '0123',
  exponent_text: '1e3',
  bool_text: 'true',
  null_text: 'null',
  tilde: '~',
  blank: '',
  padded: '  spaced  ',
  stdout: 'line one\n\nline three\n',
  crlf: 'a\r\nb',
  tab: 'a\tb',
  colon: 'key: value # not a comment',
  dash: '- not a list',
  unicode: 'dépassé ✓ 🔥',
  long: 'x'.repeat(150),
  values: [{ labels: { pod: 'api-1', '1': 'one', 'a.b': 'dotted', '': 'empty key' }, value: 96.5 }, [], {}],
};

describe('testCaseFromIncident', () => {
  it('writes the recorded alert, facts and decision as a case, `now` at the decision', () => {
    const incident = recordedIncident({ pool: { facts: { value: 96 } }, pods: { facts: { value: 3 } } });
    expect(testCaseFromIncident(incident, db.runbook, DECIDED)).toEqual({
      name: 'replay of inc-1 (DbSlow, 2025-03-04)',
      now: DECIDED,
      alert: {
        status: 'firing',
        labels: { alertname: 'DbSlow', namespace: 'production', code: '500' },
        annotations: { summary: 'p99 above 2 s' },
      },
      diagnostics: { pool: { facts: { value: 96 } }, pods: { facts: { value: 3 } } },
      expect: {
        verdicts: { pool: 'critical', pods: 'healthy' },
        overall: 'critical',
        remediations: ['kill_idle', 'scale_pool'],
        approvals: ['kill_idle'],
        escalate: false,
      },
    });
  });

  it('an executor error stays an error, an unknown verdict stays unknown with its facts', () => {
    const incident = recordedIncident({
      pool: { error: 'prometheus: connection refused' },
      pods: { facts: { value: -1 } },
    });
    expect(incident.verdicts.pods?.status, 'no interpret level matches -1').toBe('unknown');
    const testCase = testCaseFromIncident(incident, db.runbook);
    expect(testCase.now, 'no decision time given: the opening').toBe(OPENED);
    expect(testCase.diagnostics).toEqual({
      pool: { error: 'prometheus: connection refused' },
      pods: { verdict: 'unknown', facts: { value: -1 } },
    });
    expect(testCase.expect).toEqual({
      verdicts: { pool: 'error', pods: 'unknown' },
      overall: 'error',
      remediations: ['page'],
      approvals: [],
      escalate: true,
    });
  });

  it('a step the runbook lost is left out; one it gained is an error, as the decision treats it', () => {
    const incident = recordedIncident({ pool: { facts: { value: 50 } }, pods: { facts: { value: 3 } } });
    incident.verdicts.retired = { stepId: 'retired', status: 'healthy', facts: { value: 1 } };
    delete incident.verdicts.pods;
    const testCase = testCaseFromIncident(incident, db.runbook, DECIDED);
    expect(testCase.diagnostics).toEqual({
      pool: { facts: { value: 50 } },
      pods: { error: 'no verdict was recorded: the runbook had no such diagnostic then' },
    });
    expect(testCase.expect.verdicts).toEqual({ pool: 'healthy' });
  });

  it.each([
    { name: 'critical pool', found: { pool: { facts: { value: 96 } }, pods: { facts: { value: 3 } } } },
    {
      name: 'warning pool in production',
      found: { pool: { facts: { value: 75 } }, pods: { facts: { value: 3 } } },
    },
    { name: 'no pods', found: { pool: { facts: { value: 10 } }, pods: { facts: { value: 0 } } } },
    {
      name: 'executor error',
      found: { pool: { error: 'timed out after 10 s' }, pods: { facts: { value: 3 } } },
    },
    { name: 'tricky facts', found: { pool: { facts: TRICKY }, pods: { facts: { value: 3 } } } },
  ] satisfies { name: string; found: Record<string, Found> }[])(
    '$name: the case, written as YAML and read back, passes against the same runbook',
    ({ found }) => {
      const incident = recordedIncident(found);
      const testCase = testCaseFromIncident(incident, db.runbook, DECIDED);
      const file = appendTestCase(null, 'db', testCase);
      if (!file.ok) throw new Error(file.reason);
      const parsed = parseRunbookTestFile(file.text, 'db.test.yaml');
      if (!parsed.ok) throw new Error(`${parsed.issues.map(formatIssue).join('\n')}\n${file.text}`);
      expect(checkRunbookTest(parsed.test, db)).toEqual([]);
      const [read] = parsed.test.cases;
      expect(read, 'the YAML reads back as the case, facts exactly').toEqual(testCase);
      expect(runTestCase(db, read!)).toEqual({ name: testCase.name, passed: true, failures: [] });
    },
  );

  it('refuses an incident that has not been decided', () => {
    const incident = recordedIncident({ pool: { facts: { value: 96 } } });
    delete incident.decision;
    expect(() => testCaseFromIncident(incident, db.runbook)).toThrow(InvalidOperationError);
    expect(() => replayIncident(incident, db)).toThrow(/has not been decided yet/);
  });
});

describe('replayIncident', () => {
  const critical = recordedIncident({ pool: { facts: { value: 96 } }, pods: { facts: { value: 3 } } });

  it('the runbook that decided agrees with itself', () => {
    const replay = replayIncident(critical, db, DECIDED);
    expect(replay.differences).toEqual([]);
    expect(replay.current).toEqual(replay.recorded);
    expect(replay).toMatchObject({ incidentId: 'inc-1', runbookId: 'db', now: DECIDED, caveats: [] });
  });

  it('a raised threshold: each difference in words, and the saved case fails the same way', () => {
    const replay = replayIncident(critical, raised, DECIDED);
    expect(replay.current).toEqual({
      verdicts: { pool: 'warning', pods: 'healthy' },
      overall: 'warning',
      remediations: ['scale_pool'],
      approvals: [],
      escalate: false,
    });
    expect(replay.differences).toEqual([
      { what: 'verdict of Pool (pool)', recorded: 'critical', current: 'warning' },
      { what: 'overall status', recorded: 'critical', current: 'warning' },
      { what: 'remediations', recorded: 'kill_idle, scale_pool', current: 'scale_pool' },
      { what: 'steps that need approval', recorded: 'kill_idle', current: 'none' },
    ]);
    const result = runTestCase(raised, testCaseFromIncident(critical, raised.runbook, DECIDED));
    expect(result.failures.map((f) => f.field)).toEqual([
      'verdicts.pool',
      'overall',
      'remediations',
      'approvals',
    ]);
  });

  it('a step the runbook lost and the escalation it now plans are differences', () => {
    const incident = recordedIncident({ pool: { facts: { value: 96 } }, pods: { facts: { value: 3 } } });
    incident.verdicts.retired = { stepId: 'retired', status: 'healthy', facts: {} };
    const noPods = recordedIncident({
      pool: { facts: { value: 10 } },
      pods: { error: 'kube-apiserver down' },
    });
    expect(replayIncident(incident, db, DECIDED).differences).toEqual([
      {
        what: 'verdict of retired',
        recorded: 'healthy',
        current: 'not run: the runbook has no such diagnostic now',
      },
    ]);
    const paged = replayIncident({ ...noPods, plan: [] }, db, DECIDED);
    expect(paged.differences.find((d) => d.what === 'escalate step in the plan')).toEqual({
      what: 'escalate step in the plan',
      recorded: 'no',
      current: 'yes',
    });
  });

  it('names the rules a saved case cannot reproduce (they read the incident or the alert source)', () => {
    const aged = load(
      DB_TEXT.replace(
        "condition: diagnostics.pods.status == 'critical'",
        "condition: diagnostics.pods.status == 'critical' && incident.ageMinutes > 5",
      ),
    );
    expect(replayIncident(critical, aged, DECIDED).caveats).toEqual([
      "rule 2 reads incident.ageMinutes: a runbook test runs as incident 'test', opened at its 'now' by a manual alert, so the saved case may decide otherwise than this replay",
    ]);
  });

  it('decidedAt is the time of the decision.made event', () => {
    const event = (type: TimelineEvent['type'], at: string): TimelineEvent => ({
      id: `${Date.parse(at)}-0`,
      incidentId: 'inc-1',
      type,
      at,
      actor: 'system',
      message: type,
    });
    expect(decidedAt([event('incident.opened', OPENED), event('decision.made', DECIDED)])).toBe(DECIDED);
    expect(decidedAt([event('incident.opened', OPENED)])).toBeUndefined();
  });
});

describe('appendTestCase', () => {
  const testCase = testCaseFromIncident(
    recordedIncident({ pool: { facts: { value: 96 } }, pods: { facts: { value: 3 } } }),
    db.runbook,
    DECIDED,
  );
  const EXISTING = `# Tests of the db runbook.
runbook: db
defaults:
  verdict: healthy # what a case leaves out

cases:
  # The classic.
  - name: pool exhausted
    diagnostics:
      pool: { facts: { value: 96 } }
    expect:
      remediations: [kill_idle, scale_pool]
`;

  it('adds the case after the last one, every byte before it kept', () => {
    const out = appendTestCase(EXISTING, 'db', testCase);
    if (!out.ok) throw new Error(out.reason);
    expect(
      out.text.startsWith(`${EXISTING}\n  - name: replay of inc-1 (DbSlow, 2025-03-04)\n`),
      out.text,
    ).toBe(true);
    expect(out.text.slice(EXISTING.length)).toBe(`\n${testCaseYaml(testCase)}`);
    const parsed = parseRunbookTestFile(out.text, 'db.test.yaml');
    if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join('\n'));
    expect(parsed.test.cases.map((c) => c.name)).toEqual(['pool exhausted', testCase.name]);
  });

  it('keeps comments and cases when the document has to be written again (cases not last)', () => {
    const text = EXISTING.replace('runbook: db\n', '').concat('runbook: db # after the cases\n');
    const out = appendTestCase(text, 'db', testCase);
    if (!out.ok) throw new Error(out.reason);
    for (const comment of [
      '# Tests of the db runbook.',
      '# what a case leaves out',
      '# The classic.',
      '# after the cases',
    ])
      expect(out.text, out.text).toContain(comment);
    const parsed = parseRunbookTestFile(out.text, 'db.test.yaml');
    if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join('\n'));
    expect(parsed.test.cases.map((c) => c.name)).toEqual(['pool exhausted', testCase.name]);
    expect(parsed.test.cases[1]).toEqual(testCase);
  });

  it('creates the file when there is none', () => {
    const out = appendTestCase(null, 'db', testCase);
    expect(out).toEqual({ ok: true, text: `runbook: db\n\ncases:\n${testCaseYaml(testCase)}` });
  });

  it.each([
    {
      what: 'a case of the same name',
      text: `runbook: db\ncases:\n  - name: "${testCase.name}"\n    expect: { overall: critical }\n`,
      reason: `it already has a case named '${testCase.name}'`,
    },
    {
      what: 'another runbook',
      text: 'runbook: other\ncases: []\n',
      reason: "it tests runbook 'other', not 'db'",
    },
    {
      what: 'not a mapping',
      text: '- a\n- b\n',
      reason: 'it is not a runbook test file (a mapping with runbook and cases)',
    },
    { what: 'cases not a list', text: 'runbook: db\ncases: { a: 1 }\n', reason: 'its cases is not a list' },
  ])('refuses $what', ({ text, reason }) => {
    expect(appendTestCase(text, 'db', testCase)).toEqual({ ok: false, reason });
  });
});
