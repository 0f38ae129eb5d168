// Adding a diagnostic type takes four things: its pure spec src/engine/diagnostic-types/<type>.ts
// (type, config schema, facts, template fields, lint stand-in) and one line in DIAGNOSTIC_TYPES
// (src/engine/diagnostic-types/index.ts); its executor src/adapters/diagnostics/<type>.ts, which
// imports its config schema from the spec, and one line registering it: in
// defaultDiagnosticExecutors below, or in createAdapters (src/adapters/index.ts) when it needs a connection.
import type { DiagnosticType } from '../../engine/runbook-schema.ts';
import type { Facts } from '../../engine/types.ts';
import {
  createRegistry,
  type DiagnosticContext,
  type DiagnosticExecutor,
  parseAdapterConfig,
  type RangeSeries,
  type Registry,
  type SeriesWindow,
} from '../types.ts';
import { httpCheckExecutor } from './http-check.ts';
import { shellCommandExecutor } from './shell-command.ts';

/** Any diagnostic executor, whatever its config type. */
export type AnyDiagnosticExecutor = DiagnosticExecutor<unknown>;

/** The executors this build ships that need no connection (see createAdapters for the others). */
export const defaultDiagnosticExecutors: readonly AnyDiagnosticExecutor[] = [
  httpCheckExecutor,
  shellCommandExecutor,
];

/** The diagnostic executors by type, and a way to run one on a rendered config. */
export interface DiagnosticRegistry extends Registry<DiagnosticType, AnyDiagnosticExecutor> {
  /**
   * Validates `config` (rendered, so possibly changed by templates) with the executor's schema
   * and runs it.
   *
   * @throws AdapterError (not retryable) when no executor exists for `type` ("no executor for
   *   diagnostic type 'prometheus_query' in this build") or the config does not fit; whatever
   *   the executor throws.
   */
  run(type: string, config: unknown, ctx: DiagnosticContext): Promise<Facts>;
  /**
   * The step's series over `window` for its chart, or null when its type draws none. Validates
   * `config` as `run` does; throws what the executor throws.
   */
  series(
    type: string,
    config: unknown,
    window: SeriesWindow,
    ctx: DiagnosticContext,
  ): Promise<RangeSeries[] | null>;
}

/** Builds the table of diagnostic executors; tests and other builds pass their own list. */
export function createDiagnosticRegistry(
  executors: readonly AnyDiagnosticExecutor[] = defaultDiagnosticExecutors,
): DiagnosticRegistry {
  const registry = createRegistry('diagnostic type', executors, (e) => e.type);
  return {
    ...registry,
    async run(type, config, ctx) {
      const executor = registry.require(type);
      return executor.run(parseAdapterConfig(type, executor.configSchema, config), ctx);
    },
    async series(type, config, window, ctx) {
      const executor = registry.require(type);
      if (!executor.series) return null;
      return executor.series(parseAdapterConfig(type, executor.configSchema, config), window, ctx);
    },
  };
}
