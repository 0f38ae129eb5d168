// Adding an action type takes four things: its pure spec src/engine/action-types/<type>.ts (type,
// config schema, template fields, whether it is idempotent) and one line in ACTION_TYPES
// (src/engine/action-types/index.ts); its executor src/adapters/actions/<type>.ts, which imports its
// config schema from the spec, and one line registering it: in defaultActionExecutors below, or in
// createAdapters (src/adapters/index.ts) when it needs a connection.
import type { ActionType } from '../../engine/runbook-schema.ts';
import {
  type ActionContext,
  type ActionExecutor,
  type ActionOutcome,
  createRegistry,
  parseAdapterConfig,
  type Registry,
} from '../types.ts';
import { runScriptAction } from './run-script.ts';

/** Any action executor, whatever its config type. */
export type AnyActionExecutor = ActionExecutor<unknown>;

/** The actions this build ships that need no connection (see createAdapters for the others). */
export const defaultActionExecutors: readonly AnyActionExecutor[] = [runScriptAction];

/** The action executors by type, and a way to run one on a rendered config. */
export interface ActionRegistry extends Registry<ActionType, AnyActionExecutor> {
  /**
   * Validates `config` with the executor's schema and runs it (or describes it, in a dry run).
   *
   * @throws AdapterError (not retryable) when no executor exists for `type` ("no executor for
   *   action type 'rollback' in this build") or the config does not fit; whatever the action throws.
   */
  run(type: string, config: unknown, ctx: ActionContext): Promise<ActionOutcome>;
}

/** Builds the table of action executors; tests and other builds pass their own list. */
export function createActionRegistry(
  executors: readonly AnyActionExecutor[] = defaultActionExecutors,
): ActionRegistry {
  const registry = createRegistry('action type', executors, (e) => e.type);
  const resolve = (type: string, config: unknown) => {
    const executor = registry.require(type);
    return { executor, parsed: parseAdapterConfig(type, executor.configSchema, config) };
  };
  return {
    ...registry,
    async run(type, config, ctx) {
      const { executor, parsed } = resolve(type, config);
      return executor.run(parsed, ctx);
    },
  };
}
