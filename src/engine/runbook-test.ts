import { z } from 'zod';
import type { CompiledRunbook } from './compile.ts';
import { decide, planRemediations } from './decide.ts';
import { errorVerdict, judge, overallStatus } from './judge.ts';
import { checkSchema, type LocatedIssue, readYaml, type YamlSource } from './runbook-parse.ts';
import { type Alert, type RunbookIssue, VERDICT_STATUSES, type Verdict } from './types.ts';

/**
 * Runbook tests (`*.test.yaml`, in the spirit of `promtool test rules`): given an alert and what
 * each diagnostic found, expect verdicts, the overall status, remediations, approvals and
 * escalation. They run offline on the pure engine: no Redis, no executors.
 */

const VerdictStatusSchema = z.enum(VERDICT_STATUSES);
// Label values are strings in Alertmanager; `code: 500` in YAML is meant as "500".
const LabelsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

/** What one diagnostic found in a case: facts to judge, a forced verdict, or an executor error. */
export const TestDiagnosticSchema = z
  .strictObject({
    facts: z.record(z.string(), z.unknown()).optional(),
    verdict: VerdictStatusSchema.optional(),
    error: z.string().min(1).optional(),
  })
  .refine(
    (d) =>
      d.error === undefined ? d.facts !== undefined || d.verdict !== undefined : !d.facts && !d.verdict,
    {
      error:
        'expected facts (judged by the runbook), verdict (forced; facts optional), or error (the check failed) alone',
    },
  );

export const TestExpectSchema = z
  .strictObject({
    /** Only the listed steps are checked. */
    verdicts: z.record(z.string(), VerdictStatusSchema).optional(),
    overall: VerdictStatusSchema.optional(),
    /** The exact list of decided remediation ids, in order. */
    remediations: z.array(z.string()).optional(),
    /** Exactly the plan steps that need approval, in any order. */
    approvals: z.array(z.string()).optional(),
    /** Whether the plan contains an escalate step. */
    escalate: z.boolean().optional(),
  })
  .refine((e) => Object.values(e).some((v) => v !== undefined), {
    error: 'expect needs at least one of verdicts, overall, remediations, approvals, escalate',
  });

export const TestCaseSchema = z.strictObject({
  name: z.string().min(1),
  /** What `interpret` and the decision see as `now` (ISO 8601); a fixed default keeps tests reproducible. */
  now: z.iso.datetime({ offset: true }).optional(),
  alert: z
    .strictObject({
      status: z.enum(['firing', 'resolved']).default('firing'),
      labels: LabelsSchema.default({}),
      annotations: LabelsSchema.default({}),
    })
    .optional(),
  diagnostics: z.record(z.string(), TestDiagnosticSchema).default({}),
  expect: TestExpectSchema,
});
export type RunbookTestCase = z.infer<typeof TestCaseSchema>;

export const TestDefaultsSchema = z.strictObject({
  /** The verdict of every diagnostic a case does not mention. */
  verdict: VerdictStatusSchema.optional(),
});
export type RunbookTestDefaults = z.infer<typeof TestDefaultsSchema>;

export const RunbookTestFileSchema = z
  .strictObject({
    runbook: z.string().min(1),
    defaults: TestDefaultsSchema.default({}),
    cases: z.array(TestCaseSchema).min(1),
  })
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.cases.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['cases', i, 'name'],
          message: `duplicate case name '${c.name}'`,
        });
      seen.add(c.name);
    });
  });
export type RunbookTestFile = z.infer<typeof RunbookTestFileSchema>;

/** The `now` of a case that sets none. */
export const DEFAULT_TEST_NOW = '2025-01-01T12:00:00.000Z';

/** Parses a test file's text: YAML syntax and the test-file schema, issues located like a runbook's. */
export function parseRunbookTestFile(
  text: string,
  file: string,
):
  | { ok: true; test: RunbookTestFile; source: YamlSource; warnings: LocatedIssue[] }
  | { ok: false; issues: LocatedIssue[] } {
  const read = readYaml(text, file);
  if (!read.ok) return read;
  const checked = checkSchema(RunbookTestFileSchema, read.source, read.data);
  if (!checked.ok) return { ok: false, issues: [...checked.issues, ...read.warnings] };
  return { ok: true, test: checked.value, source: read.source, warnings: read.warnings };
}

/**
 * Checks a test file against the runbook it tests: every diagnostic, verdict and remediation it
 * names must exist, and without `defaults.verdict` every case must say what each diagnostic found.
 */
