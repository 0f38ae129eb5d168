import type { ASTNode, Environment } from '@marcbachmann/cel-js';
import type { ExpressionScope } from './expression-scope.ts';
import {
  type Context,
  isPlainList,
  isPlainValue,
  MISSING,
  read,
  type Slot,
  type Value,
  value,
} from './expression-values.ts';

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
