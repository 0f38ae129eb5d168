import type { ASTNode, Environment } from '@marcbachmann/cel-js';
import { Duration } from '@marcbachmann/cel-js/evaluator';
import type { CelType, ExpressionScope } from './expression-scope.ts';

/**
 * A plain-JS evaluator for common conditions (`value >= 90`, `diagnostics.x.status == 'critical'`,
 * `a && !b`, `s in ['x', 'y']`, `values.all(s, s.value == 0)`,
 * `list.exists(c, now - timestamp(c.at) < duration('5m'))`): `undefined` means "not sure", and
 * then CEL evaluates the expression as always. It answers only when every value it reads has the
 * type its use calls for and CEL's answer is the plain JS computation done here; anything else
 * (a missing key, null where a number is wanted, a type CEL would reject, an error) is "not sure".
 *
 * It never runs runbook text: it is built from the parsed AST, once, at compile time.
 */
export type Fast = (vars: Record<string, unknown>, now: Date | undefined) => boolean | undefined;
/** Reads a value, or `MISSING` when unsure. */
type Getter = (vars: Record<string, unknown>, now: Date | undefined) => unknown;

const MISSING = Symbol('missing');

/** The variable `now` of judge's context: the clock it is given replaces any fact of that name. */
const NOW = 'now';

const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * The same string as a property key V8 has interned: keys cut out of the source are not, and
 * reading a property by a key that is not costs a string-table lookup every time.
 */
export function internKey(key: string): string {
  return Object.keys({ [key]: true })[0]!;
}

/**
 * A map CEL reads by own keys: a plain object. CEL looks at `constructor` (an object with an own
 * `constructor` key is "unsupported" to it), so this does too.
 */
function isPlainMap(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as object).constructor === Object &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** A list CEL iterates as it is. */
function isPlainList(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.constructor === Array;
}

/** A value CEL accepts for a `dyn` comprehension variable (a subset of what it accepts). */
function isPlainValue(value: unknown): boolean {
  switch (typeof value) {
    case 'number':
    case 'string':
    case 'boolean':
      return true;
    case 'object':
      if (value === null) return true;
      return (value as object).constructor === Object || (value as object).constructor === Array;
    default:
      return false;
  }
}

/** A Date CEL takes as a timestamp (CEL looks at `constructor`), with a time. */
function isTimestamp(value: unknown): value is Date {
  return value instanceof Date && value.constructor === Date && Number.isFinite(value.getTime());
}

/**
 * What a value node gives: `dyn` a value as it is in the data; `timestamp` the time of a Date
 * CEL would hold (finite milliseconds since the epoch: what CEL compares and subtracts);
 * `duration` the number CEL compares durations by (`Duration.valueOf()`, milliseconds).
 */
type Kind = 'dyn' | 'timestamp' | 'duration';
interface Value {
  readonly kind: Kind;
  readonly get: Getter;
  /** Set for a static path: what `get` reads. */
  readonly spec?: PathSpec;
  /** Set for a constant `duration('…')`: the value CEL computes with. */
  readonly duration?: Duration;
}

/** Every Value has the same fields (one object shape: the reads of `spec` stay monomorphic). */
function makeValue(kind: Kind, get: Getter, spec?: PathSpec, duration?: Duration): Value {
  return { kind, get, spec, duration };
}

/** A comprehension variable's value during one evaluation (evaluation is synchronous). */
interface Slot {
  value: unknown;
}

interface Context {
  readonly scope: ExpressionScope;
  readonly env: Environment;
  /** Comprehension variables in scope, innermost last. */
  readonly bound: ReadonlyMap<string, Slot>;
}

/**
 * A root variable as CEL's context gives it (an own property; with `now` given, CEL sees
 * `{ ...vars, now }`, so an own enumerable one), checked against its declared type: the value,
 * a timestamp's milliseconds, or `MISSING`. Plain functions, so the getters below inline them.
 */
