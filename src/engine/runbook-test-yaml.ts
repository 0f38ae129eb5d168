import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, YAMLSeq } from 'yaml';
import type { RunbookTestCase } from './runbook-test.ts';

/**
 * Runbook test cases written as YAML: one case as the text of an item under `cases:`, and a case
 * appended to a test file's text. The file keeps its comments, its other cases and, when the
 * case can simply be added at its end, every byte it had.
 */

// No folding of long lines (a folded fact is harder to read and to diff), no anchors (an appended
// case must not clash with the file's own), id lists as `[a, b]` like the hand-written tests.
const TO_STRING = { lineWidth: 0, flowCollectionPadding: false } as const;

/** One case as a `cases:` item (`- name: …`), every line indented by `indent` spaces. */
export function testCaseYaml(testCase: RunbookTestCase, indent = 2): string {
  const doc = new Document([testCase], { aliasDuplicateObjects: false });
  for (const key of ['remediations', 'approvals']) {
    const ids = doc.getIn([0, 'expect', key], true);
    if (isSeq(ids)) ids.flow = true;
  }
  const pad = ' '.repeat(indent);
  return doc
    .toString(TO_STRING)
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

export type AppendResult = { ok: true; text: string } | { ok: false; reason: string };

/**
 * The test file's text with `testCase` added as its last case; `text` null (no file yet) gives a
 * new file for `runbookId`. Refused, with the reason, when the text is not a test file of that
 * runbook or already has a case of that name.
 */
export function appendTestCase(
  text: string | null,
  runbookId: string,
  testCase: RunbookTestCase,
): AppendResult {
  if (text === null || text.trim() === '')
    return { ok: true, text: `${stringify({ runbook: runbookId })}\ncases:\n${testCaseYaml(testCase)}` };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) return { ok: false, reason: `it is not valid YAML: ${syntax.message}` };
  const top = doc.contents;
  if (!isMap(top))
    return { ok: false, reason: 'it is not a runbook test file (a mapping with runbook and cases)' };
  const tested = doc.get('runbook');
  if (tested !== runbookId)
    return { ok: false, reason: `it tests runbook '${String(tested)}', not '${runbookId}'` };
  const cases = doc.get('cases', true);
  const empty = cases === undefined || (isScalar(cases) && cases.value === null);
  if (!empty && !isSeq(cases)) return { ok: false, reason: 'its cases is not a list' };
  const names = isSeq(cases) ? cases.items.map((item) => (isMap(item) ? item.get('name') : undefined)) : [];
  if (names.includes(testCase.name))
    return { ok: false, reason: `it already has a case named '${testCase.name}'` };

  // The usual file ends with its block list of cases: the case goes after it, the rest untouched.
  const last = top.items.at(-1);
  if (isSeq(cases) && !cases.flow && cases.items.length > 0 && last?.value === cases && cases.range) {
    const indent = lineCounter.linePos(cases.range[0]).col - 1;
    const appended = `${text.endsWith('\n') ? text : `${text}\n`}\n${testCaseYaml(testCase, indent)}`;
    if (holdsCaseAdded(appended, doc, testCase)) return { ok: true, text: appended };
  }
  // Anywhere else: the document is written again, comments and all.
  const node = doc.createNode(testCase, { aliasDuplicateObjects: false });
  if (isSeq(cases)) cases.items.push(node);
  else {
    const list = new YAMLSeq();
    list.items.push(node);
    doc.set('cases', list);
  }
  return { ok: true, text: doc.toString({ lineWidth: 0 }) };
}

/** The appended text reads as the old document with the case added, and nothing else changed. */
function holdsCaseAdded(appended: string, before: Document, testCase: RunbookTestCase): boolean {
  const after = parseDocument(appended, { prettyErrors: false });
  if (after.errors.length > 0) return false;
  const was = before.toJS() as { cases: unknown[] };
  const is = after.toJS() as { cases: unknown[] };
  const expected = { ...was, cases: [...was.cases, testCase] };
  return JSON.stringify(is) === JSON.stringify(expected);
}
