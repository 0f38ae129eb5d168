import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { type PeerCertificate, rootCertificates, TLSSocket } from 'node:tls';
import type { z } from 'zod';
import { HttpCheckConfigSchema } from '../../engine/diagnostic-types/http-check.ts';
import type { Facts } from '../../engine/types.ts';
import { AdapterError } from '../../errors.ts';
import { type EnvRefs, envRefs } from '../connections.ts';
import { abortError, type DiagnosticContext, type DiagnosticExecutor } from '../types.ts';

/** An `http_check` step's config, defaults applied. */
export type HttpCheckConfig = z.infer<typeof HttpCheckConfigSchema>;

/** One entry of the `checks` fact. */
export interface HttpCheckResult {
  name: string;
  url: string;
  /** Null when no response arrived. */
  status: number | null;
  ok: boolean;
  /** From sending the request to the end of the body (or of its first 64 KiB). */
  latency_ms: number;
  /** Network, TLS or timeout error; null when a response arrived. */
  error: string | null;
  /** Whole days until the server's certificate expires (https only). */
  cert_days: number | null;
}

export interface HttpCheckOptions {
  /** Extra CA certificate(s) to trust besides Node's roots (a private CA). */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Per-URL limit, so that one hanging URL is a fact (`error`, `any_unreachable`) while the
   * others still report. Keep it below the step timeout, whose abort fails the whole step.
   * Default 10000.
   */
  requestTimeoutMs?: number;
  /** Clock for `cert_days`. Default `Date.now`. */
  now?: () => number;
  /** Where header values' `${NAME}` references are read, at run time. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

const MAX_BODY_BYTES = 64 * 1024;
const DAY_MS = 86_400_000;

interface Target {
  name: string;
  url: URL;
  method: string;
  headers: Record<string, string>;
  expectStatus?: number[];
  bodyMatch?: RegExp;
}

/**
 * `http_check`: requests every URL in parallel and reports `checks`, `all_healthy`,
 * `any_unreachable`, `max_latency_ms`, `slow_count` (latency over `slowMs`) and `min_cert_days`.
 * A check is `ok` when a response arrived, its status is in `expectStatus` (default 200–399) and
 * `bodyMatch` (a regex) matches the body's first 64 KiB. An unhealthy or unreachable URL is a fact;
 * only a bad config or the step's abort signal throws. A header value may name a secret as
 * `${NAME}`: it is read from the environment when the check runs (the config keeps the reference),
 * and neither errors nor facts ever carry the value.
 */
export function createHttpCheckExecutor(options: HttpCheckOptions = {}): DiagnosticExecutor<HttpCheckConfig> {
  const extraCa = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  const ca = extraCa.length > 0 ? [...rootCertificates, ...extraCa] : undefined;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  return {
    type: 'http_check',
    configSchema: HttpCheckConfigSchema,
    async run(config: HttpCheckConfig, ctx: DiagnosticContext): Promise<Facts> {
      const started = performance.now();
      const refs = envRefs('http_check', options.env ?? process.env);
      const targets = config.urls.map((entry) => prepare(entry, refs));
      if (ctx.signal.aborted) throw abortError('http_check', ctx.signal, 0);
      const checks = await Promise.all(
        targets.map(async (t) => {
          const check = await checkOne(t, { signal: ctx.signal, ca, requestTimeoutMs, now });
          return check.error === null ? check : { ...check, error: refs.redact(check.error) };
        }),
      );
      // Every check settles at once on abort (its socket destroyed); the run then fails as a whole.
      if (ctx.signal.aborted) throw abortError('http_check', ctx.signal, performance.now() - started);
      return summarize(checks, config.slowMs);
    },
  };
}

/** The executor with Node's default trust store. */
export const httpCheckExecutor: DiagnosticExecutor<HttpCheckConfig> = createHttpCheckExecutor();

function prepare(entry: HttpCheckConfig['urls'][number], refs: EnvRefs): Target {
  const fail = (message: string, cause?: unknown) =>
    new AdapterError('http_check', `${entry.name}: ${message}`, { retryable: false, cause });
  let url: URL;
  try {
    url = new URL(entry.url);
  } catch (err) {
    throw fail(`invalid URL '${entry.url}'`, err);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw fail(`unsupported protocol '${url.protocol}' in '${entry.url}' (expected http or https)`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(entry.headers)) {
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    } catch (err) {
      throw fail(`invalid header '${name}'`, err);
    }
    headers[name] = refs.expand(value, `${entry.name}: header '${name}'`);
    try {
      http.validateHeaderValue(name, headers[name]);
    } catch {
      // Without the cause: its message could quote the value.
      throw fail(
        `invalid header '${name}': the value of ${refs.names(value).join(', ')} cannot be sent in an HTTP header (a line break or control character)`,
      );
    }
  }
  let bodyMatch: RegExp | undefined;
  if (entry.bodyMatch !== undefined) {
    try {
      bodyMatch = new RegExp(entry.bodyMatch);
    } catch (err) {
      throw fail(`invalid bodyMatch regex: ${(err as Error).message}`, err);
    }
  }
  return {
    name: entry.name,
    url,
    method: entry.method,
    headers: { 'user-agent': 'fireline-http-check', ...headers },
    expectStatus: entry.expectStatus,
    bodyMatch,
  };
}

interface CheckOptions {
  signal: AbortSignal;
  ca: (string | Buffer)[] | undefined;
  requestTimeoutMs: number;
  now: () => number;
}

/** Never rejects: every way a request can end is a result. */
function checkOne(t: Target, opts: CheckOptions): Promise<HttpCheckResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let status: number | null = null;
    let certDays: number | null = null;
    const body: Buffer[] = [];
    let bodyBytes = 0;
    let req: http.ClientRequest | undefined;
    let done = false;