function rootValue(
  vars: Record<string, unknown>,
  now: Date | undefined,
  root: string,
  type: CelType,
): unknown {
  let value: unknown;
  if (root === NOW && now !== undefined) value = now;
  else if (now === undefined ? Object.hasOwn(vars, root) : isEnumerable.call(vars, root)) value = vars[root];
  else return MISSING;
  switch (type) {
    case 'dyn':
      return value;
    case 'double':
      return typeof value === 'number' ? value : MISSING;
    case 'string':
      return typeof value === 'string' ? value : MISSING;
    case 'bool':
      return typeof value === 'boolean' ? value : MISSING;
    case 'map':
      return isPlainMap(value) ? value : MISSING;
    case 'list':
      return isPlainList(value) ? value : MISSING;
    case 'timestamp':
      return isTimestamp(value) ? value.getTime() : MISSING;
    default:
      return MISSING;
  }
}

/**
 * `value.key` as CEL reads a `dyn` value's field (and, below a root already checked as a plain
 * map, a map's key): an own key of an object whose `constructor` is Object, else `MISSING`.
 */
function field(value: unknown, key: string): unknown {
  return value !== null &&
    typeof value === 'object' &&
    (value as object).constructor === Object &&
    Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : MISSING;
}

/** A static path: a root variable (or a comprehension variable's slot) and keys below it. */
interface PathSpec {
  readonly name: string;
  readonly type: CelType;
  readonly slot: Slot | undefined;
  readonly segments: readonly string[];
}

/** Reads `spec` (a plain function: the comparisons below call it directly, and inline it). */
function readSpec(vars: Record<string, unknown>, now: Date | undefined, spec: PathSpec): unknown {
  let value = spec.slot === undefined ? rootValue(vars, now, spec.name, spec.type) : spec.slot.value;
  const segments = spec.segments;
  for (let i = 0; i < segments.length; i++) value = field(value, segments[i]!);
  return value;
}

/** Reads a static path (`a.b["c"]`) through plain objects' own keys, as CEL does. */
function pathValue(node: ASTNode, ctx: Context): Value | undefined {
  const segments: string[] = [];
  let cur = node;
  for (;;) {
    if (cur.op === '.') {
      segments.unshift(internKey(cur.args[1]));
      cur = cur.args[0];
    } else if (cur.op === '[]' && cur.args[1].op === 'value' && typeof cur.args[1].args === 'string') {
      segments.unshift(internKey(cur.args[1].args));
      cur = cur.args[0];
    } else break;
  }
  if (cur.op !== 'id' || typeof cur.args !== 'string') return undefined;
  const name = internKey(cur.args);
  const slot = ctx.bound.get(name);
  if (slot) {
    const spec: PathSpec = { name, type: 'dyn', slot, segments };
    return makeValue('dyn', (vars, now) => readSpec(vars, now, spec), spec);
  }
  if (!Object.hasOwn(ctx.scope.variables, name)) return undefined;
  const type = ctx.scope.variables[name]!.type;
  if (segments.length > 0 && type !== 'dyn' && type !== 'map') return undefined;
  const kind: Kind = type === 'timestamp' ? 'timestamp' : 'dyn';
  if (kind === 'dyn') {
    const spec: PathSpec = { name, type, slot: undefined, segments };
    return makeValue(kind, (vars, now) => readSpec(vars, now, spec), spec);
  }
  // A timestamp root (no keys below it): its milliseconds.
  return makeValue(kind, (vars, now) => rootValue(vars, now, name, type));
}

// cel-js's `timestamp(string)`: 20 to 30 characters, `new Date(text)`, years 1 to 9999.
const MIN_TIMESTAMP_MS = -62135596800000;
const MAX_TIMESTAMP_MS = 253402300799999;
// Below this many milliseconds, `Duration.fromMilliseconds(ms).valueOf() === ms` exactly
// (ms × 10⁶ nanoseconds is an exact double); beyond it, the library computes it.
const EXACT_DURATION_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1_000_000);

/**
 * `new Date(text).getTime()`, remembered for the last text while a memo is open. judge opens one
 * around the levels of one step, which often parse the same times (`critical` and `warning` of a
 * deploy-age check): nothing can change how a text parses (the time zone) while it runs.
 */
