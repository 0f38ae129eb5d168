import type { z } from 'zod';
import { DatabaseQueryConfigSchema } from '../../engine/diagnostic-types/database-query.ts';
import type { Facts } from '../../engine/types.ts';
import { jsonRows, type Postgres } from '../postgres.ts';
import type { DiagnosticContext, DiagnosticExecutor } from '../types.ts';

/** A `database_query` step's config, defaults applied. */
export type DatabaseQueryConfig = z.infer<typeof DatabaseQueryConfigSchema>;

export interface DatabaseQueryOptions {
  /**
   * The server-side `statement_timeout` when the context does not give the step's timeout: a
   * backstop for a statement whose Fireline went away, so it is generous (default 600000) and
   * never cuts a step short; the step's abort cancels the query at the step's own timeout.
   */
  statementTimeoutMs?: number;
}

/**
 * `database_query`: runs the runbook's query on a named database of `connections.databases`,
 * inside `BEGIN READ ONLY` … `ROLLBACK`, with `params` as bind values `$1`, `$2`, … (templates
 * live only there; the query text is the runbook's). One statement only. Facts: `rows` (the first
 * `maxRows`, JSON-safe — see {@link jsonRows}: BIGINT/NUMERIC as numbers when finite), `row_count`
 * (every row the query returned, before the cap), `truncated` (rows were cut at maxRows) and
 * `value` (first column of the first row, null without rows). A write, a syntax error, the
 * statement timeout or an unknown database is an `AdapterError`; the step's abort cancels the
 * query on the server.
 */
export function createDatabaseQueryExecutor(
  postgres: Postgres,
  options: DatabaseQueryOptions = {},
): DiagnosticExecutor<DatabaseQueryConfig> {
  const defaultTimeoutMs = options.statementTimeoutMs ?? 600_000;
  return {
    type: 'database_query',
    configSchema: DatabaseQueryConfigSchema,
    async run(config: DatabaseQueryConfig, ctx: DiagnosticContext): Promise<Facts> {
      const result = await postgres.run(
        config.database,
        { text: config.query, values: config.params, maxRows: config.maxRows },
        {
          readOnly: true,
          statementTimeoutMs: ctx.timeoutMs ?? defaultTimeoutMs,
          signal: ctx.signal,
          adapter: 'database_query',
        },
      );
      const rows = jsonRows(result);
      const first = rows[0];
      const firstColumn = result.fields[0]?.name;
      return {
        rows,
        row_count: result.rowCount,
        truncated: result.rowCount > rows.length,
        value: first !== undefined && firstColumn !== undefined ? (first[firstColumn] ?? null) : null,
      };
    },
  };
}
