import type { Environment, ParseResult } from '@marcbachmann/cel-js';
import { EvaluationError, ParseError } from '@marcbachmann/cel-js';
import { type Fast, fastEvaluator } from './expression-fast.ts';
import type { ExpressionScope } from './expression-scope.ts';
import { checkScope, environmentFor } from './expression-scope.ts';
import type { ReadPath } from './expression-syntax.ts';
import { formatPath, literalCalls, readsOf, rewriteJsEquality } from './expression-syntax.ts';

export type { CelType, ExpressionScope, ScopeNode, ScopeVariable } from './expression-scope.ts';
export type { ReadPath } from './expression-syntax.ts';
export { formatPath, rewriteJsEquality } from './expression-syntax.ts';
export { internKey } from './expression-values.ts';

/** What evaluating an expression gave: a value, or why it could not be evaluated. */
export type EvalResult = { ok: true; value: unknown } | { ok: false; reason: string };

/** An expression parsed and checked once, evaluated many times. */
export interface CompiledExpression {
  /** As written by the author (before `===` was rewritten). */
  readonly source: string;
  /** Variable paths it reads, e.g. `['diagnostics.check_db.status', 'value']`. */
  readonly reads: string[];
  /** The same paths as segments, for reading their values out of a context. */
  readonly readPaths: readonly ReadPath[];
  /** The CEL type the checker inferred (`bool`, `double`, `dyn`, …). */
  readonly resultType: string;
  evaluate(vars: Record<string, unknown>): EvalResult;
}

export type CompileExpressionResult = { ok: true; expr: CompiledExpression } | { ok: false; reason: string };

/** The CEL name of a runtime value's type, for messages such as "expected a bool, got int". */
export function celTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'timestamp';
  if (value instanceof Uint8Array) return 'bytes';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' && name !== 'Map' ? name.toLowerCase() : 'map';
}

/** Reads the value at `path` from `vars`, or `undefined` when some key on the way is absent. */
export function readPath(vars: unknown, path: ReadPath): unknown {
  let value = vars;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
    // Data holds no functions: a function here is inherited (`constructor`, `toString`), not a value.
    if (typeof value === 'function' || key === '__proto__') return undefined;
  }
  return value;
}

function position(source: string, index: number): string {
  const before = source.slice(0, index).split('\n');
  const column = (before.at(-1)?.length ?? 0) + 1;
  return before.length > 1 ? `at line ${before.length}, column ${column}` : `at column ${column}`;
}

/** "problem (at column 7 of `value >= 90`)": the expression and, when known, where in it. */
function located(problem: string, source: string, index: number | undefined): string {
  const where = index === undefined ? 'in' : `${position(source, index)} of`;
  return `${problem} (${where} \`${source}\`)`;
}

/** Names the reads that are null (or pass through null): the usual cause of "no such overload". */
function nullHint(paths: readonly ReadPath[], vars: Record<string, unknown>): string {
  const nulls = new Set<string>();
  for (const path of paths) {
    let value: unknown = vars;
    for (let i = 0; i < path.length; i++) {
      if (value === null || typeof value !== 'object') break;
      value = (value as Record<string, unknown>)[path[i]!];
      if (value === null) {
        nulls.add(formatPath(path.slice(0, i + 1)));
        break;
      }
    }
  }
  if (nulls.size === 0) return '';
  const names = [...nulls];
  return ` — ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} null`;
}

/** What a rule condition or interpret level gives: a bool, or why there is none. */
export type BoolResult = { ok: true; value: boolean } | { ok: false; reason: string };

const TRUE: BoolResult = Object.freeze({ ok: true, value: true });
const FALSE: BoolResult = Object.freeze({ ok: true, value: false });
// judge and decide evaluate conditions on a hot path: this variant allocates nothing when it holds.
const TEST_BOOL = Symbol('testBool');
/** `now`, when given, is the variable `now` over `vars` (judge's clock over a step's facts). */
type TestBool = (vars: Record<string, unknown>, now: Date | undefined) => BoolResult;
// The plain-JS fast path, when the expression has one: tried before TEST_BOOL, one call less.
const FAST = Symbol('fast');
type Testable = CompiledExpression & { [TEST_BOOL]?: TestBool; [FAST]?: Fast };

function notBool(value: unknown, source: string): BoolResult {
  return { ok: false, reason: located(`expected a bool, got ${celTypeName(value)}`, source, undefined) };
}

function makeExpression(
  source: string,
  parsed: ParseResult,
  reads: readonly { path: ReadPath; text: string }[],
  resultType: string,
  originalIndex: (index: number) => number,
  fast: Fast | undefined,
): CompiledExpression {
  const readPaths = reads.map((r) => r.path);
  const failure = (err: unknown, vars: Record<string, unknown>): { ok: false; reason: string } => {
    if (!(err instanceof EvaluationError)) throw err;
    const start = err.range?.start;
    const problem = `${err.summary}${nullHint(readPaths, vars)}`;
    return {
      ok: false,
      reason: located(problem, source, start === undefined ? undefined : originalIndex(start)),
    };
  };
  const expr: Testable = {
    source,
    reads: reads.map((r) => r.text),
    readPaths,
    resultType,
    evaluate(vars) {
      try {
        return { ok: true, value: parsed(vars) };
      } catch (err) {
        return failure(err, vars);
      }
    },
    [FAST]: fast,
    [TEST_BOOL](vars, now) {
      // Not sure (or no fast path): CEL decides, on the context as it has always seen it.
      const context = now === undefined ? vars : { ...vars, now };
      let value: unknown;
      try {
        value = parsed(context);
      } catch (err) {
        return failure(err, context);
      }
      return value === true ? TRUE : value === false ? FALSE : notBool(value, source);
    },
  };
  return expr;
}

