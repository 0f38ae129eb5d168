import type { z } from 'zod';
import { type Action, ActionSchema } from '../../engine/runbook-schema.ts';
import { AdapterError } from '../../errors.ts';
import { formatArgv, runProcess, tail } from '../process.ts';
import type { ActionContext, ActionExecutor, ActionOutcome } from '../types.ts';

/** A `run_script` action's config: an argv `command`, or `sql` on a named database. */
export type RunScriptConfig = Extract<Action, { type: 'run_script' }>['config'];

// The engine exports the action union only; its run_script member holds the config schema.
const RunScriptConfigSchema: z.ZodType<RunScriptConfig> = ActionSchema.options[4].shape.config;

export interface RunScriptOptions {
  /** Cap for each of stdout and stderr. Default 16384: an outcome lands on the timeline. */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL on cancel. Default 2000. */
  killGraceMs?: number;
}

const STDERR_TAIL_CHARS = 500;

/**
 * `run_script`: runs an argv (never through a shell) once. A non-zero exit is an `AdapterError`
 * (not retryable) with the exit code and the end of stderr. In a dry run nothing runs and the
 * outcome says what would have. The `sql` form needs a database connection, which this build does
 * not have yet: it fails (unless dry) with a non-retryable `AdapterError`.
 */
export function createRunScriptAction(options: RunScriptOptions = {}): ActionExecutor<RunScriptConfig> {
  const maxOutputBytes = options.maxOutputBytes ?? 16_384;
  return {
    type: 'run_script',
    configSchema: RunScriptConfigSchema,
    idempotent: (config) => config.idempotent,
    async run(config: RunScriptConfig, ctx: ActionContext): Promise<ActionOutcome> {
      if ('sql' in config) {
        const request = { database: config.database, sql: config.sql, params: config.params };
        if (ctx.dryRun)
          return {
            dryRun: true,
            summary: `dry run: would run sql on database '${config.database}'`,
            request,
          };
        throw new AdapterError(
          'database',
          'run_script with sql needs a database connection (not configured)',
          {
            retryable: false,
          },
        );
      }
      const command = config.command;
      const shown = formatArgv(command);
      if (ctx.dryRun) return { dryRun: true, summary: `dry run: would run ${shown}`, command };
      const result = await runProcess(command, {
        signal: ctx.signal,
        maxOutputBytes,
        killGraceMs: options.killGraceMs,
        adapter: 'run_script',
      });
      if (result.exitCode !== 0) {
        const how =
          result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
        const stderr = result.stderr.trim();
        throw new AdapterError(
          'run_script',
          `${shown} ${how}${stderr ? `: ${tail(stderr, STDERR_TAIL_CHARS)}` : ''}`,
          {
            retryable: false,
          },
        );
      }
      return {
        dryRun: false,
        summary: `ran ${shown} (exit 0, ${result.durationMs} ms${result.truncated ? ', output truncated' : ''})`,
        command,
        output: result.stdout,
      };
    },
  };
}

/** The action with default limits. */
export const runScriptAction: ActionExecutor<RunScriptConfig> = createRunScriptAction();
