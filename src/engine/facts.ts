import type { CelType, ExpressionScope, ScopeNode } from './expressions.ts';
import type { DiagnosticType } from './runbook-schema.ts';

/** One fact a diagnostic type produces: a CEL variable of its `interpret` expressions. */
export interface FactSpec {
  readonly name: string;
  /** `dyn` where the value may be null. */
  readonly type: CelType;
  readonly doc: string;
}

/** The facts each diagnostic type's executor returns, with their CEL types and meaning. */
export const FACT_SPECS: Readonly<Record<DiagnosticType, readonly FactSpec[]>> = {
  prometheus_query: [
    {
      name: 'value',
      type: 'dyn',
      doc: 'first sample as a number (NaN and ±Inf kept), or null when the result is empty',
    },
    { name: 'values', type: 'list', doc: 'every sample as {labels, value}' },
    { name: 'count', type: 'double', doc: 'number of samples' },
    { name: 'empty', type: 'bool', doc: 'true when the query returned no samples' },
  ],
  http_check: [
    {
      name: 'checks',
      type: 'list',
      doc: 'one {name, url, status, ok, latency_ms, error, cert_days} per URL; status null when unreachable',
    },
    { name: 'all_healthy', type: 'bool', doc: 'every check answered with an expected status (and body)' },
    { name: 'any_unreachable', type: 'bool', doc: 'some URL did not answer (DNS, connect, TLS or timeout)' },
    { name: 'max_latency_ms', type: 'dyn', doc: 'slowest answer in milliseconds, null when none answered' },
    { name: 'slow_count', type: 'double', doc: 'checks slower than the step’s slowMs' },
    {
      name: 'min_cert_days',
      type: 'dyn',
      doc: 'smallest TLS certificate days-to-expiry across https checks, null when none',
    },
  ],
  shell_command: [
    { name: 'exit_code', type: 'double', doc: 'the process exit code' },
    { name: 'stdout', type: 'string', doc: 'standard output (capped at maxOutputBytes)' },
    { name: 'stderr', type: 'string', doc: 'standard error (capped at maxOutputBytes)' },
    { name: 'lines', type: 'list', doc: 'stdout split into non-empty lines' },
    { name: 'json', type: 'dyn', doc: 'stdout parsed as JSON, null when it is not JSON' },
  ],
  database_query: [
    {
      name: 'rows',
      type: 'list',
      doc: 'result rows as maps of column → value (capped at maxRows); BIGINT/NUMERIC as numbers when finite',
    },
    { name: 'row_count', type: 'double', doc: 'number of rows the query returned (before the maxRows cap)' },
    { name: 'truncated', type: 'bool', doc: 'true when rows were cut at maxRows' },
    {
      name: 'value',
      type: 'dyn',
      doc: 'first column of the first row (BIGINT/NUMERIC as a number when finite), null when there is no row',
    },
  ],
  log_search: [
    { name: 'count', type: 'double', doc: 'matching lines found (before the cap)' },
    { name: 'lines', type: 'list', doc: 'matching lines, newest first (capped at limit)' },
  ],
};

function namesOf(specs: Readonly<Record<DiagnosticType, readonly FactSpec[]>>) {
  const out = {} as Record<DiagnosticType, readonly string[]>;
  for (const [type, facts] of Object.entries(specs)) out[type as DiagnosticType] = facts.map((f) => f.name);
  return out;
}

/** The fact names of each diagnostic type, for messages and docs (see FACT_SPECS for their meaning). */
export const FACTS_BY_TYPE: Readonly<Record<DiagnosticType, readonly string[]>> = namesOf(FACT_SPECS);

/** "facts of shell_command are exit_code, stdout, stderr, lines, json" */
export function describeFacts(type: DiagnosticType): string {
  return `facts of ${type} are ${FACTS_BY_TYPE[type].join(', ')}`;
}

/** The facts of a type as scope fields (their insides are open: lists and JSON of any shape). */
export function factFields(type: DiagnosticType): Record<string, ScopeNode> {
  return Object.fromEntries(FACT_SPECS[type].map((f) => [f.name, {}]));
}

const interpretScopes = new Map<DiagnosticType, ExpressionScope>();

/**
 * What `interpret` expressions of a step may read: its type's facts, and `now` (the time of
 * judging, a CEL timestamp) for checks such as "deployed within the last 30 minutes".
 */
export function interpretScope(type: DiagnosticType): ExpressionScope {
  let scope = interpretScopes.get(type);
  if (!scope) {
    const variables = Object.fromEntries(FACT_SPECS[type].map((f) => [f.name, { type: f.type }]));
    scope = {
      variables: { ...variables, now: { type: 'timestamp' } },
      unknown: (name) => `unknown variable '${name}' — ${describeFacts(type)}`,
    };
    interpretScopes.set(type, scope);
  }
  return scope;
}
