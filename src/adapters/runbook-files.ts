import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CompiledRunbook } from '../engine/compile.ts';
import { type LocatedIssue, locateIssue, parseRunbook, sortIssues } from '../engine/runbook-parse.ts';
import { checkRunbookTest, parseRunbookTestFile, type RunbookTestFile } from '../engine/runbook-test.ts';
import { RunbookValidationError } from '../errors.ts';

/**
 * Finds and loads runbook files (`*.yaml`, `*.yml`) and their tests (`*.test.yaml`) from files and
 * directories (searched recursively). A set with any error is not to be served: callers check
 * `hasErrors(issues)`.
 */

export interface LoadedRunbooks {
  /** The runbooks that loaded, in file order; a duplicate id keeps the first file's runbook. */
  runbooks: CompiledRunbook[];
  /** Every runbook file read. */
  files: string[];
  /** Errors and warnings, in file and line order. */
  issues: LocatedIssue[];
}

/** A test file that loaded, with the runbook it tests. */
export interface RunbookTestSuite {
  file: string;
  test: RunbookTestFile;
  compiled: CompiledRunbook;
}

export interface LoadedRunbookTests {
  suites: RunbookTestSuite[];
  files: string[];
  issues: LocatedIssue[];
}

const YAML_FILE = /\.ya?ml$/;
const TEST_FILE = /\.test\.ya?ml$/;

/** True when any issue is an error (warnings alone leave a set usable). */
export function hasErrors(issues: readonly LocatedIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** Loads every runbook under `paths`. Runbook ids must be unique across the whole set. */
export async function loadRunbooks(paths: readonly string[]): Promise<LoadedRunbooks> {
  const { files, issues } = await findFiles(paths, (f) => !TEST_FILE.test(f));
  if (files.length === 0 && issues.length === 0)
    issues.push({
      file: paths.join(', '),
      path: '',
      message: 'no runbook files (*.yaml) found',
      severity: 'error',
    });
  const runbooks: CompiledRunbook[] = [];
  const fileOfId = new Map<string, string>();
  for (const file of files) {
    const text = await readText(file, issues);
    if (text === undefined) continue;
    const result = parseRunbook(text, file);
    if (!result.ok) {
      issues.push(...result.issues);
      continue;
    }
    issues.push(...result.warnings);
    const { id } = result.compiled.runbook;
    const first = fileOfId.get(id);
    if (first !== undefined) {
      const message = `duplicate runbook id '${id}': also defined in ${first}`;
      issues.push(locateIssue(result.source, { path: ['id'], message, severity: 'error' }));
      continue;
    }
    fileOfId.set(id, file);
    runbooks.push(result.compiled);
  }
  return { runbooks, files, issues: sortIssues(issues) };
}

/**
 * The runbooks under `paths` for a process that serves them: a set with any error is refused
 * with a `RunbookValidationError` naming every issue (warnings are not errors).
 */
export async function requireRunbooks(paths: readonly string[]): Promise<CompiledRunbook[]> {
  const { runbooks, issues } = await loadRunbooks(paths);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new RunbookValidationError(errors);
  return runbooks;
}

/** Loads every `*.test.yaml` under `paths` and checks it against the runbook it names. */
export async function loadRunbookTests(
  paths: readonly string[],
  runbooks: readonly CompiledRunbook[],
): Promise<LoadedRunbookTests> {
  const { files, issues } = await findFiles(paths, (f) => TEST_FILE.test(f));
  const byId = new Map(runbooks.map((r) => [r.runbook.id, r]));
  const suites: RunbookTestSuite[] = [];
  for (const file of files) {
    const text = await readText(file, issues);
    if (text === undefined) continue;
    const parsed = parseRunbookTestFile(text, file);
    if (!parsed.ok) {
      issues.push(...parsed.issues);
      continue;
    }
    issues.push(...parsed.warnings);
    const compiled = byId.get(parsed.test.runbook);
    const found = compiled
      ? checkRunbookTest(parsed.test, compiled)
      : [
          {
            path: ['runbook'],
            message: `unknown runbook '${parsed.test.runbook}': no runbook with this id loaded from the given paths`,
            severity: 'error' as const,
          },
        ];
    issues.push(...found.map((i) => locateIssue(parsed.source, i)));
    if (compiled && found.length === 0) suites.push({ file, test: parsed.test, compiled });
  }
  return { suites, files, issues: sortIssues(issues) };
}

/**
 * Where a test's runbooks are looked for: the given paths, with a test file named directly
 * replaced by its directory (the runbook lives beside it).
 */
export function runbookPathsFor(paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => (TEST_FILE.test(p) ? dirname(p) : p)))];
}

/**
 * The YAML files under `paths` that `accept` takes, sorted, without duplicates. A file named
 * directly is taken whatever its extension; a path that cannot be read is an issue, not a throw.
 */
async function findFiles(
  paths: readonly string[],
  accept: (file: string) => boolean,
): Promise<{ files: string[]; issues: LocatedIssue[] }> {
  const files = new Set<string>();
  const issues: LocatedIssue[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && YAML_FILE.test(entry.name) && accept(path)) files.add(path);
    }
  };
  for (const path of paths) {
    try {
      if ((await stat(path)).isDirectory()) await walk(path);
      else if (accept(path)) files.add(path);
    } catch (err) {
      issues.push(unreadable(path, err));
    }
  }
  return { files: [...files].sort(), issues };
}

/** The file's text, or undefined with an issue added when it cannot be read. */
async function readText(file: string, issues: LocatedIssue[]): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    issues.push(unreadable(file, err));
    return undefined;
  }
}

/** A file-system error as an issue; anything else is a bug and is thrown again. */
function unreadable(file: string, err: unknown): LocatedIssue {
  if (!isSystemError(err)) throw err;
  const message = err.code === 'ENOENT' ? 'no such file or directory' : `cannot read (${err.code})`;
  return { file, path: '', message, severity: 'error' };
}

function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}
