import { describe, expect, test } from 'vitest';
import { renderTemplate } from '../../src/engine/template.ts';
import { contextWithLabels } from '../fixtures/template-context.ts';

const ctx = contextWithLabels;

/** An independent reading of PromQL string literals: the code around them and their decoded values. */
function lexPromql(q: string): { code: string[]; literals: string[] } {
  const code: string[] = [''];
  const literals: string[] = [];
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', "'": "'" };
  for (let i = 0; i < q.length; i++) {
    const quote = q[i]!;
    if (quote !== '"' && quote !== "'") {
      code[code.length - 1] += quote;
      continue;
    }
    let value = '';
    for (i++; q[i] !== quote; i++) {
      if (i >= q.length) throw new Error(`unterminated literal in ${q}`);
      if (q[i] !== '\\') {
        value += q[i];
        continue;
      }
      const e = q[++i]!;
      const width = e === 'x' ? 2 : e === 'u' ? 4 : 0;
      value += width ? String.fromCodePoint(Number.parseInt(q.slice(i + 1, i + 1 + width), 16)) : simple[e];
      i += width;
    }
    literals.push(value);
    code.push('');
  }
  return { code, literals };
}

describe('promql: a template fills exactly one string literal, escaped', () => {
  const cases: { name: string; template: string; dq: string; sq: string; re: string }[] = [
    {
      name: 'promql injection',
      template: '"} or vector(1)',
      dq: 'up{ns="\\"} or vector(1)"}',
      sq: `up{ns='"} or vector(1)'}`,
      re: 'up{ns=~"\\"\\\\} or vector\\\\(1\\\\)"}',
    },
    {
      name: 'command substitution',
      template: '$(reboot)',
      dq: 'up{ns="$(reboot)"}',
      sq: "up{ns='$(reboot)'}",
      re: 'up{ns=~"\\\\$\\\\(reboot\\\\)"}',
    },
    {
      name: 'sql injection',
      template: "'; drop table x; --",
      dq: `up{ns="'; drop table x; --"}`,
      sq: "up{ns='\\'; drop table x; --'}",
      re: `up{ns=~"'; drop table x; --"}`,
    },
    { name: 'newline', template: 'a\nb', dq: 'up{ns="a\\nb"}', sq: "up{ns='a\\nb'}", re: 'up{ns=~"a\\nb"}' },
    {
      name: 'backslashes',
      template: 'C:\\temp\\',
      dq: 'up{ns="C:\\\\temp\\\\"}',
      sq: "up{ns='C:\\\\temp\\\\'}",
      re: 'up{ns=~"C:\\\\\\\\temp\\\\\\\\"}',
    },
    {
      name: 'unicode',
      template: 'ünïcødé ✓',
      dq: 'up{ns="ünïcødé ✓"}',
      sq: "up{ns='ünïcødé ✓'}",
      re: 'up{ns=~"ünïcødé ✓"}',
    },
    {
      name: 'rtl mark',
      template: 'a\u200Fb',
      dq: 'up{ns="a\\u200fb"}',
      sq: "up{ns='a\\u200fb'}",
      re: 'up{ns=~"a\\u200fb"}',
    },
    { name: 'empty', template: '', dq: 'up{ns=""}', sq: "up{ns=''}", re: 'up{ns=~""}' },
  ];
  test.each(cases)('$name', ({ template: value, dq, sq, re }) => {
    const c = ctx({ v: value });
    const rendered = {
      dq: renderTemplate('up{ns="{{ alert.labels.v }}"}', c, 'promql'),
      sq: renderTemplate("up{ns='{{ alert.labels.v }}'}", c, 'promql'),
      re: renderTemplate('up{ns=~"{{ alert.labels.v }}"}', c, 'promql'),
    };
    expect(rendered).toEqual({
      dq: { ok: true, value: dq },
      sq: { ok: true, value: sq },
      re: { ok: true, value: re },
    });
    expect(lexPromql(dq), 'double-quoted: one literal holding the value').toEqual({
      code: ['up{ns=', '}'],
      literals: [value],
    });
    expect(lexPromql(sq), 'single-quoted: one literal holding the value').toEqual({
      code: ['up{ns=', '}'],
      literals: [value],
    });
    const regex = lexPromql(re);
    expect(regex.code, 'regex matcher: one literal').toEqual(['up{ns=~', '}']);
    const anchored = new RegExp(`^(?:${regex.literals[0]})$`);
    expect(
      [anchored.test(value), anchored.test(`${value}x`)],
      'the regex matches the value and only it',
    ).toEqual([true, false]);
  });
});

describe('promql: placement of templates', () => {
  const c = ctx({ v: 'a.b' });
  test.each([
    { name: 'label matcher', q: 'up{ns="{{ alert.labels.v }}"}', want: 'up{ns="a.b"}' },
    {
      name: 'two templates in one literal',
      q: 'up{ns="{{ alert.labels.v }}-{{ incident.id }}"}',
      want: 'up{ns="a.b-inc-1"}',
    },
    { name: 'regex with space', q: 'up{ns=~ "{{ alert.labels.v }}"}', want: 'up{ns=~ "a\\\\.b"}' },
    { name: 'negative regex', q: 'up{ns!~"{{ alert.labels.v }}"}', want: 'up{ns!~"a\\\\.b"}' },
    { name: 'logql line regex', q: '{app="x"} |~ "{{ alert.labels.v }}"', want: '{app="x"} |~ "a\\\\.b"' },
    { name: 'logql contains', q: '{app="x"} |= "{{ alert.labels.v }}"', want: '{app="x"} |= "a.b"' },
    { name: 'not-equal is not a regex', q: 'up{ns!="{{ alert.labels.v }}"}', want: 'up{ns!="a.b"}' },
    {
      name: '# inside a string is text',
      q: 'up{a="#", ns="{{ alert.labels.v }}"}',
      want: 'up{a="#", ns="a.b"}',
    },
    {
      name: 'regex before does not leak',
      q: 'up{a=~"x", ns="{{ alert.labels.v }}"}',
      want: 'up{a=~"x", ns="a.b"}',
    },
  ])('$name', ({ q, want }) => {
    expect(renderTemplate(q, c, 'promql')).toEqual({ ok: true, value: want });
  });

  test.each([
    { name: 'bare', q: 'up{ns={{ alert.labels.v }}}', reason: 'is outside a string literal' },
    {
      name: 'after a literal',
      q: 'up{ns="x"} or {{ alert.labels.v }}',
      reason: 'is outside a string literal',
    },
    { name: 'backtick', q: 'up{ns=`{{ alert.labels.v }}`}', reason: 'inside a backtick string' },
    { name: 'comment', q: 'up # {{ alert.labels.v }}', reason: 'inside a # comment' },
    { name: 'after backslash', q: 'up{ns="\\{{ alert.labels.v }}"}', reason: 'follows a backslash' },
    { name: 'unclosed literal', q: 'up{ns="{{ alert.labels.v }}}', reason: 'never closed' },
  ])('$name is refused', ({ q, reason }) => {
    const r = renderTemplate(q, c, 'promql');
    expect(r.ok ? `rendered ${r.value}` : r.reason).toContain(reason);
  });
});
