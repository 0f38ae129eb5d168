import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paymentRunbook } from '../../scripts/harness/fixtures/payment-runbook.ts';
import { fastEvaluator } from '../../src/engine/expression-fast.ts';
import { environmentFor } from '../../src/engine/expression-scope.ts';
import { closeTimeMemo, isoUtcTime, openTimeMemo } from '../../src/engine/expression-time.ts';
import type { ExpressionScope } from '../../src/engine/expressions.ts';
import { compileExpression, evaluateBool, evaluateBoolAt } from '../../src/engine/expressions.ts';
import { interpretScope } from '../../src/engine/facts.ts';
import type { DiagnosticType } from '../../src/engine/runbook-schema.ts';

function compiled(source: string, scope: ExpressionScope) {
  const result = compileExpression(source, scope);
  if (!result.ok) throw new Error(`expected ${source} to compile, got: ${result.reason}`);
  return result.expr;
}

/** What CEL alone says (the expression's own evaluate never takes the fast path). */
function celSays(source: string, scope: ExpressionScope, vars: Record<string, unknown>) {
  const cel = compiled(source, scope).evaluate(vars);
  return cel.ok && typeof cel.value === 'boolean' ? { ok: true, value: cel.value } : { ok: false };
}

function fastSays(source: string, scope: ExpressionScope, vars: Record<string, unknown>) {
  const got = evaluateBool(compiled(source, scope), vars);
  return got.ok ? { ok: true, value: got.value } : { ok: false };
}

const NOW = new Date('2024-05-01T10:00:00Z');

