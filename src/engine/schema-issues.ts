import type { z } from 'zod';
import type { RunbookIssue } from './types.ts';

/**
 * zod issues in an author's terms: each says what was expected and what was found
 * (`expected one of P1, P2, P3, P4; got "P9"`), unknown keys are named one by one, and a union
 * that matched no option reports the issues of its closest option.
 */

/** Validates parsed YAML data with a zod schema; each issue says what was expected and what was found. */
export function validateSchema<T extends z.ZodType>(
  schema: T,
  data: unknown,
): { ok: true; value: z.output<T> } | { ok: false; issues: RunbookIssue[] } {
  const result = schema.safeParse(data, { error: explainIssue });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: flattenIssues(result.error.issues, [], data) };
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Messages for zod's own issues: what was expected. What was found is added by `flattenIssues`. */
const explainIssue: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      return `expected ${TYPE_NAMES[iss.expected] ?? iss.expected}`;
    case 'invalid_value':
      return iss.values.length === 1
        ? `expected ${String(iss.values[0])}`
        : `expected one of ${iss.values.map(String).join(', ')}`;
    case 'invalid_union':
      return 'options' in iss && Array.isArray(iss.options)
        ? `expected one of ${iss.options.map(String).join(', ')}`
        : undefined;
    case 'unrecognized_keys': {
      const shape = (iss.inst?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape;
      return shape ? `allowed keys: ${Object.keys(shape).join(', ')}` : '';
    }
    case 'too_small':
      if (iss.origin === 'array')
        return `expected at least ${iss.minimum} item${iss.minimum === 1 ? '' : 's'}`;
      if (iss.origin === 'string')
        return iss.minimum === 1
          ? 'expected a non-empty string'
          : `expected at least ${iss.minimum} characters`;
      return `expected a number ${iss.inclusive ? '>=' : '>'} ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'array') return `expected at most ${iss.maximum} items`;
      if (iss.origin === 'string') return `expected at most ${iss.maximum} characters`;
      return `expected a number ${iss.inclusive ? '<=' : '<'} ${iss.maximum}`;
    case 'invalid_format':
      return iss.format === 'regex'
        ? `expected text matching /${iss.pattern}/`
        : `expected a valid ${iss.format}`;
    default:
      return undefined;
  }
};

const SAYS_WHAT_WAS_FOUND = new Set([
  'invalid_type',
  'invalid_value',
  'invalid_union',
  'too_small',
  'too_big',
  'invalid_format',
]);

/**
 * zod issues → runbook issues: a union that matched no option reports its closest option's issues
 * (the fewest), each unknown key is its own issue at that key, and every message ends with what was found.
 */
function flattenIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: PropertyKey[],
  root: unknown,
): RunbookIssue[] {
  const out: RunbookIssue[] = [];
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    if (iss.code === 'invalid_union' && iss.errors.length > 0) {
      const closest = iss.errors.reduce((best, e) => (e.length < best.length ? e : best));
      out.push(...flattenIssues(closest, path, root));
    } else if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys)
        out.push(issueAt([...path, key], `unknown key '${key}'${iss.message ? `; ${iss.message}` : ''}`));
    } else if (SAYS_WHAT_WAS_FOUND.has(iss.code ?? '') && !iss.message.includes('; got ')) {
      out.push(issueAt(path, `${iss.message}; got ${describeValue(valueAt(root, path))}`));
    } else {
      out.push(issueAt(path, iss.message));
    }
  }
  return out;
}

function issueAt(path: PropertyKey[], message: string): RunbookIssue {
  return { path: path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message, severity: 'error' };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const seg of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[seg];
  }
  return value;
}

/** How a found value reads in a message: `"promql"`, `96`, `a list of 2 items`, `nothing (missing key)`. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (missing key)';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `${JSON.stringify(shown)}`;
  }
  if (Array.isArray(value))
    return value.length === 0
      ? 'an empty list'
      : `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (value !== null && typeof value === 'object') return 'a mapping';
  return String(value);
}