let memoOpen = false;
let memoText: string | undefined;
let memoTime = 0;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal digits of `text` from `start` to `end`, or -1. */
function digits(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * `YYYY-MM-DDTHH:mm:ssZ` or `YYYY-MM-DDTHH:mm:ss.sssZ` with every field in range (years 1000 and
 * later): the time ECMAScript's Date Time String Format gives it, which `new Date(text)` must
 * give too. Anything else: NaN (then `new Date(text)` parses it).
 */
export function isoUtcTime(text: string): number {
  const length = text.length;
  if (length !== 20 && length !== 24) return Number.NaN;
  if (
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(length - 1) !== 90 // Z
  )
    return Number.NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  let milli = 0;
  if (length === 24) {
    if (text.charCodeAt(19) !== 46) return Number.NaN; // .
    milli = digits(text, 20, 23);
  }
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return Number.NaN;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || milli < 0) return Number.NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, milli);
}

function timeOf(text: string): number {
  if (memoOpen && text === memoText) return memoTime;
  const iso = isoUtcTime(text);
  const ms = Number.isNaN(iso) ? new Date(text).getTime() : iso;
  if (memoOpen) {
    memoText = text;
    memoTime = ms;
  }
  return ms;
}

/** Opens the memo; false when one was already open (then leave it to its opener to close). */
export function openTimeMemo(): boolean {
  if (memoOpen) return false;
  memoOpen = true;
  return true;
}

export function closeTimeMemo(): void {
  memoOpen = false;
  memoText = undefined;
}

/** `timestamp(…)` and `duration(…)` of a string literal: a constant, computed as CEL does. */
function literalCall(node: ASTNode, ctx: Context): Value | undefined {
  const [name, args] = node.args as [string, ASTNode[]];
  if (args.length !== 1 || args[0]!.op !== 'value' || typeof args[0]!.args !== 'string') return undefined;
  if (name !== 'duration' && name !== 'timestamp') return undefined;
  const text = args[0]!.args;
  let value: unknown;
  try {
    // The same string back as a CEL literal (checked), then CEL's own function of it.
    const literal = JSON.stringify(text);
    if (ctx.env.evaluate(literal) !== text) return undefined;
    value = ctx.env.evaluate(`${name}(${literal})`);
  } catch {
    return undefined;
  }
  if (name === 'duration' && value instanceof Duration) {
    const ms = value.valueOf();
    return makeValue('duration', () => ms, undefined, value);
  }
  if (name === 'timestamp' && isTimestamp(value)) {
    const ms = value.getTime();
    return makeValue('timestamp', () => ms);
  }
  return undefined;
}

function value(node: ASTNode, ctx: Context): Value | undefined {
  switch (node.op) {
    case 'call': {
      const literal = literalCall(node, ctx);
      if (literal) return literal;
      const [name, args] = node.args as [string, ASTNode[]];
      if (name !== 'timestamp' || args.length !== 1) return undefined;
      const arg = value(args[0]!, ctx);
      if (arg?.kind !== 'dyn') return undefined;
      return makeValue('timestamp', (vars, now) => {
        const text = read(vars, now, arg);
        if (typeof text !== 'string' || text.length < 20 || text.length > 30) return MISSING;
        const ms = timeOf(text);
        return ms <= MAX_TIMESTAMP_MS && ms >= MIN_TIMESTAMP_MS ? ms : MISSING;
      });
    }
    case '-':
    case '+': {
      const [l, r] = node.args as [ASTNode, ASTNode];
      const left = value(l, ctx);
      const right = left && value(r, ctx);
      if (!left || !right) return undefined;
      if (node.op === '-' && left.kind === 'timestamp' && right.kind === 'timestamp') {
        const a = left.get;
        const b = right.get;
        return makeValue('duration', (vars, now) => {
          const x = a(vars, now);
          if (x === MISSING) return MISSING;
          const y = b(vars, now);
          if (y === MISSING) return MISSING;
          const ms = (x as number) - (y as number);
          return Math.abs(ms) <= EXACT_DURATION_MS ? ms : Duration.fromMilliseconds(ms).valueOf();
        });
      }
      // timestamp ± duration('…'), duration('…') + timestamp: the library's own arithmetic.
      const constant =
        left.kind === 'timestamp' && right.duration
          ? { ts: left.get, d: right.duration }
          : node.op === '+' && right.kind === 'timestamp' && left.duration
            ? { ts: right.get, d: left.duration }
            : undefined;
      if (!constant) return undefined;
      const { ts, d } = constant;
      const shift = node.op === '-' ? (t: Date) => d.subtractTimestamp(t) : (t: Date) => d.extendTimestamp(t);
      return makeValue('timestamp', (vars, now) => {
        const t = ts(vars, now);
        if (t === MISSING) return MISSING;
        const ms = shift(new Date(t as number)).getTime();
        return Number.isFinite(ms) ? ms : MISSING;
      });
    }
    default:
      return pathValue(node, ctx);
  }
}

