import { z } from 'zod';
import { diagnosticType, list, NonEmpty } from '../type-spec.ts';

/** `log_search`: a Loki query, or a pattern over log files. */
export const LogSearchConfigSchema = z.discriminatedUnion('source', [
  z.strictObject({
    source: z.literal('loki'),
    query: NonEmpty,
    sinceMinutes: z.number().positive().default(15),
    limit: z.number().int().positive().default(100),
  }),
  z.strictObject({
    source: z.literal('file'),
    paths: z.array(NonEmpty).min(1),
    pattern: NonEmpty,
    sinceMinutes: z.number().positive().default(15),
    limit: z.number().int().positive().default(100),
  }),
]);

export const logSearch = diagnosticType({
  type: 'log_search',
  configSchema: LogSearchConfigSchema,
  facts: [
    { name: 'count', type: 'double', doc: 'matching lines found (before the cap)' },
    { name: 'lines', type: 'list', doc: 'matching lines, newest first (capped at limit)' },
  ],
  templateFields: (c) =>
    c.source === 'loki'
      ? [{ path: ['query'], value: c.query, mode: 'promql' }]
      : list(c.paths, ['paths'], 'path'),
  standIn: { source: 'loki', query: '{job="standin"}' },
});
