import type { ASTNode } from '@marcbachmann/cel-js';

/** A variable path as segments: `['alert', 'labels', 'namespace']`. */
export type ReadPath = readonly string[];

/** One variable path an expression reads, and where it starts in the (rewritten) source. */
export interface Read {
  readonly path: ReadPath;
  readonly text: string;
  readonly start: number;
}

const STRING_START = /(?:[rR][bB]?|[bB][rR]?)?('''|"""|'|")/y;
const IDENTIFIER_CHAR = /[A-Za-z0-9_]/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Index just past the string literal that opens at `start` with `delimiter`. */
function endOfString(source: string, start: number, delimiter: string, raw: boolean): number {
  let i = start;
  while (i < source.length) {
    if (!raw && source[i] === '\\') i += 2;
    else if (source.startsWith(delimiter, i)) return i + delimiter.length;
    else i++;
  }
  return source.length;
}

/**
 * Rewrites JavaScript `===` / `!==` to CEL `==` / `!=` outside string literals and comments.
 * `originalIndex` maps a position in `text` back to the author's source, for error messages.
 */
export function rewriteJsEquality(source: string): {
  text: string;
  originalIndex: (index: number) => number;
} {
  let text = '';
  // Positions in `text` from which one more character was removed from the source.
  const removals: number[] = [];
  let i = 0;
  while (i < source.length) {
    const prev = i > 0 ? source[i - 1]! : '';
    STRING_START.lastIndex = i;
    const string = IDENTIFIER_CHAR.test(prev) ? null : STRING_START.exec(source);
    let end = i + 1;
    if (source.startsWith('//', i)) {
      const newline = source.indexOf('\n', i);
      end = newline === -1 ? source.length : newline;
    } else if (string) {
      const raw = /[rR]/.test(string[0]);
      end = endOfString(source, i + string[0].length, string[1]!, raw);
    } else if (source.startsWith('===', i) || source.startsWith('!==', i)) {
      text += source[i] === '=' ? '==' : '!=';
      removals.push(text.length);
      i += 3;
      continue;
    }
    text += source.slice(i, end);
    i = end;
  }
  const originalIndex = (index: number) => index + removals.filter((at) => at <= index).length;
  return { text, originalIndex };
}

/** `alert.labels["app.kubernetes.io/name"]`: dots between identifiers, brackets otherwise. */
export function formatPath(path: ReadPath): string {
  return path
    .map((key, i) => {
      if (i === 0) return key;
      return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    })
    .join('');
}

// Comprehension macros bind their first argument as a variable over the receiver's elements.
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

function add(out: Map<string, Read>, path: ReadPath, start: number): void {
  const text = formatPath(path);
  if (!out.has(text)) out.set(text, { path, text, start });
}

/** A select chain (`a.b["c"].d`) is one read; a dynamic index ends the static part of the path. */
function visitSelect(node: ASTNode, bound: ReadonlySet<string>, out: Map<string, Read>): void {
  let segments: string[] = [];
  let cur = node;
  for (;;) {
    if (cur.op === '.' || cur.op === '.?') {
      segments.unshift(cur.args[1]);
      cur = cur.args[0];
    } else if (cur.op === '[]' || cur.op === '[?]') {
      const [target, index] = cur.args;
      if (index.op === 'value' && typeof index.args === 'string') segments.unshift(index.args);
      else {
        visit(index, bound, out);
        segments = [];
      }
      cur = target;
    } else break;
  }
  if (cur.op === 'id') {
    if (!bound.has(cur.args) && cur.args !== 'cel') add(out, [cur.args, ...segments], node.start);
  } else visit(cur, bound, out);
}

function children(args: unknown, into: ASTNode[] = []): ASTNode[] {
  if (Array.isArray(args)) for (const a of args) children(a, into);
  else if (args !== null && typeof args === 'object' && 'op' in args) into.push(args as ASTNode);
  return into;
}

function visit(node: ASTNode, bound: ReadonlySet<string>, out: Map<string, Read>): void {
  switch (node.op) {
    case 'value':
      return;
    case 'id':
    case '.':
    case '.?':
    case '[]':
    case '[?]':
      visitSelect(node, bound, out);
      return;
    case 'rcall': {
      const [name, receiver, args] = node.args;
      const [first, second, third] = args;
      if (COMPREHENSIONS.has(name) && first?.op === 'id') {
        visit(receiver, bound, out);
        const inner = new Set(bound).add(first.args);
        for (const arg of args.slice(1)) visit(arg, inner, out);
        return;
      }
      if (
        name === 'bind' &&
        receiver.op === 'id' &&
        receiver.args === 'cel' &&
        first?.op === 'id' &&
        second &&
        third
      ) {
        visit(second, bound, out);
        visit(third, new Set(bound).add(first.args), out);
        return;
      }
      visit(receiver, bound, out);
      for (const arg of args) visit(arg, bound, out);
      return;
    }
    default:
      for (const child of children(node.args)) visit(child, bound, out);
  }
}

/** Every variable path an expression reads, in order of first appearance; macro variables excluded. */
export function readsOf(ast: ASTNode): Read[] {
  const out = new Map<string, Read>();
  visit(ast, new Set(), out);
  return [...out.values()];
}

/** A call on a string literal, such as `duration('5m')`, whose value never changes. */
export interface LiteralCall {
  readonly start: number;
  readonly end: number;
  /** The CEL type of its value. */
  readonly type: string;
}

const FOLDABLE: Readonly<Record<string, string>> = {
  duration: 'google.protobuf.Duration',
  timestamp: 'google.protobuf.Timestamp',
};

/** The `duration('…')` and `timestamp('…')` calls on string literals, in source order. */
export function literalCalls(node: ASTNode, out: LiteralCall[] = []): LiteralCall[] {
  if (node.op === 'call') {
    const [name, args] = node.args;
    const [arg] = args;
    const type = Object.hasOwn(FOLDABLE, name) ? FOLDABLE[name] : undefined;
    if (type && args.length === 1 && arg?.op === 'value' && typeof arg.args === 'string') {
      out.push({ start: node.start, end: node.end, type });
      return out;
    }
  }
  for (const child of children(node.args)) literalCalls(child, out);
  return out;
}
