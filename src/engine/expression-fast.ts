import type { ASTNode } from '@marcbachmann/cel-js';
import type { CelType, ExpressionScope } from './expression-scope.ts';

/**
 * A plain-JS evaluator for the simplest and most common conditions (`value >= 90`,
 * `diagnostics.x.status == 'critical'`, `a && !b`, `s in ['x', 'y']`): `undefined` means "not
 * sure", and then CEL evaluates the expression as always. It answers only when every value it
 * reads has the primitive type its literal calls for, where CEL's answer is the plain comparison.
 */
export type Fast = (vars: Record<string, unknown>) => boolean | undefined;
type Getter = (vars: Record<string, unknown>) => unknown;

const MISSING = Symbol('missing');

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

const PRIMITIVE_OF: Partial<Record<CelType, string>> = {
  double: 'number',
  string: 'string',
  bool: 'boolean',
};

/** Reads a static path through plain objects' own keys, as CEL does; `MISSING` when unsure. */
function fastGetter(node: ASTNode, scope: ExpressionScope): Getter | undefined {
  const segments: string[] = [];
  let cur = node;
  for (;;) {
    if (cur.op === '.') {
      segments.unshift(cur.args[1]);
      cur = cur.args[0];
    } else if (cur.op === '[]' && cur.args[1].op === 'value' && typeof cur.args[1].args === 'string') {
      segments.unshift(cur.args[1].args);
      cur = cur.args[0];
    } else break;
  }
  if (cur.op !== 'id' || typeof cur.args !== 'string') return undefined;
  const root: string = cur.args;
  if (!Object.hasOwn(scope.variables, root)) return undefined;
  const type = scope.variables[root]!.type;
  if (segments.length === 0) {
    // A typed root must hold a value of that type; CEL rejects anything else.
    const primitive = type === 'dyn' ? undefined : PRIMITIVE_OF[type];
    if (type !== 'dyn' && !primitive) return undefined;
    return (vars) => {
      if (!Object.hasOwn(vars, root)) return MISSING;
      const value = vars[root];
      return primitive === undefined || typeof value === primitive ? value : MISSING;
    };
  }
  if (type !== 'dyn' && type !== 'map') return undefined;
  return (vars) => {
    if (!Object.hasOwn(vars, root)) return MISSING;
    let value = vars[root];
    for (let i = 0; i < segments.length; i++) {
      if (!isPlainObject(value)) return MISSING;
      const key = segments[i]!;
      if (!Object.hasOwn(value, key)) return MISSING;
      value = value[key];
    }
    return value;
  };
}

type Literal = number | string | boolean | null;

/** A literal the fast path compares exactly as CEL does, or `MISSING`. */
function fastLiteral(node: ASTNode): Literal | typeof MISSING {
  if (node.op !== 'value') return MISSING;
  const value: unknown = node.args;
  if (typeof value === 'bigint') {
    // Only integers a double holds exactly: then double-vs-int is the plain numeric comparison.
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : MISSING;
  }
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean')
    return value;
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

function fastCompare(op: string, get: Getter, literal: Literal): Fast | undefined {
  const equality = op === '==' || op === '!=';
  if (literal === null) {
    if (!equality) return undefined;
    const equal = op === '==';
    return (vars) => {
      const v = get(vars);
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
      return (vars) => {
        const v = get(vars);
        return typeof v === kind ? v === literal : undefined;
      };
    case '!=':
      return (vars) => {
        const v = get(vars);
        return typeof v === kind ? v !== literal : undefined;
      };
    case '<':
      return (vars) => {
        const v = get(vars);
        return typeof v === 'number' ? v < (literal as number) : undefined;
      };
    case '<=':
      return (vars) => {
        const v = get(vars);
        return typeof v === 'number' ? v <= (literal as number) : undefined;
      };
    case '>':
      return (vars) => {
        const v = get(vars);
        return typeof v === 'number' ? v > (literal as number) : undefined;
      };
    case '>=':
      return (vars) => {
        const v = get(vars);
        return typeof v === 'number' ? v >= (literal as number) : undefined;
      };
    default:
      return undefined;
  }
}

export function fastEvaluator(node: ASTNode, scope: ExpressionScope): Fast | undefined {
  switch (node.op) {
    case '&&':
    case '||': {
      const left = fastEvaluator(node.args[0], scope);
      const right = left && fastEvaluator(node.args[1], scope);
      if (!left || !right) return undefined;
      // Either side unsure: CEL decides (it also covers an error on one side of a decided operator).
      return node.op === '&&'
        ? (vars) => {
            const a = left(vars);
            if (a === undefined) return undefined;
            return a ? right(vars) : false;
          }
        : (vars) => {
            const a = left(vars);
            if (a === undefined) return undefined;
            return a ? true : right(vars);
          };
    }
    case '!_': {
      const inner = fastEvaluator(node.args, scope);
      if (!inner) return undefined;
      return (vars) => {
        const a = inner(vars);
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
        const get = fastGetter(l, scope);
        return get && fastCompare(node.op, get, rightLiteral);
      }
      const leftLiteral = fastLiteral(l);
      const get = fastGetter(r, scope);
      return leftLiteral !== MISSING && get ? fastCompare(MIRRORED[node.op]!, get, leftLiteral) : undefined;
    }
    case 'in': {
      const [l, r] = node.args as [ASTNode, ASTNode];
      const get = fastGetter(l, scope);
      if (!get || r.op !== 'list' || !Array.isArray(r.args)) return undefined;
      const items: string[] = [];
      for (const item of r.args as ASTNode[]) {
        if (item.op !== 'value' || typeof item.args !== 'string') return undefined;
        items.push(item.args);
      }
      return (vars) => {
        const v = get(vars);
        return typeof v === 'string' ? items.includes(v) : undefined;
      };
    }
    default: {
      const get = fastGetter(node, scope);
      if (!get) return undefined;
      return (vars) => {
        const v = get(vars);
        return typeof v === 'boolean' ? v : undefined;
      };
    }
  }
}
