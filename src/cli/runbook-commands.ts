// The offline runbook commands `lint`, `test` and `schema`: they read files, never Redis or the API
// (`schema events` prints the progress channel's message format).
import { z } from 'zod';
import { hasErrors, loadRunbooks, loadRunbookTests, runbookPathsFor } from '../adapters/runbook-files.ts';
import { eventsJsonSchema } from '../engine/event-schemas.ts';
import { formatIssue, type LocatedIssue, sortIssues } from '../engine/runbook-parse.ts';
import { RunbookSchema } from '../engine/runbook-schema.ts';
import { formatTestResult, runTestCase } from '../engine/runbook-test.ts';
import { type CommandContext, EXIT } from './context.ts';

const DEFAULT_PATHS = ['runbooks'];

/** The JSON Schema of what a runbook author writes (defaults optional), as `fireline schema` prints it. */
export function runbookJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(RunbookSchema, { io: 'input' });
  return {
    $schema,
    title: 'Fireline runbook',
    description: 'An executable incident-response runbook (JSON Schema printed by `fireline schema`).',
    ...rest,
  };
}

/** `fireline schema` (a runbook) or `fireline schema events` (a progress channel message). */
export async function runSchema({ positionals, io }: CommandContext): Promise<number> {
  const [what = 'runbook'] = positionals;
  const schemas: Record<string, () => Record<string, unknown>> = {
    runbook: runbookJsonSchema,
    events: eventsJsonSchema,
  };
  const schema = schemas[what];
  if (!schema || positionals.length > 1) {
    io.stderr.write(
      `fireline schema: Unexpected argument '${positionals.at(-1)}' (expected runbook or events)\nRun 'fireline help schema' for usage.\n`,
    );
    return EXIT.usage;
  }
  io.stdout.write(`${JSON.stringify(schema(), null, 2)}\n`);
  return EXIT.ok;
}

/** `fireline lint [paths…]`. */
export async function runLint({ positionals, values, io }: CommandContext): Promise<number> {
  const paths = positionals.length > 0 ? positionals : DEFAULT_PATHS;
  const loaded = await loadRunbooks(runbookPathsFor(paths));
  const tests = await loadRunbookTests(paths, loaded.runbooks);
  const files = [...loaded.files, ...tests.files];
  const issues = mergeIssues(loaded.issues, tests.issues);
  if (values.format === 'json') {
    io.stdout.write(`${JSON.stringify({ files, issues }, null, 2)}\n`);
  } else {
    const errors = issues.filter((i) => i.severity === 'error').length;
    const summary = `${count(files.length, 'file')} checked: ${count(errors, 'error')}, ${count(issues.length - errors, 'warning')}`;
    io.stdout.write([...issues.map(formatIssue), summary, ''].join('\n'));
  }
  return hasErrors(issues) ? EXIT.failed : EXIT.ok;
}

/** `fireline test [paths…]`. */
export async function runTests({ positionals, io }: CommandContext): Promise<number> {
  const paths = positionals.length > 0 ? positionals : DEFAULT_PATHS;
  const loaded = await loadRunbooks(runbookPathsFor(paths));
  const tests = await loadRunbookTests(paths, loaded.runbooks);
  const issues = mergeIssues(loaded.issues, tests.issues);
  if (tests.files.length === 0)
    issues.push({
      file: paths.join(', '),
      path: '',
      message: 'no runbook tests (*.test.yaml) found',
      severity: 'error',
    });
  const lines = issues.map(formatIssue);
  let passed = 0;
  let failed = 0;
  for (const suite of tests.suites) {
    for (const testCase of suite.test.cases) {
      const result = runTestCase(suite.compiled, testCase, suite.test.defaults);
      if (result.passed) passed++;
      else failed++;
      lines.push(...formatTestResult(suite.compiled.runbook.id, result));
    }
  }
  lines.push(`${passed} passed, ${failed} failed`, '');
  io.stdout.write(lines.join('\n'));
  return failed > 0 || hasErrors(issues) ? EXIT.failed : EXIT.ok;
}

/** Both loaders walk the same paths, so a path that cannot be read is reported by each: keep one. */
function mergeIssues(...lists: LocatedIssue[][]): LocatedIssue[] {
  const byText = new Map(lists.flat().map((i) => [`${i.severity} ${formatIssue(i)}`, i]));
  return sortIssues([...byText.values()]);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
