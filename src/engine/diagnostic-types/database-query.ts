import { z } from 'zod';
import { diagnosticType, list, NonEmpty } from '../type-spec.ts';

/** `database_query`: one SQL query on a named database, templates only in its bind `params`. */
export const DatabaseQueryConfigSchema = z.strictObject({
  database: NonEmpty.default('default'),
  query: NonEmpty,
  params: z.array(z.string()).default([]),
  maxRows: z.number().int().positive().default(100),
});

export const databaseQuery = diagnosticType({
  type: 'database_query',
  configSchema: DatabaseQueryConfigSchema,
  facts: [
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
  templateFields: (c) => [
    { path: ['query'], value: c.query, mode: 'sql' },
    ...list(c.params, ['params'], 'sql-param'),
  ],
  standIn: { query: 'select 1' },
});
