import type { z } from 'zod';
import { PrometheusQueryConfigSchema } from '../../engine/diagnostic-types/prometheus-query.ts';
import type { Facts } from '../../engine/types.ts';
import { AdapterError } from '../../errors.ts';
import { createPrometheusClient, type PrometheusClient } from '../prometheus-client.ts';
import type { DiagnosticContext, DiagnosticExecutor } from '../types.ts';

/** A `prometheus_query` step's config (its query already rendered: templates as string literals). */
export type PrometheusQueryConfig = z.infer<typeof PrometheusQueryConfigSchema>;

export interface PrometheusQueryOptions {
  /**
   * Sent as the query's `timeout`, so that Prometheus gives up when we do. The step's own timeout
   * aborts the request in any case; this should not be longer. Default 30000 (the step default).
   */
  queryTimeoutMs?: number;
}

/**
 * `prometheus_query`: runs an instant query and reports `value` (the first sample, or null when
 * the result is empty), `values` (every `{labels, value}`), `count` and `empty`, plus
 * `warnings` (Prometheus' warnings, if any) and `result_type`.
 *
 * Values stay JavaScript numbers, NaN and ±Inf included: CEL compares them by IEEE rules
 * (`value > 90` is true for +Inf and false for NaN; `value == value` is false only for NaN). A
 * stored verdict is JSON, where NaN and ±Inf read back as null; the verdict itself was judged on the
 * numbers. A matrix result gives each series' newest sample; a string result is an error.
 *
 * Without a Prometheus connection the executor is still registered and every run fails with
 * "prometheus is not configured (set PROMETHEUS_URL)".
 */
export function createPrometheusQueryExecutor(
  client: PrometheusClient | undefined,
  options: PrometheusQueryOptions = {},
): DiagnosticExecutor<PrometheusQueryConfig> {
  const timeoutMs = options.queryTimeoutMs ?? 30_000;
  return {
    type: 'prometheus_query',
    configSchema: PrometheusQueryConfigSchema,
    async run(config: PrometheusQueryConfig, ctx: DiagnosticContext): Promise<Facts> {
      if (client === undefined)
        throw new AdapterError('prometheus', 'prometheus is not configured (set PROMETHEUS_URL)', {
          retryable: false,
        });
      const result = await client.query(config.query, {
        signal: ctx.signal,
        timeoutMs: ctx.timeoutMs ?? timeoutMs,
      });
      const values = result.samples.map((s) => ({ labels: s.labels, value: s.value }));
      return {
        value: values[0]?.value ?? null,
        values,
        count: values.length,
        empty: values.length === 0,
        warnings: result.warnings,
        result_type: result.resultType,
      };
    },
    async series(config, window, ctx) {
      if (client === undefined)
        throw new AdapterError('prometheus', 'prometheus is not configured (set PROMETHEUS_URL)', {
          retryable: false,
        });
      const range = { startMs: window.from, endMs: window.to, stepMs: window.step };
      const result = await client.queryRange(config.query, range, {
        signal: ctx.signal,
        timeoutMs: ctx.timeoutMs ?? timeoutMs,
      });
      return result.series;
    },
  };
}

/** The executor for `connections.prometheus`, or one that explains it is not configured. */
export function prometheusQueryExecutorFor(
  connection: Parameters<typeof createPrometheusClient>[0] | undefined,
): DiagnosticExecutor<PrometheusQueryConfig> {
  return createPrometheusQueryExecutor(connection ? createPrometheusClient(connection) : undefined);
}
