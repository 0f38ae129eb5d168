import { literal } from './format.js';

/**
 * Turns verdicts and decision rules into sentences a responder can check: the expression that
 * matched, with the value each name had (`check_db_connections is critical: json.used_pct 96 ≥ 90`).
 */

const NAME = /[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*/g;
const OPERATORS = [
  [/>=/g, '≥'],
  [/<=/g, '≤'],
  [/!=/g, '≠'],
  [/==/g, '='],
  [/&&/g, 'and'],
  [/\|\|/g, 'or'],
];

function lookup(root, path) {
  let value = root;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(part in value)) return undefined;
    value = value[part];
  }
  return value;
}

const isScalar = (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** Splits an expression into string literals (kept as written) and code. */
function parts(expression) {
  return expression.split(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/);
}

/** The expression with `name value` for every name whose value `read` knows, and plain operators. */
export function withValues(expression, read) {
  return parts(expression)
    .map((part, i) => {
      if (i % 2 === 1) return part;
      let out = part.replace(NAME, (name) => {
        const value = read(name);
        return value === undefined ? name : `${name} ${literal(value, 60)}`;
      });
      for (const [re, to] of OPERATORS) out = out.replace(re, to);
      return out;
    })
    .join('');
}

/** `<step> is <status>: <matched expression with values>`, or the verdict's message. */
export function explainVerdict(stepId, verdict) {
  if (verdict.matched) {
    const read = (name) => {
      const v = lookup(verdict.facts ?? {}, name);
      return isScalar(v) ? v : undefined;
    };
    return `${stepId} is ${verdict.status}: ${withValues(verdict.matched.expression, read)}`;
  }
  return `${stepId} is ${verdict.status}${verdict.message ? `: ${verdict.message}` : ''}`;
}

/** The diagnostics a rule read (`diagnostics.<id>.…` among its values). */
export function diagnosticsRead(rule) {
  const ids = new Set();
  for (const key of Object.keys(rule.values ?? {})) {
    const m = /^diagnostics\.([^.]+)/.exec(key);
    if (m) ids.add(m[1]);
  }
  return [...ids];
}

/** A rule's condition with the values it read. */
export function explainRule(rule) {
  if (rule.condition === 'otherwise') return 'otherwise (no other rule held)';
  const values = rule.values ?? {};
  return withValues(rule.condition, (name) =>
    name in values && isScalar(values[name]) ? values[name] : undefined,
  );
}

const LONG_TEXT = new Set(['stdout', 'stderr', 'lines']);

/**
 * Up to `max` facts worth showing: scalars, one level into objects (`json.used_pct`), lists by
 * their length. Raw output is left out when the parsed JSON is there.
 */
export function keyFacts(facts, max = 8) {
  const out = [];
  const push = (name, value) => {
    if (out.length >= max) return;
    if (Array.isArray(value)) out.push([name, `${value.length} item${value.length === 1 ? '' : 's'}`]);
    else if (isScalar(value) && value !== null && !(name === 'truncated' && value === false))
      out.push([name, literal(value, 100)]);
  };
  const hasJson = facts && typeof facts.json === 'object' && facts.json !== null;
  for (const [name, value] of Object.entries(facts ?? {})) {
    if (hasJson && LONG_TEXT.has(name)) continue;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value)) push(`${name}.${inner}`, v);
    } else push(name, value);
  }
  return out;
}