type Folded =
  | { ok: true; run: ParseResult; textIndex: (index: number) => number }
  | { ok: false; problem: string; start: number };

/**
 * Evaluates `duration('5m')`-style calls once, at compile time: an invalid literal is a compile
 * error, and evaluation skips re-parsing it (that parsing was most of the cost of time checks).
 * Each call becomes a constant of a private environment; `textIndex` maps positions back.
 */
function foldLiteralCalls(env: Environment, text: string, parsed: ParseResult): Folded {
  const calls = literalCalls(parsed.ast);
  if (calls.length === 0) return { ok: true, run: parsed, textIndex: (index) => index };
  const own = env.clone();
  const shifts: { at: number; delta: number }[] = [];
  let folded = '';
  let last = 0;
  for (const [k, call] of calls.entries()) {
    let value: unknown;
    try {
      value = env.evaluate(text.slice(call.start, call.end));
    } catch (err) {
      if (!(err instanceof EvaluationError)) throw err;
      return { ok: false, problem: err.summary, start: call.start };
    }
    const name = `__fireline_literal_${k}`;
    own.registerConstant(name, call.type, value);
    folded += text.slice(last, call.start) + name;
    shifts.push({ at: folded.length, delta: call.end - call.start - name.length });
    last = call.end;
  }
  folded += text.slice(last);
  const run = own.parse(folded);
  const checked = run.check();
  if (!checked.valid) throw new Error(`folding literals broke \`${text}\`: ${checked.error?.summary}`);
  const textIndex = (index: number) =>
    shifts.reduce((sum, shift) => (shift.at <= index ? sum + shift.delta : sum), index);
  return { ok: true, run, textIndex };
}

/**
 * Parses and checks a CEL expression once. JavaScript `===` / `!==` are accepted as `==` / `!=`;
 * reading a variable that is not in `scope` (or a field its shape does not have) is an error.
 */
export function compileExpression(source: string, scope: ExpressionScope): CompileExpressionResult {
  const { text, originalIndex } = rewriteJsEquality(source);
  const env = environmentFor(scope);
  let parsed: ParseResult;
  try {
    parsed = env.parse(text);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const start = err.range?.start;
    return {
      ok: false,
      reason: located(err.summary, source, start === undefined ? undefined : originalIndex(start)),
    };
  }
  const reads = readsOf(parsed.ast);
  for (const read of reads) {
    const problem = checkScope(read.path, scope);
    if (problem) return { ok: false, reason: located(problem, source, originalIndex(read.start)) };
  }
  const checked = parsed.check();
  if (!checked.valid) {
    const start = checked.error?.range?.start;
    const summary = checked.error?.summary ?? 'does not type-check';
    return {
      ok: false,
      reason: located(summary, source, start === undefined ? undefined : originalIndex(start)),
    };
  }
  const folded = foldLiteralCalls(env, text, parsed);
  if (!folded.ok) return { ok: false, reason: located(folded.problem, source, originalIndex(folded.start)) };
  const toSource = (index: number) => originalIndex(folded.textIndex(index));
  const fast = fastEvaluator(parsed.ast, scope, env);
  return { ok: true, expr: makeExpression(source, folded.run, reads, checked.type ?? 'dyn', toSource, fast) };
}

/** Evaluates an expression that must give a bool (an interpret level or a rule condition). */
export function evaluateBool(expr: CompiledExpression, vars: Record<string, unknown>): BoolResult {
  return evaluateBoolAt(expr, vars, undefined);
}

/**
 * `evaluateBool(expr, { ...facts, now })` without copying the facts unless CEL has to run:
 * with `now` undefined, the same as `evaluateBool(expr, facts)`.
 */
export function evaluateBoolAt(
  expr: CompiledExpression,
  facts: Record<string, unknown>,
  now: Date | undefined,
): BoolResult {
  const fast = (expr as Testable)[FAST];
  if (fast !== undefined) {
    const answer = fast(facts, now);
    if (answer !== undefined) return answer ? TRUE : FALSE;
  }
  const test = (expr as Testable)[TEST_BOOL];
  if (test) return test(facts, now);
  const result = expr.evaluate(now === undefined ? facts : { ...facts, now });
  if (!result.ok) return result;
  if (typeof result.value !== 'boolean') return notBool(result.value, expr.source);
  return result.value ? TRUE : FALSE;
}

/** A static check for expressions that must give a bool: `dyn` passes and is checked when run. */
export function boolTypeProblem(expr: CompiledExpression): string | undefined {
  if (expr.resultType === 'bool' || expr.resultType === 'dyn') return undefined;
  return located(`expected a bool, got ${expr.resultType}`, expr.source, undefined);
}
