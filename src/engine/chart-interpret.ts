import type { ChartLevel, ChartThreshold } from './chart-types.ts';

/**
 * Threshold lines read from a diagnostic's `interpret` rules, for the chart of its query. Only a
 * rule that is one comparison of `value` with a number is a line; anything richer (`&&`, `||`, other
 * fields, calls, `==`) is not a level on the y axis, and guessing one would draw a lie. A tiny
 * tokenizer of its own, not the CEL engine: it must accept far less than CEL, and never evaluate.
 */

type Op = ChartThreshold['op'];
type Token = { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'op'; v: Op } | { t: '(' } | { t: ')' };

const LEVELS: readonly ChartLevel[] = ['critical', 'warning', 'healthy'];
/** Seen from the other side: `90 < value` is `value > 90`. */
const FLIPPED: Record<Op, Op> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=' };
const NUMBER = /[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
/** What may not follow a number or a name directly (`90u`, `1x`, `value.x`, `90.5.1`). */
const WORD_CHAR = /[A-Za-z0-9_.]/;
/** A leading `!empty &&`, which the bundled runbooks put before their comparisons. */
const EMPTY_GUARD = /^\s*!\s*empty\s*&&/;

/**
 * The thresholds of `interpret`, in the order critical, warning, healthy: one per level whose
 * expression is exactly `value <op> <number>` or `<number> <op> value` (op `>`, `>=`, `<`, `<=`),
 * with any whitespace and parentheses around the whole or either side, optionally after `!empty &&`.
 */
export function thresholdsFromInterpret(interpret: {
  critical?: string;
  warning?: string;
  healthy?: string;
}): ChartThreshold[] {
  const out: ChartThreshold[] = [];
  for (const level of LEVELS) {
    const expression = interpret[level];
    if (typeof expression !== 'string') continue;
    // `!empty && value >= 90` (the usual guard for a query that may return nothing) is the line
    // at 90: the guard only says there is a sample to compare.
    const tokens = tokenize(expression.replace(EMPTY_GUARD, ''));
    const comparison = tokens && comparisonOf(tokens);
    if (comparison) out.push({ level, ...comparison, source: 'interpret' });
  }
  return out;
}

/** The tokens of `source`, or null at the first character that has no place in a comparison. */
function tokenize(source: string): Token[] | null {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ t: c });
      i++;
    } else if (c === '<' || c === '>') {
      const orEqual = source[i + 1] === '=';
      tokens.push({ t: 'op', v: orEqual ? (`${c}=` as Op) : c });
      i += orEqual ? 2 : 1;
    } else {
      const number = match(NUMBER, source, i);
      const word = number ?? match(IDENTIFIER, source, i);
      if (word === undefined || WORD_CHAR.test(source[i + word.length] ?? '')) return null;
      if (number === undefined) {
        tokens.push({ t: 'id', v: word });
      } else {
        // `+ 0` turns -0 into 0: `value > -0` is the line at zero.
        const v = Number(word) + 0;
        if (!Number.isFinite(v)) return null;
        tokens.push({ t: 'num', v });
      }
      i += word.length;
    }
  }
  return tokens;
}

function match(pattern: RegExp, source: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(source)?.[0];
}

/** `{ op, value }` seen from `value`, when the tokens are one comparison of `value` with a number. */
function comparisonOf(all: Token[]): { op: Op; value: number } | null {
  const tokens = unwrap(all);
  const ops = tokens.flatMap((t, i) => (t.t === 'op' ? [i] : []));
  if (ops.length !== 1) return null;
  const at = ops[0]!;
  const op = (tokens[at] as { v: Op }).v;
  const left = unwrap(tokens.slice(0, at));
  const right = unwrap(tokens.slice(at + 1));
  if (left.length !== 1 || right.length !== 1) return null;
  const [l, r] = [left[0]!, right[0]!];
  if (l.t === 'id' && l.v === 'value' && r.t === 'num') return { op, value: r.v };
  if (r.t === 'id' && r.v === 'value' && l.t === 'num') return { op: FLIPPED[op], value: l.v };
  return null;
}

/** `tokens` without the parentheses that enclose all of it (`((x))` → `x`, but not `(a) > (b)`). */
function unwrap(tokens: Token[]): Token[] {
  let inner = tokens;
  while (inner.length >= 2 && inner[0]!.t === '(' && closingOf(inner) === inner.length - 1) {
    inner = inner.slice(1, -1);
  }
  return inner;
}

/** Index of the `)` that closes the `(` at index 0, or -1. */
function closingOf(tokens: Token[]): number {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!.t;
    if (t === '(') depth++;
    else if (t === ')' && --depth === 0) return i;
  }
  return -1;
}
