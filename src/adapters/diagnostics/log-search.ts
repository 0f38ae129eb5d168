import { type FileHandle, open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { LogSearchConfigSchema } from '../../engine/diagnostic-types/log-search.ts';
import type { Facts } from '../../engine/types.ts';
import { AdapterError } from '../../errors.ts';
import { type ApiEndpoint, apiGet, capText, parseRangeResponse } from '../prometheus-client.ts';
import {
  abortError,
  type DiagnosticContext,
  type DiagnosticExecutor,
  type RangeSeries,
  type SeriesWindow,
} from '../types.ts';

/** A `log_search` step's config, defaults applied: a Loki query or files with a pattern. */
export type LogSearchConfig = z.infer<typeof LogSearchConfigSchema>;
type LokiSearch = Extract<LogSearchConfig, { source: 'loki' }>;
type FileSearch = Extract<LogSearchConfig, { source: 'file' }>;

/** One entry of the `lines` fact. */
export interface LogLine {
  /** ISO-8601; null for a file line without a leading timestamp. */
  ts: string | null;
  /** The line, cut at 2000 characters. */
  line: string;
  /** The Loki stream's labels, or `{path}` for a file. */
  labels: Record<string, string>;
}

/** `connections.loki`. */
export type LokiConnection = ApiEndpoint & { orgId?: string };

export interface LogSearchOptions {
  /** Without it, `source: loki` fails with "loki is not configured (set LOKI_URL)". */
  loki?: LokiConnection;
  /** Clock for the window. Default `Date.now`. */
  now?: () => number;
  /** Read at most this much of each file, from its end. Default 8 MiB. */
  maxBytesPerFile?: number;
}

const ADAPTER = 'log_search';
const MAX_LINE_CHARS = 2000;
const CHUNK_BYTES = 64 * 1024;
const NS_PER_MS = 1_000_000n;

/**
 * `log_search`: `count` (matching lines found) and `lines` (newest first, at most `limit`), and
 * `truncated` (a file was larger than the bytes read and the window reached past them).
 *
 * - `source: loki`: `query_range` over the last `sinceMinutes`, `direction=backward`, `limit`;
 *   `count` is the number of lines Loki returned (Loki itself stops at `limit`). A Loki error
 *   (text/plain) is an AdapterError carrying its text.
 * - `source: file`: each path as given (no globbing), read from its end in 64 KiB chunks, at most
 *   `maxBytesPerFile`. A line counts when `pattern` (a JavaScript RegExp) matches and it is in the
 *   window: a line that starts with an ISO-8601/RFC 3339 timestamp (`2024-05-01T10:00:00Z`,
 *   `2024-05-01 10:00:00,123`, optionally in `[…]`; no zone = this process's local time) is in
 *   the window when that time is; a line without one only when the file was modified inside the
 *   window. Files are assumed chronological: reading stops at the first timestamped line older
 *   than the window.
 */
export function createLogSearchExecutor(options: LogSearchOptions = {}): DiagnosticExecutor<LogSearchConfig> {
  const now = options.now ?? Date.now;
  const maxBytes = options.maxBytesPerFile ?? 8 * 1024 * 1024;
  return {
    type: 'log_search',
    configSchema: LogSearchConfigSchema,
    run(config: LogSearchConfig, ctx: DiagnosticContext): Promise<Facts> {
      return config.source === 'loki'
        ? searchLoki(config, options.loki, now(), ctx.signal)
        : searchFiles(config, now(), maxBytes, ctx.signal);
    },
    series(config: LogSearchConfig, window: SeriesWindow, ctx: DiagnosticContext) {
      return config.source === 'loki'
        ? countLoki(config, options.loki, window, ctx.signal)
        : countFiles(config, window, maxBytes, ctx.signal);
    },
  };
}

// ── Loki ────────────────────────────────────────────────────────────────────────────────────

const LokiResponseSchema = z.object({
  status: z.string(),
  data: z.object({
    resultType: z.string(),
    result: z.array(z.unknown()),
  }),
});
const StreamSchema = z.object({
  stream: z.record(z.string(), z.string()),
  // A third element (structured metadata) exists in newer Loki answers; it is not used.
  values: z.array(z.tuple([z.string().regex(/^\d+$/), z.string()], z.unknown())),
});

async function searchLoki(
  config: LokiSearch,
  loki: LokiConnection | undefined,
  nowMs: number,
  signal: AbortSignal,
): Promise<Facts> {
  const fail = (message: string, retryable = false) => new AdapterError('loki', message, { retryable });
  if (loki === undefined) throw fail('loki is not configured (set LOKI_URL)');
  const endNs = BigInt(nowMs) * NS_PER_MS;
  const startNs = endNs - BigInt(Math.round(config.sinceMinutes * 60_000)) * NS_PER_MS;
  const res = await apiGet(
    'loki',
    loki,
    'loki/api/v1/query_range',
    {
      query: config.query,
      start: startNs.toString(),
      end: endNs.toString(),
      limit: String(config.limit),
      direction: 'backward',
    },
    { signal, ...(loki.orgId !== undefined ? { headers: { 'X-Scope-OrgID': loki.orgId } } : {}) },
  );
  if (res.status !== 200)
    throw fail(`HTTP ${res.status}: ${capText(res.text, 500)}`, res.status >= 500 || res.status === 429);
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch {
    throw fail(`HTTP 200, not the query API's JSON: ${capText(res.text, 200)}`);
  }
  const parsed = LokiResponseSchema.safeParse(json);
  if (!parsed.success || parsed.data.status !== 'success') throw fail('unexpected answer shape');
  if (parsed.data.data.resultType !== 'streams')
    throw fail(`the query gave a ${parsed.data.data.resultType}, not log lines; use a log query`);
  const entries: { ns: bigint; line: LogLine }[] = [];
  for (const raw of parsed.data.data.result) {
    const stream = StreamSchema.safeParse(raw);
    if (!stream.success) throw fail('unexpected stream shape');
    for (const [ns, line] of stream.data.values) {
      const at = BigInt(ns);
      entries.push({
        ns: at,
        line: {
          ts: new Date(Number(at / NS_PER_MS)).toISOString(),
          line: cut(line),
          labels: stream.data.stream,
        },
      });
    }
  }
  // Each stream is newest first; streams are merged by time.
  entries.sort((a, b) => (a.ns === b.ns ? 0 : a.ns > b.ns ? -1 : 1));
  return {
    count: entries.length,
    lines: entries.slice(0, config.limit).map((e) => e.line),
    truncated: false,
  };
}

/**
 * Matching lines per minute over the window (Loki's `count_over_time`, summed over streams), for
 * the step's chart: a point a minute, or one per window step when that is longer. The query is
 * the step's rendered query as `run` sends it.
 */
async function countLoki(
  config: LokiSearch,
  loki: LokiConnection | undefined,
  window: SeriesWindow,
  signal: AbortSignal,
): Promise<RangeSeries[]> {
  if (loki === undefined)
    throw new AdapterError('loki', 'loki is not configured (set LOKI_URL)', { retryable: false });
  const stepSeconds = Math.max(60, Math.ceil(window.step / 1000));
  const res = await apiGet(
    'loki',
    loki,
    'loki/api/v1/query_range',
    {
      query: `sum(count_over_time(${config.query} [${stepSeconds}s]))`,
      start: String(window.from / 1000),
      end: String(window.to / 1000),
      step: String(stepSeconds),
    },
    { signal, ...(loki.orgId !== undefined ? { headers: { 'X-Scope-OrgID': loki.orgId } } : {}) },
  );
  return parseRangeResponse(res, 'loki').series;
}

// ── files ───────────────────────────────────────────────────────────────────────────────────

const LEADING_TS =
  /^\[?(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s?([Zz]|[+-]\d{2}:?\d{2})?(?=[\]\s|,;]|$)/;

/** The leading timestamp of a log line in ms, or null when it has none. */
export function leadingTimestamp(line: string): number | null {
  const m = LEADING_TS.exec(line);
  if (!m) return null;
  const [, date, time, fraction, zone] = m;
  const ms = fraction ? `.${fraction.slice(0, 3).padEnd(3, '0')}` : '';
  const offset =
    zone === undefined ? '' : /^[Zz]$/.test(zone) ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const at = Date.parse(`${date}T${time}${ms}${offset}`);
  return Number.isNaN(at) ? null : at;
}

interface FileMatch {
  /** For ordering across files: never newer than a line after it in the same file. */
  key: number;
  line: LogLine;
}

async function searchFiles(
  config: FileSearch,
  nowMs: number,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Facts> {
  let pattern: RegExp;
  try {
    pattern = new RegExp(config.pattern);
  } catch (err) {
    throw new AdapterError(ADAPTER, `invalid pattern: ${(err as Error).message}`, { retryable: false });
  }
  const windowStart = nowMs - config.sinceMinutes * 60_000;
  const started = performance.now();
  let count = 0;
  let truncated = false;
  const matches: FileMatch[] = [];
  for (const path of config.paths) {
    const found = await searchFile(path, {
      pattern,
      windowStart,
      maxBytes,
      limit: config.limit,
      signal,
      started,
    });
    count += found.count;
    truncated ||= found.truncated;
    matches.push(...found.matches);
  }
  // Stable: lines of one file keep their order (their keys never increase).
  matches.sort((a, b) => b.key - a.key);
  return { count, lines: matches.slice(0, config.limit).map((m) => m.line), truncated };
}

interface FileScan {
  pattern: RegExp;
  windowStart: number;
  maxBytes: number;
  limit: number;
  signal: AbortSignal;
  started: number;
  /** Called with the time of each matching line that has one (the per-minute count of a chart). */
  onMatchAt?: (ms: number) => void;
}

/**
 * Matching lines per minute over the window, from the files (for the step's chart): only lines
 * that start with a timestamp can be placed in a minute; the others are left out of the count.
 */
async function countFiles(
  config: FileSearch,
  window: SeriesWindow,
  maxBytes: number,
  signal: AbortSignal,
): Promise<RangeSeries[]> {
  let pattern: RegExp;
  try {
    pattern = new RegExp(config.pattern);
  } catch (err) {
    throw new AdapterError(ADAPTER, `invalid pattern: ${(err as Error).message}`, { retryable: false });
  }
  const step = Math.max(60_000, window.step);
  const points = Math.floor((window.to - window.from) / step) + 1;
  const counts = new Array<number>(points).fill(0);
  // A point counts the lines of the step that ends at it, as Loki's count_over_time does.
  const onMatchAt = (ms: number) => {
    const i = Math.ceil((ms - window.from) / step);
    if (i >= 0 && i < points) counts[i]! += 1;
  };
  const started = performance.now();
  const windowStart = window.from - step;
  for (const path of config.paths)
    await searchFile(path, { pattern, windowStart, maxBytes, limit: 0, signal, started, onMatchAt });
  return [
    { labels: {}, values: counts.map((n, i): [number, number] => [(window.from + i * step) / 1000, n]) },
  ];
}

async function searchFile(
  path: string,
  scan: FileScan,
): Promise<{ count: number; matches: FileMatch[]; truncated: boolean }> {
  const fail = (what: string, err: unknown) =>
    new AdapterError(ADAPTER, `${path}: ${what}`, { retryable: false, cause: err });
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw fail(`cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw fail('not a regular file', undefined);
    const matches: FileMatch[] = [];
    let count = 0;
    // Lines without a timestamp take the file's mtime: in the window only when the file was written in it.
    let floor = info.mtimeMs;
    const mtimeInWindow = info.mtimeMs >= scan.windowStart;
    const onLine = (text: string): boolean => {
      const line = text.endsWith('\r') ? text.slice(0, -1) : text;
      if (line === '') return true;
      const ts = leadingTimestamp(line);
      if (ts !== null && ts < scan.windowStart) return false;
      floor = Math.min(floor, ts ?? floor);
      if ((ts !== null || mtimeInWindow) && scan.pattern.test(line)) {
        count++;
        if (ts !== null) scan.onMatchAt?.(ts);
        if (matches.length < scan.limit)
          matches.push({
            key: floor,
            line: { ts: ts === null ? null : new Date(ts).toISOString(), line: cut(line), labels: { path } },
          });
      }
      return true;
    };
    const truncated = await readLinesBackward(fh, info.size, scan, onLine);
    return { count, matches, truncated };
  } finally {
    await fh.close();
  }
}

/**
 * Calls `onLine` for each line from the end of the file backwards until it returns false, the
 * start is reached or `maxBytes` are read. True when the cap stopped it (the cut first line is
 * dropped).
 */
async function readLinesBackward(
  fh: FileHandle,
  size: number,
  scan: FileScan,
  onLine: (line: string) => boolean,
): Promise<boolean> {
  let pos = size;
  let read = 0;
  let carry = Buffer.alloc(0);
  while (pos > 0) {
    if (read >= scan.maxBytes) return true;
    if (scan.signal.aborted) throw abortError(ADAPTER, scan.signal, performance.now() - scan.started);
    const len = Math.min(CHUNK_BYTES, pos, scan.maxBytes - read);
    pos -= len;
    const chunk = Buffer.alloc(len);
    const { bytesRead } = await fh.read(chunk, 0, len, pos);
    read += bytesRead;
    const data = Buffer.concat([chunk.subarray(0, bytesRead), carry]);
    let end = data.length;
    // Every segment after a newline is a whole line; the segment before the first is not (yet).
    for (let nl = data.lastIndexOf(10, end - 1); nl !== -1; nl = data.lastIndexOf(10, end - 1)) {
      if (!onLine(data.toString('utf8', nl + 1, end))) return false;
      end = nl;
      if (end === 0) break;
    }
    carry = data.subarray(0, end);
  }
  if (carry.length > 0) onLine(carry.toString('utf8'));
  return false;
}

function cut(line: string): string {
  return line.length <= MAX_LINE_CHARS ? line : `${line.slice(0, MAX_LINE_CHARS)}…`;
}
