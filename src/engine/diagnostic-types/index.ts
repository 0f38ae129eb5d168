import type { DiagnosticTypeSpec } from '../type-spec.ts';
import { databaseQuery } from './database-query.ts';
import { httpCheck } from './http-check.ts';
import { logSearch } from './log-search.ts';
import { prometheusQuery } from './prometheus-query.ts';
import { shellCommand } from './shell-command.ts';

/**
 * Every diagnostic type of the runbook language, one line each; the order is the JSON Schema's.
 * Adding a type: its pure spec `src/engine/diagnostic-types/<type>.ts` and one line here; its
 * executor `src/adapters/diagnostics/<type>.ts` and one line in the adapters' registry
 * (`src/adapters/diagnostics/registry.ts`, or `createAdapters` when it needs a connection).
 */
export const DIAGNOSTIC_TYPES = [prometheusQuery, httpCheck, shellCommand, databaseQuery, logSearch] as const;

const byType = new Map<string, DiagnosticTypeSpec>(DIAGNOSTIC_TYPES.map((s) => [s.type, s]));

/** The spec of a diagnostic type, undefined for a type the language does not have. */
export function diagnosticTypeSpec(type: string): DiagnosticTypeSpec | undefined {
  return byType.get(type);
}
