import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type LocatedIssue, parseRunbook } from '../../src/engine/runbook-parse.ts';

// The original design's example must load "with only YAML syntax changes" once it is made
// consistent; as written, lint must say exactly what is wrong with it, at the right lines.
describe('seed payment runbook, transcribed as-is', () => {
  const file = 'test/fixtures/seed-payment-runbook.yaml';
  const result = parseRunbook(readFileSync(file, 'utf8'), file);
  const issues: LocatedIssue[] = result.ok ? result.warnings : result.issues;

  it('does not load', () => {
    expect(result.ok).toBe(false);
  });

  it.each([
    { id: 'scale_db_connections', path: 'decisionTree[0].then[1]', line: 78 },
    { id: 'escalate_infra', path: 'decisionTree[2].then[1]', line: 87 },
    { id: 'enable_circuit_breaker', path: 'decisionTree[3].then[0]', line: 91 },
    { id: 'notify_downstream', path: 'decisionTree[3].then[1]', line: 92 },
    { id: 'capture_error_samples', path: 'decisionTree[4].then[0]', line: 96 },
  ])('names the undefined remediation $id at its list item', ({ id, path, line }) => {
    const found = issues
      .filter((i) => i.path === path)
      .map(({ line, column, message }) => ({ line, column, message }));
    expect(found).toEqual([{ line, column: 9, message: `unknown remediation '${id}'` }]);
  });

  it.each([
    { path: 'diagnostics[3].config.command', line: 52, says: 'expected an argv array' },
    { path: 'remediations[0].action.config.script', line: 108, says: "unknown key 'script'" },
    { path: 'diagnostics[4].interpret.warning', line: 71, says: '' },
  ])('also reports $path', ({ path, line, says }) => {
    const found = issues.filter((i) => i.path === path && i.message.includes(says)).map((i) => i.line);
    expect(found).toEqual([line]);
  });
});
