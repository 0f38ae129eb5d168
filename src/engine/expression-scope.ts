import { Environment } from '@marcbachmann/cel-js';
import type { ReadPath } from './expression-syntax.ts';

/** CEL types a scope variable may declare. `dyn` for values that may be null or of several types. */
export type CelType = 'bool' | 'double' | 'string' | 'list' | 'map' | 'timestamp' | 'dyn';

/** What an expression may read below a variable. */
export interface ScopeNode {
  /** Known keys; when absent, any key below this point is allowed. */
  readonly fields?: Readonly<Record<string, ScopeNode>>;
  /** The message for a key that is not in `fields`. */
  readonly unknown?: (key: string) => string;
}

/** A root variable: its CEL type and, where known, its shape. */
export interface ScopeVariable extends ScopeNode {
  readonly type: CelType;
}

/** The variables an expression may use; anything else is a compile-time error. */
export interface ExpressionScope {
  readonly variables: Readonly<Record<string, ScopeVariable>>;
  /** The message for a root variable that is not in scope. */
  readonly unknown?: (name: string) => string;
}

const CEL_TYPE_NAMES: Record<CelType, string> = {
  bool: 'bool',
  double: 'double',
  string: 'string',
  list: 'list',
  map: 'map',
  timestamp: 'google.protobuf.Timestamp',
  dyn: 'dyn',
};

let baseEnvironment: Environment | undefined;
const environments = new Map<string, Environment>();

/**
 * Facts arrive as JS numbers (CEL doubles) while authors write `70` (a CEL int). CEL compares
 * the two fine but has no mixed arithmetic or equality, so `value * 100 > 5` and `count == 0` would
 * fail; these overloads promote the int to a double.
 */
function base(): Environment {
  if (baseEnvironment) return baseEnvironment;
  const env = new Environment();
  const arithmetic: Record<string, (a: number, b: number) => number> = {
    '+': (a, b) => a + b,
    '-': (a, b) => a - b,
    '*': (a, b) => a * b,
    '/': (a, b) => a / b,
  };
  for (const [op, f] of Object.entries(arithmetic)) {
    env.registerOperator(`double ${op} int`, (a: number, b: bigint) => f(a, Number(b)));
    env.registerOperator(`int ${op} double`, (a: bigint, b: number) => f(Number(a), b));
  }
  // Registers `int == double` and both `!=` too.
  env.registerOperator('double == int', (a: number, b: bigint) => a === Number(b));
  baseEnvironment = env;
  return env;
}

/** Building an environment is costly: one per distinct set of variable declarations. */
export function environmentFor(scope: ExpressionScope): Environment {
  const entries = Object.entries(scope.variables).map(([name, v]) => `${name}:${v.type}`);
  const key = entries.sort().join(',');
  let env = environments.get(key);
  if (!env) {
    env = base().clone();
    for (const [name, v] of Object.entries(scope.variables))
      env.registerVariable(name, CEL_TYPE_NAMES[v.type]);
    environments.set(key, env);
  }
  return env;
}

/** Why `path` is not readable in `scope`, or undefined when it is. */
export function checkScope(path: ReadPath, scope: ExpressionScope): string | undefined {
  const [root, ...rest] = path;
  if (root === undefined) return undefined;
  if (!Object.hasOwn(scope.variables, root)) {
    const known = Object.keys(scope.variables).join(', ');
    return scope.unknown?.(root) ?? `unknown variable '${root}' — known: ${known}`;
  }
  let node: ScopeNode = scope.variables[root]!;
  let at = root;
  for (const key of rest) {
    if (!node.fields) return undefined;
    if (!Object.hasOwn(node.fields, key)) {
      return (
        node.unknown?.(key) ??
        `unknown field '${key}' of ${at} — known: ${Object.keys(node.fields).join(', ')}`
      );
    }
    node = node.fields[key]!;
    at = `${at}.${key}`;
  }
  return undefined;
}