export function checkRunbookTest(test: RunbookTestFile, compiled: CompiledRunbook): RunbookIssue[] {
  const { runbook } = compiled;
  const diagnosticIds = new Set(runbook.diagnostics.map((d) => d.id));
  const remediationIds = new Set(runbook.remediations.map((r) => r.id));
  const issues: RunbookIssue[] = [];
  const error = (path: (string | number)[], message: string) =>
    issues.push({ path, message, severity: 'error' });
  test.cases.forEach((c, i) => {
    for (const id of Object.keys(c.diagnostics))
      if (!diagnosticIds.has(id)) error(['cases', i, 'diagnostics', id], `unknown diagnostic '${id}'`);
    if (test.defaults.verdict === undefined)
      for (const id of diagnosticIds)
        if (!(id in c.diagnostics))
          error(
            ['cases', i, 'diagnostics'],
            `no result for diagnostic '${id}' (give one, or set defaults.verdict)`,
          );
    for (const id of Object.keys(c.expect.verdicts ?? {}))
      if (!diagnosticIds.has(id)) error(['cases', i, 'expect', 'verdicts', id], `unknown diagnostic '${id}'`);
    for (const field of ['remediations', 'approvals'] as const)
      c.expect[field]?.forEach((id, j) => {
        if (!remediationIds.has(id)) error(['cases', i, 'expect', field, j], `unknown remediation '${id}'`);
      });
  });
  return issues;
}

/** One expectation that did not hold. */
export interface TestFailure {
  /** `overall`, `remediations`, `verdicts.<step>`, … */
  field: string;
  expected: unknown;
  actual: unknown;
}

export interface TestCaseResult {
  name: string;
  passed: boolean;
  failures: TestFailure[];
}

/** Runs one case through the engine as a real incident would go: judge, decide, plan; then compares. */
export function runTestCase(
  compiled: CompiledRunbook,
  testCase: RunbookTestCase,
  defaults: RunbookTestDefaults = {},
): TestCaseResult {
  const { runbook } = compiled;
  const failures: TestFailure[] = [];
  const verdicts: Record<string, Verdict> = {};
  const now = new Date(testCase.now ?? DEFAULT_TEST_NOW);
  for (const step of runbook.diagnostics) {
    const given = testCase.diagnostics[step.id];
    if (given?.error !== undefined) verdicts[step.id] = errorVerdict(step.id, given.error);
    else if (given?.verdict !== undefined)
      verdicts[step.id] = { stepId: step.id, status: given.verdict, facts: given.facts ?? {} };
    else if (given?.facts !== undefined)
      verdicts[step.id] = judge(compiled, step.id, given.facts, undefined, now);
    else if (defaults.verdict !== undefined)
      verdicts[step.id] = { stepId: step.id, status: defaults.verdict, facts: {} };
    else failures.push({ field: `diagnostics.${step.id}`, expected: 'a result in the case', actual: 'none' });
  }
  if (failures.length > 0) return { name: testCase.name, passed: false, failures };

  const decision = decide(compiled, {
    verdicts,
    alert: testAlert(compiled, testCase, now),
    incident: {
      id: 'test',
      severity: runbook.severity,
      service: runbook.service,
      createdAt: now.toISOString(),
    },
    now,
  });
  const plan = planRemediations(runbook, decision);
  const { expect } = testCase;
  const check = (field: string, expected: unknown, actual: unknown) => {
    if (JSON.stringify(expected) !== JSON.stringify(actual)) failures.push({ field, expected, actual });
  };
  for (const [id, status] of Object.entries(expect.verdicts ?? {}))
    check(`verdicts.${id}`, status, verdicts[id]?.status);
  if (expect.overall !== undefined) check('overall', expect.overall, overallStatus(Object.values(verdicts)));
  if (expect.remediations !== undefined) check('remediations', expect.remediations, decision.remediations);
  if (expect.approvals !== undefined) {
    const actual = plan.filter((p) => p.kind === 'approval').map((p) => p.stepId);
    // Order does not matter for approvals; report both lists as given.
    if (JSON.stringify([...expect.approvals].sort()) !== JSON.stringify([...actual].sort()))
      failures.push({ field: 'approvals', expected: expect.approvals, actual });
  }
  if (expect.escalate !== undefined)
    check(
      'escalate',
      expect.escalate,
      plan.some((p) => p.kind === 'escalate'),
    );
  return { name: testCase.name, passed: failures.length === 0, failures };
}

/** The case's alert; by default the first alert trigger's alert, firing. */
function testAlert(compiled: CompiledRunbook, testCase: RunbookTestCase, now: Date): Alert {
  const trigger = compiled.runbook.triggers.find((t) => t.type === 'alert');
  const defaultLabels: Record<string, string> = trigger ? { alertname: trigger.alertName } : {};
  return {
    source: 'manual',
    status: testCase.alert?.status ?? 'firing',
    labels: { ...defaultLabels, ...testCase.alert?.labels },
    annotations: testCase.alert?.annotations ?? {},
    fingerprint: `test-${compiled.runbook.id}`,
    startsAt: now.toISOString(),
  };
}

/** `✓ runbook › case`, or `✗ runbook › case` followed by an indented diff of each failure. */
export function formatTestResult(runbookId: string, result: TestCaseResult): string[] {
  const lines = [`${result.passed ? '✓' : '✗'} ${runbookId} › ${result.name}`];
  for (const f of result.failures)
    lines.push(
      `    ${f.field}`,
      `      - expected: ${show(f.expected)}`,
      `      + actual:   ${show(f.actual)}`,
    );
  return lines;
}

function show(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value === undefined) return '(none)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
