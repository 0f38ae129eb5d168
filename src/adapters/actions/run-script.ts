import type { z } from 'zod';
import { RunScriptConfigSchema } from '../../engine/action-types/run-script.ts';
import { AdapterError } from '../../errors.ts';
import { jsonRows, type Postgres } from '../postgres.ts';
import { formatArgv, runProcess, tail } from '../process.ts';
import type { ActionContext, ActionExecutor, ActionOutcome } from '../types.ts';

/** A `run_script` action's config: an argv `command`, or `sql` on a named database. */
export type RunScriptConfig = z.infer<typeof RunScriptConfigSchema>;

export interface RunScriptOptions {
  /** Cap for each of stdout and stderr. Default 16384: an outcome lands on the timeline. */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL on cancel. Default 2000. */
  killGraceMs?: number;
  /** The databases of the `sql` form; without them that form fails (unless dry). */
  postgres?: Postgres;
  /**
   * The `sql` form's server-side statement_timeout. Default 300000, the remediation worker's
   * action timeout; its abort cancels the statement sooner when it comes first.
   */
  statementTimeoutMs?: number;
}

const STDERR_TAIL_CHARS = 500;
/** Rows of a statement's result (e.g. `RETURNING`) kept in the outcome. */
const OUTPUT_ROWS = 20;

/**
 * `run_script`: runs an argv (never through a shell) once. A non-zero exit is an `AdapterError`
 * (not retryable) with the exit code and the end of stderr. In a dry run nothing runs and the
 * outcome says what would have. The `sql` form runs one statement with `params` as bind values on
 * a named database, in `BEGIN` … `COMMIT` (`ROLLBACK` on error or cancel) under a statement
 * timeout; its outcome gives the row count and the first rows it returned. In a dry run it sends
 * nothing, not even `BEGIN`.
 */
export function createRunScriptAction(options: RunScriptOptions = {}): ActionExecutor<RunScriptConfig> {
  const maxOutputBytes = options.maxOutputBytes ?? 16_384;
  return {
    type: 'run_script',
    configSchema: RunScriptConfigSchema,
    async run(config: RunScriptConfig, ctx: ActionContext): Promise<ActionOutcome> {
      if ('sql' in config) return runSql(config, ctx, options);
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

type SqlConfig = Extract<RunScriptConfig, { sql: string }>;

async function runSql(
  config: SqlConfig,
  ctx: ActionContext,
  options: RunScriptOptions,
): Promise<ActionOutcome> {
  const request = { database: config.database, sql: config.sql, params: config.params };
  if (ctx.dryRun)
    return {
      dryRun: true,
      summary: `dry run: would run sql on database '${config.database}': ${describeSql(config)}`,
      request,
    };
  if (!options.postgres)
    throw new AdapterError('database', 'run_script with sql needs a database connection (not configured)', {
      retryable: false,
    });
  const result = await options.postgres.run(
    config.database,
    { text: config.sql, values: config.params, maxRows: OUTPUT_ROWS },
    {
      readOnly: false,
      statementTimeoutMs: options.statementTimeoutMs ?? 300_000,
      signal: ctx.signal,
      adapter: 'run_script',
    },
  );
  const rows = jsonRows(result);
  const counted = `${result.rowCount} row${result.rowCount === 1 ? '' : 's'}`;
  return {
    dryRun: false,
    summary: `ran sql on database '${config.database}': ${result.command} ${counted}, committed`,
    request,
    ...(rows.length > 0 ? { output: tail(rows.map((r) => JSON.stringify(r)).join('\n'), 4096) } : {}),
  };
}

/** The statement on one line (shortened) and its bind values as JSON strings, for a timeline. */
function describeSql(config: SqlConfig): string {
  const text = config.sql.replace(/\s+/g, ' ').trim();
  const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  const values = config.params.map((p, i) => `$${i + 1} = ${JSON.stringify(p)}`).join(', ');
  return values ? `${shown} (${values})` : shown;
}

/** The action with default limits. */
export const runScriptAction: ActionExecutor<RunScriptConfig> = createRunScriptAction();
