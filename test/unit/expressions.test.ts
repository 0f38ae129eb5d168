import { describe, expect, it } from 'vitest';
import type { ExpressionScope } from '../../src/engine/expressions.ts';
import {
  compileExpression,
  evaluateBool,
  formatPath,
  readPath,
  rewriteJsEquality,
} from '../../src/engine/expressions.ts';
import { FACTS_BY_TYPE, interpretScope } from '../../src/engine/facts.ts';

function compiled(source: string, scope: ExpressionScope) {
  const result = compileExpression(source, scope);
  if (!result.ok) throw new Error(`expected ${source} to compile, got: ${result.reason}`);
  return result.expr;
}

const conditionLike: ExpressionScope = {
  variables: {
    alert: { type: 'map', fields: { labels: {}, status: {} } },
    diagnostics: {
      type: 'map',
      fields: { db: { fields: { status: {}, facts: { fields: { value: {} } } } } },
      unknown: (key) => `unknown diagnostic '${key}'`,
    },
  },
};

describe('rewriteJsEquality', () => {
  it.each([
    ['value === 1', 'value == 1'],
    ['value !== 1', 'value != 1'],
    ["status === 'a === b'", "status == 'a === b'"],
    ['status === "x !== y" && v === 2', 'status == "x !== y" && v == 2'],
    ["'it\\'s === here' === s", "'it\\'s === here' == s"],
    ["r'\\' === r'x'", "r'\\' == r'x'"],
    ["'''a === b''' === s", "'''a === b''' == s"],
    ["// don't === touch\nv === 1", "// don't === touch\nv == 1"],
    ['value == 1', 'value == 1'],
    ['value != 1', 'value != 1'],
    ['value >= 1', 'value >= 1'],
  ])('%s → %s', (source, expected) => {
    expect(rewriteJsEquality(source).text).toBe(expected);
  });

  it('maps positions after a rewrite back to the source', () => {
    const { text, originalIndex } = rewriteJsEquality('a === b && c === d');
    expect(text).toBe('a == b && c == d');
    expect([originalIndex(0), originalIndex(5), originalIndex(15)]).toEqual([0, 6, 17]);
  });
});

describe('compileExpression + evaluate: numbers as authors expect them', () => {
  const prometheus = interpretScope('prometheus_query');
  const http = interpretScope('http_check');
  const shell = interpretScope('shell_command');
  it.each([
    ['value < 70', { value: 69.5 }, true, prometheus],
    ['value < 70', { value: 96 }, false, prometheus],
    ['value >= 90.5', { value: 96 }, true, prometheus],
    ['value >= 90.5', { value: 90 }, false, prometheus],
    ['count == 0', { count: 0 }, true, prometheus],
    ['count != 0', { count: 3 }, true, prometheus],
    ['value == 2', { value: 2 }, true, prometheus],
    ['value * 100 > 5', { value: 0.1 }, true, prometheus],
    ['value * 100 > 5', { value: 0.01 }, false, prometheus],
    ['100 * value > 5', { value: 1 }, true, prometheus],
    ['value + 1 == 3', { value: 2 }, true, prometheus],
    ['value - 1 < 0.5', { value: 1.25 }, true, prometheus],
    ['value / 2 == 1.5', { value: 3 }, true, prometheus],
    ['value < 70', { value: Number.NaN }, false, prometheus],
    ['value == null', { value: null }, true, prometheus],
    ['values.exists(s, s.value == 0)', { values: [{ value: 1 }, { value: 0 }] }, true, prometheus],
    ['max_latency_ms > 1000', { max_latency_ms: 1000.5 }, true, http],
    ['max_latency_ms > 1000', { max_latency_ms: 1000 }, false, http],
    ['checks.exists(c, c.latency_ms > 1000)', { checks: [{ latency_ms: 1200 }] }, true, http],
    ['size(lines) == 2 && exit_code === 0', { lines: ['a', 'b'], exit_code: 0 }, true, shell],
    ["stdout === 'a === b'", { stdout: 'a === b' }, true, shell],
    ["json.kind == 'Deployment'", { json: { kind: 'Deployment' } }, true, shell],
    [
      "now - timestamp(json.at) < duration('5m')",
      { json: { at: '2024-05-01T09:57:00Z' }, now: new Date('2024-05-01T10:00:00Z') },
      true,
      shell,
    ],
  ] as const)('%s with %j → %s', (source, vars, expected, scope) => {
    expect(compiled(source, scope).evaluate(vars)).toEqual({ ok: true, value: expected });
  });
});

