import { describe, expect, it } from 'vitest';
import { readYaml } from '../../src/engine/runbook-parse.ts';

/** The warnings readYaml gives `text` (every runbook and test file goes through it). */
function warnings(text: string) {
  const read = readYaml(text, 'rb.yaml');
  if (!read.ok) throw new Error(`expected valid YAML, got ${JSON.stringify(read.issues)}`);
  return read.warnings;
}

describe('lint warns when a comment cuts a plain value short', () => {
  it('warns on `name: Post to #channel`, naming the file, line and column, and suggesting quotes', () => {
    expect(warnings('id: x\nname: Post to #channel\n')).toEqual([
      {
        file: 'rb.yaml',
        line: 2,
        column: 15,
        path: '',
        message: `'#channel' is a YAML comment, so this value ends at 'Post to'; quote it to keep it all: "Post to #channel"`,
        severity: 'warning',
      },
    ]);
  });

  it.each([
    ['a list item', 'steps:\n  - tell #oncall\n', 2, "'#oncall'"],
    ['a flow list item', 'then: [a, b #c\n  ]\n', 1, "'#c'"],
    ['a value after a nested key', 'escalation:\n  primary: page #sre-team\n', 2, "'#sre-team'"],
  ])('warns on %s', (_, text, line, named) => {
    const found = warnings(text);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ line, severity: 'warning' });
    expect(found[0]?.message).toContain(named);
  });

  it.each([
    ['a quoted value', 'name: "Post to #channel"\n'],
    ['a single-quoted value', "name: 'Post to #channel'\n"],
    ['a comment line', '# comment\nname: x\n#tight comment on its own line\n'],
    ['a comment after a value, with a space after #', 'key: value # comment\n'],
    ['a # inside a word (no space before it)', 'url: http://example.com/#anchor\n'],
    ['a block scalar', 'instructions: |\n  tell #oncall\n'],
    ['a comment after a quoted value', 'name: "x" #note\n'],
  ])('does not warn on %s', (_, text) => {
    expect(warnings(text)).toEqual([]);
  });
});
