import { z } from 'zod';
import { diagnosticType, NonEmpty } from '../type-spec.ts';

/** `prometheus_query`: an instant PromQL query. */
export const PrometheusQueryConfigSchema = z.strictObject({ query: NonEmpty });

export const prometheusQuery = diagnosticType({
  type: 'prometheus_query',
  configSchema: PrometheusQueryConfigSchema,
  facts: [
    {
      name: 'value',
      type: 'dyn',
      doc: 'first sample as a number (NaN and ±Inf kept), or null when the result is empty',
    },
    { name: 'values', type: 'list', doc: 'every sample as {labels, value}' },
    { name: 'count', type: 'double', doc: 'number of samples' },
    { name: 'empty', type: 'bool', doc: 'true when the query returned no samples' },
  ],
  templateFields: (c) => [{ path: ['query'], value: c.query, mode: 'promql' }],
  standIn: { query: 'vector(0)' },
});