describe('evaluation errors name the expression, the position and the cause', () => {
  const prometheus = interpretScope('prometheus_query');
  const shell = interpretScope('shell_command');
  it.each([
    [
      'value < 70',
      { value: null },
      prometheus,
      'no such overload: dyn<null> < int — value is null (at column 1 of `value < 70`)',
    ],
    [
      'empty || value >= 90',
      { empty: false, value: null },
      prometheus,
      'no such overload: dyn<null> >= int — value is null (at column 10 of `empty || value >= 90`)',
    ],
    [
      "json.status == 'x'",
      { json: null },
      shell,
      "No such key: status — json is null (at column 6 of `json.status == 'x'`)",
    ],
    [
      'count > 1',
      { count: null },
      prometheus,
      "Variable 'count' is not of type 'double', got 'null' — count is null (at column 1 of `count > 1`)",
    ],
    ['count > 1', {}, prometheus, 'Unknown variable: count (at column 1 of `count > 1`)'],
    [
      "stdout.matches('[')",
      { stdout: 'x' },
      shell,
      expect.stringContaining("(at column 1 of `stdout.matches('[')`)"),
    ],
  ] as const)('%s with %j', (source, vars, scope, reason) => {
    expect(compiled(source, scope).evaluate(vars)).toEqual({ ok: false, reason });
  });

  it('a missing label is an error, and has() tests for it', () => {
    const missing = { alert: { labels: {} } };
    expect(compiled("alert.labels.namespace == 'prod'", conditionLike).evaluate(missing)).toEqual({
      ok: false,
      reason: "No such key: namespace (at column 14 of `alert.labels.namespace == 'prod'`)",
    });
    expect(
      compiled("has(alert.labels.namespace) && alert.labels.namespace == 'prod'", conditionLike).evaluate(
        missing,
      ),
    ).toEqual({ ok: true, value: false });
  });
});

describe('evaluateBool', () => {
  const prometheus = interpretScope('prometheus_query');
  it.each([
    ['value', { value: 96 }, { ok: false, reason: 'expected a bool, got double (in `value`)' }],
    ['values', { values: [] }, { ok: false, reason: 'expected a bool, got list (in `values`)' }],
    ['value', { value: null }, { ok: false, reason: 'expected a bool, got null (in `value`)' }],
    ['empty', { empty: true }, { ok: true, value: true }],
    ['value > 1', { value: 0 }, { ok: true, value: false }],
  ] as const)('%s with %j', (source, vars, expected) => {
    expect(evaluateBool(compiled(source, prometheus), vars)).toEqual(expected);
  });
});

describe('compile-time errors', () => {
  it.each([
    [
      'no_recent_deploy',
      interpretScope('shell_command'),
      "unknown variable 'no_recent_deploy' — facts of shell_command are exit_code, stdout, stderr, lines, json (at column 1 of `no_recent_deploy`)",
    ],
    [
      'value > 1 && valu < 3',
      interpretScope('prometheus_query'),
      "unknown variable 'valu' — facts of prometheus_query are value, values, count, empty (at column 14 of `value > 1 && valu < 3`)",
    ],
    [
      "diagnostics.dbx.status === 'critical'",
      conditionLike,
      "unknown diagnostic 'dbx' (at column 1 of `diagnostics.dbx.status === 'critical'`)",
    ],
    [
      "diagnostics.db.stat == 'x'",
      conditionLike,
      "unknown field 'stat' of diagnostics.db — known: status, facts (at column 1 of `diagnostics.db.stat == 'x'`)",
    ],
    ['value <> 3', interpretScope('prometheus_query'), 'Unexpected token: GT (at column 8 of `value <> 3`)'],
    [
      'value === 1 &&',
      interpretScope('prometheus_query'),
      'Unexpected token: EOF (at column 15 of `value === 1 &&`)',
    ],
    [
      'value\n  >>= 3',
      interpretScope('prometheus_query'),
      'Unexpected token: GE (at line 2, column 4 of `value\n  >>= 3`)',
    ],
    [
      'stdout > 5',
      interpretScope('shell_command'),
      'no such overload: string > int (at column 1 of `stdout > 5`)',
    ],
    [
      "now - timestamp(json.at) < duration('5 minutes')",
      interpretScope('shell_command'),
      "Invalid duration string: 5 minutes (at column 28 of `now - timestamp(json.at) < duration('5 minutes')`)",
    ],
  ])('%s', (source, scope, reason) => {
    expect(compileExpression(source, scope)).toEqual({ ok: false, reason });
  });
});

