import type { ASTNode, Environment } from '@marcbachmann/cel-js';
import { Duration } from '@marcbachmann/cel-js/evaluator';
import type { CelType, ExpressionScope } from './expression-scope.ts';
import { EXACT_DURATION_MS, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS, timeOf } from './expression-time.ts';

/**
 * The values the plain-JS fast path (src/engine/expression-fast.ts) reads, and how it reads them
 * exactly as CEL would: root variables checked against their declared types, fields of plain
 * objects by own keys, comprehension variables; `MISSING` whenever it is not sure.
 */

/** Reads a value, or `MISSING` when unsure. */
export type Getter = (vars: Record<string, unknown>, now: Date | undefined) => unknown;

export const MISSING = Symbol('missing');

/** The variable `now` of judge's context: the clock it is given replaces any fact of that name. */
export const NOW = 'now';

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
export function isPlainList(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.constructor === Array;
}

/** A value CEL accepts for a `dyn` comprehension variable (a subset of what it accepts). */
export function isPlainValue(value: unknown): boolean {
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
export function isTimestamp(value: unknown): value is Date {
  return value instanceof Date && value.constructor === Date && Number.isFinite(value.getTime());
}

/**
 * What a value node gives: `dyn` a value as it is in the data; `timestamp` the time of a Date
 * CEL would hold (finite milliseconds since the epoch: what CEL compares and subtracts);
 * `duration` the number CEL compares durations by (`Duration.valueOf()`, milliseconds).
 */
export type Kind = 'dyn' | 'timestamp' | 'duration';
export interface Value {
  readonly kind: Kind;
  readonly get: Getter;
  /** Set for a static path: what `get` reads. */
  readonly spec?: PathSpec;
  /** Set for a constant `duration('…')`: the value CEL computes with. */
  readonly duration?: Duration;
}

/** Every Value has the same fields (one object shape: the reads of `spec` stay monomorphic). */
export function makeValue(kind: Kind, get: Getter, spec?: PathSpec, duration?: Duration): Value {
  return { kind, get, spec, duration };
}

/** A comprehension variable's value during one evaluation (evaluation is synchronous). */
export interface Slot {
  value: unknown;
}

export interface Context {
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
export function rootValue(
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
export function field(value: unknown, key: string): unknown {
  return value !== null &&
    typeof value === 'object' &&
    (value as object).constructor === Object &&
    Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : MISSING;
}

/** A static path: a root variable (or a comprehension variable's slot) and keys below it. */
export interface PathSpec {
  readonly name: string;
  readonly type: CelType;
  readonly slot: Slot | undefined;
  readonly segments: readonly string[];
}

/** Reads `spec` (a plain function: the comparisons below call it directly, and inline it). */
export function readSpec(vars: Record<string, unknown>, now: Date | undefined, spec: PathSpec): unknown {
  let value = spec.slot === undefined ? rootValue(vars, now, spec.name, spec.type) : spec.slot.value;
  const segments = spec.segments;
  for (let i = 0; i < segments.length; i++) value = field(value, segments[i]!);
  return value;
}

/** Reads a static path (`a.b["c"]`) through plain objects' own keys, as CEL does. */
export function pathValue(node: ASTNode, ctx: Context): Value | undefined {
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

export function value(node: ASTNode, ctx: Context): Value | undefined {
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

/** What `value` reads: a static path read directly (no call through `get`), else through `get`. */
export function read(vars: Record<string, unknown>, now: Date | undefined, value: Value): unknown {
  return value.spec !== undefined ? readSpec(vars, now, value.spec) : value.get(vars, now);
}