    const finish = (error: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      // With its own connection (agent: false) a request's socket is not reused: close it now.
      req?.destroy();
      const text = Buffer.concat(body).toString('utf8');
      const ok =
        error === null &&
        status !== null &&
        statusOk(status, t.expectStatus) &&
        (t.bodyMatch === undefined || t.bodyMatch.test(text));
      resolve({
        name: t.name,
        url: t.url.href,
        status,
        ok,
        latency_ms: Math.round(performance.now() - started),
        error,
        cert_days: certDays,
      });
    };
    const timer = setTimeout(
      () => finish(`timed out after ${(opts.requestTimeoutMs / 1000).toFixed(1)}s`),
      opts.requestTimeoutMs,
    );
    const onAbort = () => finish('aborted');
    opts.signal.addEventListener('abort', onAbort, { once: true });

    const requestOptions: https.RequestOptions = { method: t.method, headers: t.headers, agent: false };
    if (t.url.protocol === 'https:') {
      requestOptions.rejectUnauthorized = true;
      if (opts.ca) requestOptions.ca = opts.ca;
    }
    try {
      req = (t.url.protocol === 'https:' ? https : http).request(t.url, requestOptions);
    } catch (err) {
      finish(`could not send request: ${(err as Error).message}`);
      return;
    }
    req.on('error', (err) => finish(err.message));
    req.on('response', (res) => {
      status = res.statusCode ?? null;
      if (res.socket instanceof TLSSocket) certDays = daysLeft(res.socket.getPeerCertificate(), opts.now());
      res.on('data', (chunk: Buffer) => {
        const kept = chunk.subarray(0, MAX_BODY_BYTES - bodyBytes);
        body.push(kept);
        bodyBytes += kept.length;
        if (bodyBytes >= MAX_BODY_BYTES) finish(null);
      });
      res.on('end', () => finish(null));
      res.on('error', (err) => finish(err.message));
    });
    req.end();
  });
}

function statusOk(status: number, expect: number[] | undefined): boolean {
  return expect === undefined ? status >= 200 && status <= 399 : expect.includes(status);
}

function daysLeft(cert: PeerCertificate, nowMs: number): number | null {
  const validTo = Date.parse(cert.valid_to);
  return Number.isNaN(validTo) ? null : Math.floor((validTo - nowMs) / DAY_MS);
}

function summarize(checks: HttpCheckResult[], slowMs: number): Facts {
  const certDays = checks.flatMap((c) => (c.cert_days === null ? [] : [c.cert_days]));
  return {
    checks,
    all_healthy: checks.every((c) => c.ok),
    any_unreachable: checks.some((c) => c.error !== null),
    max_latency_ms: Math.max(...checks.map((c) => c.latency_ms)),
    slow_count: checks.filter((c) => c.latency_ms > slowMs).length,
    min_cert_days: certDays.length > 0 ? Math.min(...certDays) : null,
  };
}