describe('fast path agrees with CEL: comprehensions, timestamps, durations', () => {
  const scope: ExpressionScope = {
    variables: {
      xs: { type: 'list' },
      j: { type: 'dyn' },
      m: { type: 'map' },
      now: { type: 'timestamp' },
    },
  };
  const expressions = [
    'xs.all(s, s.value == 0)',
    'xs.exists(s, s.value == 0)',
    'xs.exists_one(s, s.value == 0)',
    'xs.all(s, s.value >= 1)',
    "xs.exists(s, s.type == 'Progressing' && now - timestamp(s.at) < duration('5m'))",
    "xs.exists(s, now - timestamp(s.at) >= duration('30m'))",
    "xs.all(s, timestamp(s.at) < now - duration('1h'))",
    "xs.all(s, timestamp(s.at) + duration('90m') > now)",
    "xs.exists(s, timestamp(s.at) > timestamp('2024-05-01T09:00:00Z'))",
    'j.items.exists(c, c.status >= 500)',
    'j.items.all(c, c.ok)',
    'j.items.exists(c, c.items.exists(c, c == 1))',
    'xs.exists(xs, xs.value == 0)',
    'm.flag || xs.exists(s, s.value == 0)',
    "j.items.exists(c, c.name in ['a', 'b'])",
    'xs.all(s, true == s.ok)',
    'j != null && j.n < 14',
  ];
  const elements: unknown[] = [
    { value: 0, type: 'Progressing', at: '2024-05-01T09:58:00Z', ok: true },
    { value: 1, type: 'Progressing', at: '2024-05-01T09:48:00Z', ok: false },
    { value: 0.5, type: 'Available', at: '2024-04-30T08:00:00Z' },
    { value: Number.NaN, at: '2024-05-01T09:58:00.123Z' },
    { value: -0, at: '2024-05-01T09:58:00+02:00' },
    { value: '0', at: '2024-13-01T00:00:00Z' },
    { value: null, at: '2024-02-30T00:00:00Z' },
    { value: 0, at: 'yesterday' },
    { value: 0, at: 1714557480 },
    { value: 0, at: '0001-01-01T00:00:00Z' },
    { value: 0, at: '2023-12-01T10:00:00Z' },
    { value: 0, at: '9999-12-31T23:59:59.999Z' },
    { value: 0, at: '1800-01-01T00:00:00Z' },
    { status: 503, name: 'a', ok: true, items: [1, 2] },
    { status: 200, name: 'c', ok: 'yes', items: [] },
    { status: '503', name: 1, items: ['1'] },
    {},
    null,
    0,
    'text',
    [1],
    [],
    new Map([['value', 0]]),
    Object.create({ value: 0 }),
    { constructor: 'x', value: 0 },
    new Date(0),
    undefined,
    () => 0,
  ];
  const lists: unknown[] = [
    [],
    ...elements.map((e) => [e]),
    elements.slice(0, 3),
    [elements[1], elements[0]],
    [elements[2], elements[16], elements[0]],
    [elements[0], elements[17]],
    [elements[13], elements[14]],
    null,
    'not a list',
    new Set([elements[0]]),
    { 0: elements[0] },
  ];
  const cases = expressions.flatMap((source) =>
    lists.flatMap((list) => [
      { source, vars: { xs: list, j: { items: list, n: 3 }, m: { flag: false }, now: NOW } },
      { source, vars: { xs: list, j: list, m: list, now: NOW } },
    ]),
  );
  it.each(cases)('$source', ({ source, vars }) => {
    expect(fastSays(source, scope, vars)).toEqual(celSays(source, scope, vars));
  });

  it('agrees for any ISO-looking time, with and without the parse memo', () => {
    const source = "xs.exists(s, now - timestamp(s.at) < duration('30m'))";
    const expr = compiled(source, scope);
    const digit = fc.constantFrom(...'0123456789');
    const text = fc
      .tuple(
        fc.array(digit, { minLength: 4, maxLength: 4 }),
        fc.array(digit, { minLength: 2, maxLength: 2 }),
        fc.array(digit, { minLength: 2, maxLength: 2 }),
        fc.array(digit, { minLength: 6, maxLength: 6 }),
        fc.constantFrom('', '.000', '.5', '.999', '.1234'),
        fc.constantFrom('Z', '+01:00', 'z', ''),
      )
      .map(
        ([y, mo, d, hms, frac, zone]) =>
          `${y.join('')}-${mo.join('')}-${d.join('')}T${hms[0]}${hms[1]}:${hms[2]}${hms[3]}:${hms[4]}${hms[5]}${frac}${zone}`,
      );
    fc.assert(
      fc.property(text, fc.date({ noInvalidDate: true }), (at, now) => {
        const vars = { xs: [{ at }], now };
        const cel = expr.evaluate(vars);
        const expected = cel.ok ? { ok: true, value: cel.value } : { ok: false };
        const plain = evaluateBool(expr, vars);
        expect(plain.ok ? { ok: true, value: plain.value } : { ok: false }).toEqual(expected);
        openTimeMemo();
        try {
          evaluateBool(expr, vars);
          const memo = evaluateBool(expr, vars);
          expect(memo.ok ? { ok: true, value: memo.value } : { ok: false }).toEqual(expected);
        } finally {
          closeTimeMemo();
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isoUtcTime', () => {
  it.each([
    '2024-05-01T09:48:00Z',
    '2024-05-01T09:48:00.123Z',
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2000-02-29T23:59:59.999Z',
    '2024-04-31T00:00:00Z',
    '2024-00-10T00:00:00Z',
    '2024-01-10T24:00:00Z',
    '2024-01-10T23:60:00Z',
    '0999-01-01T00:00:00Z',
    '2024-01-10 10:00:00Z',
    '2024-01-10T10:00:00+00:00',
    '2024-01-10T10:00:00.12Z',
  ])('%s is what new Date gives, or NaN (then new Date decides)', (text) => {
    const time = isoUtcTime(text);
    if (!Number.isNaN(time)) expect(time).toBe(new Date(text).getTime());
  });

  it('never disagrees with new Date on 24-character strings of digits and separators', () => {
    const chars = fc.constantFrom(...'0123456789-T:.Z');
    fc.assert(
      fc.property(fc.array(chars, { minLength: 20, maxLength: 24 }), (cs) => {
        const text = cs.join('');
        const time = isoUtcTime(text);
        if (!Number.isNaN(time)) expect(time).toBe(new Date(text).getTime());
      }),
      { numRuns: 5000 },
    );
  });
});

describe('the payment runbook: fast path and judge-style `now` agree with CEL on `{ ...facts, now }`', () => {
  const factsOf: Record<string, Record<string, unknown>[]> = {
    prometheus_query: [
      {
        value: 1,
        values: [
          { labels: {}, value: 1 },
          { labels: {}, value: 0 },
        ],
        count: 2,
        empty: false,
      },
      { value: 0, values: [], count: 0, empty: true },
      { value: null, values: [{ labels: {}, value: 0.5 }], count: 1, empty: false },
      { value: 96.4, values: [{ labels: {}, value: '1' }], count: 1, empty: 'no' },
      { value: 7.25 },
      { values: null, empty: false },
      {},
    ],
    shell_command: [
      {
        exit_code: 0,
        json: {
          status: {
            conditions: [
              { type: 'Available', lastUpdateTime: '2024-04-30T08:00:00Z' },
              { type: 'Progressing', lastUpdateTime: '2024-05-01T09:48:00Z' },
            ],
          },
        },
      },
      { exit_code: 0, json: { status: { conditions: [{ type: 'Progressing', lastUpdateTime: 'soon' }] } } },
      { exit_code: 0, json: { status: { conditions: [{ type: 'Progressing' }] } } },
      { exit_code: 0, json: null },
      { exit_code: 1, json: null },
      { exit_code: 0, json: { status: { conditions: [] } }, now: 'a fact named now' },
    ],
    http_check: [
      {
        checks: [{ status: 200 }, { status: 503 }],
        all_healthy: false,
        any_unreachable: false,
        slow_count: 0,
        min_cert_days: null,
      },
      {
        checks: [{ status: 200 }],
        all_healthy: true,
        any_unreachable: false,
        slow_count: 0,
        min_cert_days: 61,
      },
      { checks: [], all_healthy: true, any_unreachable: false, slow_count: 0, min_cert_days: 3 },
      { checks: [{ status: null }], all_healthy: true, any_unreachable: false, slow_count: '0' },
      { checks: 'x', any_unreachable: null },
    ],
  };
  const cases = paymentRunbook.diagnostics.flatMap((step) =>
    Object.values(step.interpret).flatMap((source) =>
      (factsOf[step.type] ?? []).map((facts) => ({ source: source!, type: step.type, facts })),
    ),
  );
  it.each(cases)('$type: $source', ({ source, type, facts }) => {
    const scope = interpretScope(type as DiagnosticType);
    const expr = compiled(source, scope);
    const cel = expr.evaluate({ ...facts, now: NOW });
    const expected =
      cel.ok && typeof cel.value === 'boolean' ? { ok: true, value: cel.value } : { ok: false };
    const got = evaluateBoolAt(expr, facts, NOW);
    expect(got.ok ? { ok: true, value: got.value } : { ok: false }).toEqual(expected);
    // The reason of a failure is CEL's, read from the same context.
    if (!got.ok) {
      const again = evaluateBool(expr, { ...facts, now: NOW });
      expect(again).toEqual(got);
    }
  });
});

describe('the fast path answers on plain facts (CEL is not needed)', () => {
  const facts: Record<string, Record<string, unknown>> = {
    prometheus_query: {
      value: 1,
      values: [
        { labels: {}, value: 1 },
        { labels: {}, value: 0 },
      ],
      count: 2,
      empty: false,
    },
    shell_command: {
      exit_code: 0,
      json: { status: { conditions: [{ type: 'Progressing', lastUpdateTime: '2024-05-01T09:48:00Z' }] } },
    },
    http_check: {
      checks: [{ status: 200 }],
      all_healthy: true,
      any_unreachable: false,
      slow_count: 0,
      min_cert_days: 61,
    },
  };
  const cases = paymentRunbook.diagnostics.flatMap((step) =>
    Object.values(step.interpret).map((source) => ({ source: source!, type: step.type })),
  );
  it.each(cases)('$type: $source', ({ source, type }) => {
    const scope = interpretScope(type as DiagnosticType);
    const env = environmentFor(scope);
    const fast = fastEvaluator(env.parse(source).ast, scope, env);
    expect(fast).toBeDefined();
    expect(typeof fast!(facts[type]!, NOW)).toBe('boolean');
  });
});
