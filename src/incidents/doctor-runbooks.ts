import { readFile } from 'node:fs/promises';
import { loadRunbooks, loadRunbookTests } from '../adapters/runbook-files.ts';
import type { CompiledRunbook } from '../engine/compile.ts';
import { locate, parseRunbook, type YamlSource } from '../engine/runbook-parse.ts';
import type { Path } from '../engine/type-spec.ts';

/** A runbook as the doctor sees it: compiled, where it lives (for fixes with a line), and an example alert. */
export interface DoctorRunbook {
  compiled: CompiledRunbook;
  /** The file it was read from, when it is found under the runbook paths. */
  source?: YamlSource;
  /** The labels of the first case of its test file that gives some, to render its diagnostics with. */
  example?: { labels: Record<string, string>; annotations: Record<string, string>; file: string };
}

/**
 * The runbooks to check (the catalog's when a process serves them), with their files and the
 * example alerts of their tests, from `paths` (FIRELINE_RUNBOOKS). A file that no longer parses,
 * or a runbook not found under `paths`, only loses its line numbers and example.
 */
export async function doctorRunbooks(
  paths: readonly string[],
  runbooks: readonly CompiledRunbook[],
): Promise<DoctorRunbook[]> {
  const { files } = await loadRunbooks(paths);
  const sources = new Map<string, YamlSource>();
  for (const file of files) {
    const parsed = parseRunbook(await readFile(file, 'utf8'), file);
    if (parsed.ok && !sources.has(parsed.compiled.runbook.id))
      sources.set(parsed.compiled.runbook.id, parsed.source);
  }
  const { suites } = await loadRunbookTests(paths, runbooks);
  const examples = new Map<string, NonNullable<DoctorRunbook['example']>>();
  for (const suite of suites) {
    const id = suite.compiled.runbook.id;
    const withLabels = suite.test.cases.find((c) => Object.keys(c.alert?.labels ?? {}).length > 0);
    if (withLabels?.alert && !examples.has(id))
      examples.set(id, {
        labels: withLabels.alert.labels,
        annotations: withLabels.alert.annotations,
        file: suite.file,
      });
  }
  return runbooks.map((compiled) => {
    const id = compiled.runbook.id;
    const source = sources.get(id);
    const example = examples.get(id);
    return { compiled, ...(source ? { source } : {}), ...(example ? { example } : {}) };
  });
}

/** `file:line` of `path` in the runbook's file, or the runbook's id and path when its file is unknown. */
export function placeOf(runbook: DoctorRunbook, path: Path): string {
  if (!runbook.source) return `runbook ${runbook.compiled.runbook.id}, ${path.join('.')}`;
  const { line } = locate(runbook.source.doc, runbook.source.lineCounter, path);
  return `${runbook.source.file}:${line}`;
}
