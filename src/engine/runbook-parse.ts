import {
  CST,
  type Document,
  type ErrorCode,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Parser,
  parseDocument,
  type YAMLError,
} from 'yaml';
import type { z } from 'zod';
import { type CompiledRunbook, compileRunbook } from './compile.ts';
import { isPrefix, repairRunbook } from './runbook-repair.ts';
import { RunbookSchema } from './runbook-schema.ts';
import { validateSchema } from './schema-issues.ts';
import { validateRunbookTemplates } from './template.ts';
import type { RunbookIssue } from './types.ts';

/** A problem found in a YAML file, with its place: what `fireline lint` prints, one per line. */
export interface LocatedIssue {
  file: string;
  line?: number;
  column?: number;
  /** Where in the document, e.g. `decisionTree[0].then[1]`; empty for the whole file. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export type ParseResult =
  | { ok: true; compiled: CompiledRunbook; warnings: LocatedIssue[]; source: YamlSource }
  | { ok: false; issues: LocatedIssue[] };

/** A parsed YAML text, kept so that issues found later (duplicate ids, test files) can be given a line. */
export interface YamlSource {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
}

/**
 * Turns a runbook file's text into a compiled runbook, or into every issue found, each with the
 * file, line, column and path. Stages: YAML syntax, then the schema, then the semantic checks of
 * `compileRunbook` and the templates. Bad input is a value here, never a throw.
 */
export function parseRunbook(text: string, file: string): ParseResult {
  const read = readYaml(text, file);
  if (!read.ok) return read;
  const { source, data } = read;
  const checked = validateSchema(RunbookSchema, data);
  const found: RunbookIssue[] = checked.ok ? [] : checked.issues;
  const repair = checked.ok
    ? undefined
    : repairRunbook(data, checked.issues, (d) => validateSchema(RunbookSchema, d));
  const runbook = checked.ok ? checked.value : repair?.runbook;
  let compiled: ReturnType<typeof compileRunbook> | undefined;
  if (runbook) {
    compiled = compileRunbook(runbook);
    const semantic = [
      ...(compiled.ok ? compiled.warnings : compiled.issues),
      ...validateRunbookTemplates(runbook),
    ];
    // Issues inside a swapped-in stand-in are about the stand-in, not about the author's text.
    found.push(...semantic.filter((i) => !repair?.repaired.some((r) => isPrefix(r, i.path))));
  }
  const issues = sortIssues([...read.warnings, ...found.map((i) => locateIssue(source, i))]);
  if (!checked.ok || !compiled?.ok || issues.some((i) => i.severity === 'error'))
    return { ok: false, issues };
  return { ok: true, compiled: compiled.compiled, warnings: issues, source };
}

/** `file:line:column: path: message`, with `warning:` before the path of a warning. */
export function formatIssue(i: LocatedIssue): string {
  const where =
    i.line === undefined ? i.file : `${i.file}:${i.line}${i.column === undefined ? '' : `:${i.column}`}`;
  const parts = [where, ...(i.severity === 'warning' ? ['warning'] : []), ...(i.path ? [i.path] : [])];
  return `${parts.join(': ')}: ${i.message}`;
}

/** `['decisionTree', 0, 'then', 1]` → `decisionTree[0].then[1]`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(seg))) out += out ? `.${String(seg)}` : String(seg);
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/**
 * The 1-based line and column of `path` in the document. A map entry is placed at its key, a list
 * item at the item; a path that does not exist (a missing key) is placed at its deepest existing
 * ancestor, which is where the author has to add it.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): { line: number; column: number } {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? (node.range?.[0] ?? 0) : 0;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: { at: unknown; value: unknown } | undefined;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg),
      );
      if (pair) next = { at: pair.key, value: pair.value };
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item !== undefined) next = { at: item, value: item };
    }
    const start = next && isNode(next.at) ? (next.at as Node).range?.[0] : undefined;
    if (!next || start === undefined) break;
    offset = start;
    node = next.value;
  }
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** Places an issue found on parsed data (a path of keys and indexes) in its source file. */
export function locateIssue(source: YamlSource, issue: RunbookIssue): LocatedIssue {
  return {
    file: source.file,
    ...locate(source.doc, source.lineCounter, issue.path),
    path: formatIssuePath(issue.path),
    message: issue.message,
    severity: issue.severity,
  };
}

/** Parses YAML syntax only: one document, no duplicate keys; syntax errors carry their position. */
export function readYaml(
  text: string,
  file: string,
):
  | { ok: true; source: YamlSource; data: unknown; warnings: LocatedIssue[] }
  | { ok: false; issues: LocatedIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const toIssue = (e: YAMLError, severity: 'error' | 'warning') => ({
    file,
    ...at(e.pos[0]),
    path: '',
    message: YAML_MESSAGES[e.code] ?? e.message,
    severity,
  });
  const warnings = [...doc.warnings.map((w) => toIssue(w, 'warning')), ...cutByComment(text, file, at)];
  if (doc.errors.length > 0)
    return { ok: false, issues: [...doc.errors.map((e) => toIssue(e, 'error')), ...warnings] };
  if (doc.contents === null)
    return {
      ok: false,
      issues: [{ file, path: '', message: 'the file is empty; expected a mapping', severity: 'error' }],
    };
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // Only an alias bomb (too many alias expansions) makes toJS throw on a document without errors.
    const message = `cannot expand YAML aliases: ${(err as Error).message}`;
    return { ok: false, issues: [{ file, line: 1, column: 1, path: '', message, severity: 'error' }] };
  }
  return { ok: true, source: { file, doc, lineCounter }, data, warnings };
}

/**
 * Plain values that a comment cut short: in `name: Post to #channel` the ` #` starts a YAML comment,
 * so the value is `Post to`. A comment written so (no space after `#`) is most likely part of the
 * value; `key: value # comment` is left alone. Read from yaml's CST, where a plain scalar keeps the
 * space and comment that follow it on its line.
 */
function cutByComment(
  text: string,
  file: string,
  at: (offset: number) => { line: number; column: number },
): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    CST.visit(token, ({ value }) => {
      if (value?.type !== 'scalar') return;
      const [space, comment] = value.end ?? [];
      if (space?.type !== 'space' || comment?.type !== 'comment' || !/^#\S/.test(comment.source)) return;
      const written = text.slice(value.offset, comment.offset + comment.source.length);
      issues.push({
        file,
        ...at(comment.offset),
        path: '',
        message: `'${comment.source}' is a YAML comment, so this value ends at '${value.source}'; quote it to keep it all: ${JSON.stringify(written)}`,
        severity: 'warning',
      });
    });
  }
  return issues;
}

// yaml's own wording for these names its API; say it in the author's terms.
const YAML_MESSAGES: Partial<Record<ErrorCode, string>> = {
  MULTIPLE_DOCS: 'a file holds one YAML document; found a second one (after ---)',
};

/** `validateSchema` with each issue placed in the source file. */
export function checkSchema<T extends z.ZodType>(
  schema: T,
  source: YamlSource,
  data: unknown,
): { ok: true; value: z.output<T> } | { ok: false; issues: LocatedIssue[] } {
  const result = validateSchema(schema, data);
  if (result.ok) return result;
  return { ok: false, issues: sortIssues(result.issues.map((i) => locateIssue(source, i))) };
}

/** Issues in file order (line, then column), issues without a line first. */
export function sortIssues(issues: LocatedIssue[]): LocatedIssue[] {
  return [...issues].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
}
