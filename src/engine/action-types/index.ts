import type { ActionTypeSpec } from '../type-spec.ts';
import { flushCache } from './flush-cache.ts';
import { restartService, rollback, scaleUp } from './kubernetes.ts';
import { notify } from './notify.ts';
import { runScript } from './run-script.ts';

/**
 * Every action type of the runbook language, one line each; the order is the JSON Schema's.
 * Adding a type: its pure spec `src/engine/action-types/<type>.ts` and one line here; its executor
 * `src/adapters/actions/<type>.ts` and one line in the adapters' registry
 * (`src/adapters/actions/registry.ts`, or `createAdapters` when it needs a connection).
 */
export const ACTION_TYPES = [restartService, scaleUp, rollback, flushCache, runScript, notify] as const;

const byType = new Map<string, ActionTypeSpec>(ACTION_TYPES.map((s) => [s.type, s]));

/** The spec of an action type, undefined for a type the language does not have. */
export function actionTypeSpec(type: string): ActionTypeSpec | undefined {
  return byType.get(type);
}
