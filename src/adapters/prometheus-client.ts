import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { AdapterError } from '../errors.ts';
import { abortError } from './types.ts';

/**
 * A small client for the Prometheus HTTP API (instant queries), shared by the `prometheus_query`
 * executor and, through it, the `metric_threshold` poller; and the capped GET that Prometheus-style
 * APIs (Prometheus, Loki) share. Credentials go in headers only and never into an error message:
 * errors name the server by its origin, which carries no user info.
 */

/** Where and how to reach a Prometheus-style API (`connections.prometheus` / `connections.loki`). */
export interface ApiEndpoint {
  url: string;
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  headers: Record<string, string>;
}

/** What came back from a GET, the body cut at the cap. */
export interface ApiResponse {
  status: number;
  contentType: string;
  text: string;
  truncated: boolean;
}

/** A response body above this is cut (and, for JSON, refused): facts are meant to be small. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** `text` cut to `maxChars`, marked when cut; for remote error text in messages. */
export function capText(text: string, maxChars: number): string {
  const flat = text.trim();
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars)}…`;
}

/**
 * GETs `path` (relative to the endpoint URL, which may carry a path prefix) with `params` as the
 * query string, the endpoint's auth and headers, and `signal`.
 *
 * @throws AdapterError when the server cannot be reached (retryable) or `signal` aborts
 *   ("timed out after Ns" / "cancelled after Ns", not retryable).
 */
export async function apiGet(
  adapter: string,
  endpoint: ApiEndpoint,
  path: string,
  params: Record<string, string>,
  opts: { signal: AbortSignal; headers?: Record<string, string>; maxBytes?: number },
): Promise<ApiResponse> {
  const started = performance.now();
  const base = endpoint.url.endsWith('/') ? endpoint.url : `${endpoint.url}/`;
  const url = new URL(path.replace(/^\//, ''), base);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...endpoint.headers,
    ...opts.headers,
  };
  if (endpoint.bearerToken !== undefined) headers.authorization = `Bearer ${endpoint.bearerToken}`;
  else if (endpoint.basicAuth !== undefined) {
    const { username, password } = endpoint.basicAuth;
    headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  // Userinfo in the configured URL would be sent by fetch as-is; errors show the origin only.
  const where = url.origin;
  if (opts.signal.aborted) throw abortError(adapter, opts.signal, 0);
  try {
    const res = await fetch(url, { headers, signal: opts.signal, redirect: 'error' });
    const { text, truncated } = await readCapped(res, opts.maxBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, truncated };
  } catch (err) {
    if (opts.signal.aborted) throw abortError(adapter, opts.signal, performance.now() - started);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new AdapterError(adapter, `could not reach ${where}: ${why}`, { retryable: true, cause: err });
  }
}

async function readCapped(res: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (res.body === null) return { text: '', truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - size;
    if (value.length > room) {
      chunks.push(value.subarray(0, room));
      // The rest is not wanted: stop the download instead of reading it to the end.
      await reader.cancel();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(value);
    size += value.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

/** One sample of an instant query: a series' labels and its value (NaN and ±Inf as JS numbers). */
export interface PromSample {
  labels: Record<string, string>;
  value: number;
  /** Unix seconds of the sample. */
  timestamp: number;
}

/** An instant query's result, every result type brought to a list of samples. */
export interface InstantQueryResult {
  resultType: 'vector' | 'scalar' | 'matrix';
  samples: PromSample[];
  /** Warnings Prometheus attached to a successful answer. */
  warnings: string[];
}

export interface PrometheusClient {
  /**
   * Runs an instant query (`GET /api/v1/query`). A `vector` gives one sample per series, a
   * `scalar` one sample without labels, a `matrix` (a range selector such as `up[5m]`) the newest
   * sample of each series. A `string` result is refused: nothing can compare it with a threshold.
   *
   * @throws AdapterError on Prometheus' error envelope ("bad_data: parse error …"), on an answer
   *   that is not the API's JSON, when unreachable, or when `signal` aborts.
   */
  query(promql: string, opts: { signal: AbortSignal; timeoutMs?: number }): Promise<InstantQueryResult>;
  /**
   * Runs a range query (`GET /api/v1/query_range`) from `startMs` to `endMs` every `stepMs`: every
   * series with its samples (unix seconds, values as numbers, NaN and ±Inf kept).
   *
   * @throws AdapterError as `query` does; a result that is not a matrix is refused.
   */
  queryRange(
    promql: string,
    range: { startMs: number; endMs: number; stepMs: number },
    opts: { signal: AbortSignal; timeoutMs?: number },
  ): Promise<RangeQueryResult>;
}

/** A range query's series, each with its samples in time order. */
export interface RangeQueryResult {
  series: { labels: Record<string, string>; values: [seconds: number, value: number][] }[];
  warnings: string[];
}

const PROMETHEUS = 'prometheus';
const Labels = z.record(z.string(), z.string());
const SamplePair = z.tuple([z.number(), z.string()]);
const EnvelopeSchema = z.object({
  status: z.enum(['success', 'error']),
  data: z.unknown().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  warnings: z.array(z.string()).optional(),
});
const DataSchema = z.discriminatedUnion('resultType', [
  z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: Labels, value: SamplePair })),
  }),
  z.object({ resultType: z.literal('scalar'), result: SamplePair }),
  z.object({
    resultType: z.literal('matrix'),
    result: z.array(z.object({ metric: Labels, values: z.array(SamplePair) })),
  }),
  z.object({ resultType: z.literal('string'), result: SamplePair }),
]);

/**
 * A sample value as the API writes it: a decimal string, or `NaN`, `+Inf`, `-Inf` (which JSON
 * numbers cannot carry). Anything else is NaN.
 */
export function parseSampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return text.trim() === '' ? Number.NaN : Number(text);
}

/** A client for one Prometheus (`connections.prometheus`). */
export function createPrometheusClient(endpoint: ApiEndpoint): PrometheusClient {
  return {
    async query(promql, opts) {
      const params: Record<string, string> = { query: promql };
      // Prometheus stops evaluating at its own timeout too, not only when we hang up.
      if (opts.timeoutMs !== undefined) params.timeout = `${Math.max(1, Math.round(opts.timeoutMs))}ms`;
      const res = await apiGet(PROMETHEUS, endpoint, 'api/v1/query', params, { signal: opts.signal });
      return parseQueryResponse(res);
    },
    async queryRange(promql, range, opts) {
      const seconds = (ms: number) => String(ms / 1000);
      const params: Record<string, string> = {
        query: promql,
        start: seconds(range.startMs),
        end: seconds(range.endMs),
        step: seconds(range.stepMs),
      };
      if (opts.timeoutMs !== undefined) params.timeout = `${Math.max(1, Math.round(opts.timeoutMs))}ms`;
      const res = await apiGet(PROMETHEUS, endpoint, 'api/v1/query_range', params, { signal: opts.signal });
      return parseRangeResponse(res);
    },
  };
}

/**
 * A `query_range` answer (Prometheus', or Loki's for a metric query: the same envelope and
 * matrix) as series; `adapter` names the server in errors.
 */
export function parseRangeResponse(res: ApiResponse, adapter = PROMETHEUS): RangeQueryResult {
  const { data, warnings } = parseEnvelope(res, adapter);
  if (data.resultType !== 'matrix')
    throw new AdapterError(
      adapter,
      `a range query answered a ${data.resultType}, not a matrix (HTTP ${res.status})`,
      {
        retryable: false,
      },
    );
  return {
    series: data.result.map((s) => ({
      labels: s.metric,
      values: s.values.map(([t, v]): [number, number] => [t, parseSampleValue(v)]),
    })),
    warnings,
  };
}

/** The API's answer checked and unwrapped: its data by result type, and its warnings. */
function parseEnvelope(
  res: ApiResponse,
  adapter = PROMETHEUS,
): { data: z.infer<typeof DataSchema>; warnings: string[] } {
  const fail = (message: string, retryable = false) => new AdapterError(adapter, message, { retryable });
  if (res.truncated)
    throw fail(`the answer is larger than ${DEFAULT_MAX_RESPONSE_BYTES} bytes; aggregate the query`);
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch {
    // A proxy's HTML page or a plain-text error: show its start, it says what went wrong.
    throw fail(`HTTP ${res.status}, not the query API's JSON: ${capText(res.text, 200)}`, res.status >= 500);
  }
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) throw fail(`HTTP ${res.status}, not the query API's JSON envelope`);
  const { status, errorType, error, data, warnings = [] } = envelope.data;
  if (status === 'error') {
    const type = errorType ?? 'error';
    // timeout, unavailable and internal errors may pass; bad_data and execution errors will not.
    const retryable = res.status >= 500 || type === 'timeout' || type === 'unavailable';
    throw fail(`${type}: ${capText(error ?? `HTTP ${res.status}`, 1000)}`, retryable);
  }
  const parsed = DataSchema.safeParse(data);
  if (!parsed.success) throw fail(`unexpected query result shape (HTTP ${res.status})`);
  return { data: parsed.data, warnings };
}

function parseQueryResponse(res: ApiResponse): InstantQueryResult {
  const fail = (message: string) => new AdapterError(PROMETHEUS, message, { retryable: false });
  const { data: d, warnings } = parseEnvelope(res);
  const sample = (labels: Record<string, string>, [t, v]: [number, string]): PromSample => ({
    labels,
    value: parseSampleValue(v),
    timestamp: t,
  });
  switch (d.resultType) {
    case 'vector':
      return { resultType: 'vector', samples: d.result.map((s) => sample(s.metric, s.value)), warnings };
    case 'scalar':
      return { resultType: 'scalar', samples: [sample({}, d.result)], warnings };
    case 'matrix':
      return {
        resultType: 'matrix',
        samples: d.result.flatMap((s) => {
          const newest = s.values.at(-1);
          return newest ? [sample(s.metric, newest)] : [];
        }),
        warnings,
      };
    case 'string':
      throw fail('the query returned a string, not a number; a diagnostic needs a vector or a scalar');
  }
}
