import { z } from 'zod';
import { argvFields } from '../argv-shape.ts';
import { Argv, actionType, CHANGE_SAFETY, list, NonEmpty } from '../type-spec.ts';

/** `run_script`: an argv `command`, or `sql` with bind `params` on a named database. */
export const RunScriptConfigSchema = z.union([
  z.strictObject({ command: Argv.min(1), idempotent: z.boolean().default(false) }),
  z.strictObject({
    database: NonEmpty,
    sql: NonEmpty,
    params: z.array(z.string()).default([]),
    idempotent: z.boolean().default(false),
  }),
]);

export const runScript = actionType({
  type: 'run_script',
  configSchema: RunScriptConfigSchema,
  templateFields: (c) =>
    'command' in c
      ? argvFields(c.command, ['command'])
      : [{ path: ['sql'], value: c.sql, mode: 'sql' }, ...list(c.params, ['params'], 'sql-param')],
  argv: (c) => ('command' in c ? { path: ['command'], argv: c.command } : undefined),
  // The author says whether a second run is safe.
  isIdempotent: (c) => c.idempotent,
  safety: CHANGE_SAFETY,
});