type Literal = number | string | boolean | null;

/** A literal the fast path compares exactly as CEL does, or `MISSING`. */
function fastLiteral(node: ASTNode): Literal | typeof MISSING {
  if (node.op !== 'value') return MISSING;
  const literal: unknown = node.args;
  if (typeof literal === 'bigint') {
    // Only integers a double holds exactly: then double-vs-int is the plain numeric comparison.
    return literal <= BigInt(Number.MAX_SAFE_INTEGER) && literal >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(literal)
      : MISSING;
  }
  if (
    literal === null ||
    typeof literal === 'number' ||
    typeof literal === 'string' ||
    typeof literal === 'boolean'
  )
    return literal;
  return MISSING;
}

const MIRRORED: Record<string, string> = {
  '==': '==',
  '!=': '!=',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};

/** What `value` reads: a static path read directly (no call through `get`), else through `get`. */
function read(vars: Record<string, unknown>, now: Date | undefined, value: Value): unknown {
  return value.spec !== undefined ? readSpec(vars, now, value.spec) : value.get(vars, now);
}

function fastCompare(op: string, got: Value, literal: Literal): Fast | undefined {
  const equality = op === '==' || op === '!=';
  if (literal === null) {
    if (!equality) return undefined;
    const equal = op === '==';
    return (vars, now) => {
      const v = read(vars, now, got);
      if (v === null) return equal;
      const t = typeof v;
      return t === 'number' || t === 'string' || t === 'boolean' ? !equal : undefined;
    };
  }
  const kind = typeof literal;
  // Strings and bools only for equality: CEL orders strings by code point, JS by UTF-16 unit.
  if (kind !== 'number' && !equality) return undefined;
  switch (op) {
    case '==':
      return (vars, now) => {
        const v = read(vars, now, got);
        return typeof v === kind ? v === literal : undefined;
      };
    case '!=':
      return (vars, now) => {
        const v = read(vars, now, got);
        return typeof v === kind ? v !== literal : undefined;
      };
    case '<':
      return (vars, now) => {
        const v = read(vars, now, got);
        return typeof v === 'number' ? v < (literal as number) : undefined;
      };
    case '<=':
      return (vars, now) => {
        const v = read(vars, now, got);
        return typeof v === 'number' ? v <= (literal as number) : undefined;
      };
    case '>':
      return (vars, now) => {
        const v = read(vars, now, got);
        return typeof v === 'number' ? v > (literal as number) : undefined;
      };
    case '>=':
      return (vars, now) => {
        const v = read(vars, now, got);
        return typeof v === 'number' ? v >= (literal as number) : undefined;
      };
    default:
      return undefined;
  }
}

/** Timestamps by their time, durations by their value: what CEL's `<`, `<=`, `>`, `>=` compare. */
function orderOf(op: string, left: Value, right: Value): Fast | undefined {
  if (left.kind !== right.kind || left.kind === 'dyn') return undefined;
  const a = left.get;
  const b = right.get;
  const compare =
    op === '<'
      ? (x: number, y: number) => x < y
      : op === '<='
        ? (x: number, y: number) => x <= y
        : op === '>'
          ? (x: number, y: number) => x > y
          : op === '>='
            ? (x: number, y: number) => x >= y
            : undefined;
  if (!compare) return undefined;
  return (vars, now) => {
    const x = a(vars, now);
    if (x === MISSING) return undefined;
    const y = b(vars, now);
    if (y === MISSING) return undefined;
    return compare(x as number, y as number);
  };
}

