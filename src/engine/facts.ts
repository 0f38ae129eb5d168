import { DIAGNOSTIC_TYPES } from './diagnostic-types/index.ts';
import type { ExpressionScope, ScopeNode } from './expressions.ts';
import type { DiagnosticType } from './runbook-schema.ts';
import type { FactSpec } from './type-spec.ts';

export type { FactSpec };

/** The facts each diagnostic type's executor returns, with their CEL types and meaning. */
export const FACT_SPECS: Readonly<Record<DiagnosticType, readonly FactSpec[]>> = Object.fromEntries(
  DIAGNOSTIC_TYPES.map((spec) => [spec.type, spec.facts]),
) as Record<DiagnosticType, readonly FactSpec[]>;

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