describe('reads', () => {
  it.each([
    ['value < 70', ['value']],
    [
      "diagnostics.db.status == 'critical' && diagnostics.db.facts.value > 90",
      ['diagnostics.db.status', 'diagnostics.db.facts.value'],
    ],
    ['has(alert.labels.namespace)', ['alert.labels.namespace']],
    ["alert.labels['app.kubernetes.io/name'] == 'x'", ['alert.labels["app.kubernetes.io/name"]']],
    ['checks.exists(c, c.latency_ms > 1000) && slow_count > 0', ['checks', 'slow_count']],
    ['cel.bind(v, max_latency_ms, v > 1 && v < 5)', ['max_latency_ms']],
    ['checks[0].ok', ['checks']],
    ['1 < 2', []],
  ])('%s reads %j', (source, reads) => {
    const scope: ExpressionScope = {
      variables: {
        ...interpretScope('http_check').variables,
        ...conditionLike.variables,
        value: { type: 'dyn' },
      },
    };
    expect(compiled(source, scope).reads).toEqual(reads);
  });
});

describe('readPath and formatPath', () => {
  it.each([
    [{ a: { b: 1 } }, ['a', 'b'], 1],
    [{ a: { b: null } }, ['a', 'b'], null],
    [{ a: {} }, ['a', 'b'], undefined],
    [{ a: null }, ['a', 'b'], undefined],
    [{ a: {} }, ['a', 'constructor'], undefined],
    [{ a: {} }, ['a', '__proto__'], undefined],
    [{ a: [10, 20] }, ['a', '1'], 20],
  ])('%j at %j → %j', (vars, path, expected) => {
    expect(readPath(vars, path)).toEqual(expected);
  });

  it.each([
    [['value'], 'value'],
    [['alert', 'labels', 'namespace'], 'alert.labels.namespace'],
    [['alert', 'labels', 'app.kubernetes.io/name'], 'alert.labels["app.kubernetes.io/name"]'],
  ])('%j → %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});

describe('FACTS_BY_TYPE', () => {
  it('names the facts of each diagnostic type (src/engine/facts.ts)', () => {
    expect(FACTS_BY_TYPE).toEqual({
      prometheus_query: ['value', 'values', 'count', 'empty'],
      http_check: [
        'checks',
        'all_healthy',
        'any_unreachable',
        'max_latency_ms',
        'slow_count',
        'min_cert_days',
      ],
      shell_command: ['exit_code', 'stdout', 'stderr', 'lines', 'json'],
      database_query: ['rows', 'row_count', 'truncated', 'value'],
      log_search: ['count', 'lines'],
    });
  });
});

describe('evaluateBool fast path agrees with CEL', () => {
  const scope: ExpressionScope = {
    variables: {
      x: { type: 'dyn' },
      n: { type: 'double' },
      m: { type: 'map' },
    },
  };
  const expressions = [
    'x >= 90',
    '90 < x',
    'x == 1.5',
    'x != 0',
    "x == 'critical'",
    "x != 'a'",
    'x == true',
    'x != null',
    'x == null',
    '!x',
    'x && n > 1',
    'x || n <= 1',
    "m.s in ['a', 'b']",
    "m['k-1'].v == 3",
    'm.s == null',
    'n >= 70 && n < 90',
  ];
  const values: unknown[] = [
    0,
    -0,
    1.5,
    90,
    96.4,
    Number.NaN,
    'critical',
    'a',
    true,
    false,
    null,
    [1],
    {},
    new Map([['s', 'a']]),
    Object.create({ s: 'a' }),
  ];
  const cases = expressions.flatMap((source) =>
    values.flatMap((value) => [
      { source, vars: { x: value, n: value, m: { s: value, 'k-1': { v: value } } } },
      { source, vars: { x: value, n: 2, m: value } },
    ]),
  );
  it.each(cases)('$source', ({ source, vars }) => {
    const expr = compiled(source, scope);
    const cel = expr.evaluate(vars);
    const expected =
      cel.ok && typeof cel.value === 'boolean' ? { ok: true, value: cel.value } : { ok: false };
    const got = evaluateBool(expr, vars);
    expect(got.ok ? { ok: true, value: got.value } : { ok: false }).toEqual(expected);
  });
});