/** `list.all(v, p)`, `list.exists(v, p)`, `list.exists_one(v, p)` over a plain list. */
function quantifier(node: ASTNode, ctx: Context): Fast | undefined {
  const [name, receiver, args] = node.args as [string, ASTNode, ASTNode[]];
  if (name !== 'all' && name !== 'exists' && name !== 'exists_one') return undefined;
  if (args.length !== 2 || args[0]!.op !== 'id' || typeof args[0]!.args !== 'string') return undefined;
  const list = value(receiver, ctx);
  if (list?.kind !== 'dyn') return undefined;
  const slot: Slot = { value: undefined };
  const bound = new Map(ctx.bound);
  bound.delete(args[0]!.args);
  bound.set(args[0]!.args, slot);
  const predicate = fastEvaluator(args[1]!, ctx.scope, ctx.env, bound);
  if (!predicate) return undefined;
  // Elements are tried in order, as CEL does; the first one not sure makes the whole not sure.
  const wanted = name !== 'all';
  const whenFound = name === 'all' ? false : name === 'exists';
  const whenNot = name === 'all';
  // The slot is cleared after each run (not to hold on to the facts); nothing here throws.
  if (name === 'exists_one') {
    return (vars, now) => {
      const items = read(vars, now, list);
      if (!isPlainList(items)) return undefined;
      let count = 0;
      let sure = true;
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (!isPlainValue(item)) {
          sure = false;
          break;
        }
        slot.value = item;
        const held = predicate(vars, now);
        if (held === undefined) {
          sure = false;
          break;
        }
        if (held) count++;
      }
      slot.value = undefined;
      return sure ? count === 1 : undefined;
    };
  }
  return (vars, now) => {
    const items = read(vars, now, list);
    if (!isPlainList(items)) return undefined;
    let answer: boolean | undefined = whenNot;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!isPlainValue(item)) {
        answer = undefined;
        break;
      }
      slot.value = item;
      const held = predicate(vars, now);
      if (held === undefined || held === wanted) {
        answer = held === undefined ? undefined : whenFound;
        break;
      }
    }
    slot.value = undefined;
    return answer;
  };
}

export function fastEvaluator(
  node: ASTNode,
  scope: ExpressionScope,
  env: Environment,
  bound: ReadonlyMap<string, Slot> = new Map(),
): Fast | undefined {
  const ctx: Context = { scope, env, bound };
  switch (node.op) {
    case '&&':
    case '||': {
      const left = fastEvaluator(node.args[0], scope, env, bound);
      const right = left && fastEvaluator(node.args[1], scope, env, bound);
      if (!left || !right) return undefined;
      // Either side unsure: CEL decides (it also covers an error on one side of a decided operator).
      return node.op === '&&'
        ? (vars, now) => {
            const a = left(vars, now);
            if (a === undefined) return undefined;
            return a ? right(vars, now) : false;
          }
        : (vars, now) => {
            const a = left(vars, now);
            if (a === undefined) return undefined;
            return a ? true : right(vars, now);
          };
    }
    case '!_': {
      const inner = fastEvaluator(node.args, scope, env, bound);
      if (!inner) return undefined;
      return (vars, now) => {
        const a = inner(vars, now);
        return a === undefined ? undefined : !a;
      };
    }
    case '==':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const [l, r] = node.args as [ASTNode, ASTNode];
      const rightLiteral = fastLiteral(r);
      if (rightLiteral !== MISSING) {
        const left = value(l, ctx);
        return left?.kind === 'dyn' ? fastCompare(node.op, left, rightLiteral) : undefined;
      }
      const leftLiteral = fastLiteral(l);
      if (leftLiteral !== MISSING) {
        const right = value(r, ctx);
        return right?.kind === 'dyn' ? fastCompare(MIRRORED[node.op]!, right, leftLiteral) : undefined;
      }
      const left = value(l, ctx);
      const right = left && value(r, ctx);
      return left && right ? orderOf(node.op, left, right) : undefined;
    }
    case 'in': {
      const [l, r] = node.args as [ASTNode, ASTNode];
      const left = value(l, ctx);
      if (left?.kind !== 'dyn' || r.op !== 'list' || !Array.isArray(r.args)) return undefined;
      const items: string[] = [];
      for (const item of r.args as ASTNode[]) {
        if (item.op !== 'value' || typeof item.args !== 'string') return undefined;
        items.push(item.args);
      }
      return (vars, now) => {
        const v = read(vars, now, left);
        return typeof v === 'string' ? items.includes(v) : undefined;
      };
    }
    case 'rcall':
      return quantifier(node, ctx);
    default: {
      const got = value(node, ctx);
      if (got?.kind !== 'dyn') return undefined;
      return (vars, now) => {
        const v = read(vars, now, got);
        return typeof v === 'boolean' ? v : undefined;
      };
    }
  }
}
