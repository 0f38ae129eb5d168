import { AdapterError } from '../../errors.ts';

/**
 * The one way notifiers POST: JSON out, status mapped onto AdapterError the way the notification
 * worker treats it (src/incidents/notification.ts: retries, 429-aware). Endpoint URLs carry credentials
 * (a Slack webhook URL is a secret), so no message built here contains the URL.
 */

/** Response bodies kept for errors and parsing; enough for any error a remote sends. */
const MAX_BODY_CHARS = 2000;
/** Shown on the timeline when a remote refuses: enough to read the reason, never a page of HTML. */
const BODY_IN_MESSAGE_CHARS = 300;
/** A 429 with no usable Retry-After waits this long. */
const DEFAULT_RETRY_AFTER_MS = 5000;
/** A remote may not hold our deliveries back longer than this on one 429. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** A remote answered with a status that is not success; the status and its (capped) body say why. */
export class HttpStatusError extends AdapterError {
  readonly status: number;
  readonly body: string;
  constructor(
    adapter: string,
    status: number,
    body: string,
    opts: { retryable: boolean; retryAfterMs?: number },
  ) {
    const shown = oneLine(body).slice(0, BODY_IN_MESSAGE_CHARS);
    super(adapter, `HTTP ${status}${shown ? `: ${shown}` : ''}`, opts);
    this.status = status;
    this.body = body;
  }
}

export interface PostResult {
  status: number;
  /** The response body, capped. */
  body: string;
}

export interface PostOptions {
  headers?: Record<string, string>;
  signal: AbortSignal;
  /** For Retry-After given as an HTTP date. Default `Date.now`. */
  now?: () => number;
}

/**
 * POSTs `body` (already serialized JSON, so a signature can cover the exact bytes) and resolves
 * on any 2xx. Otherwise throws AdapterError: network errors, timeouts, 408 and 5xx retryable;
 * 429 retryable with `retryAfterMs` from Retry-After (seconds or an HTTP date); a redirect or any
 * other 4xx not retryable (the same request will be refused again), as an HttpStatusError.
 */
export async function postJson(
  adapter: string,
  url: string,
  body: string,
  opts: PostOptions,
): Promise<PostResult> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...opts.headers },
      body,
      signal: opts.signal,
      // A redirected POST turns into a GET on 301/302: name the problem instead of following it.
      redirect: 'manual',
    });
  } catch (err) {
    throw networkError(adapter, err, opts.signal);
  }
  let text: string;
  try {
    text = await readCapped(res, MAX_BODY_CHARS);
  } catch (err) {
    throw networkError(adapter, err, opts.signal);
  }
  const status = res.status;
  if (status >= 200 && status < 300) return { status, body: text };
  if (status === 429)
    throw new HttpStatusError(adapter, status, text, {
      retryable: true,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), (opts.now ?? Date.now)()),
    });
  if (status >= 300 && status < 400)
    throw new HttpStatusError(adapter, status, `redirected; configure the final URL instead`, {
      retryable: false,
    });
  throw new HttpStatusError(adapter, status, text, { retryable: status >= 500 || status === 408 });
}

/**
 * Milliseconds to wait from a Retry-After header: delay-seconds or an HTTP date (RFC 9110
 * 10.2.3), at least 1 ms, at most ten minutes; absent or unreadable → five seconds.
 */
export function parseRetryAfter(header: string | null, nowMs: number): number {
  const value = header?.trim();
  let ms: number | undefined;
  if (value && /^\d+$/.test(value)) ms = Number(value) * 1000;
  else if (value) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) ms = at - nowMs;
  }
  if (ms === undefined) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(Math.max(ms, 1), MAX_RETRY_AFTER_MS);
}

/** Network failure or our own timeout/cancel: another attempt may get through. */
function networkError(adapter: string, err: unknown, signal: AbortSignal): AdapterError {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
    return new AdapterError(adapter, timedOut ? 'no answer in time' : 'cancelled', {
      retryable: true,
      cause: reason,
    });
  }
  // fetch wraps the socket error: the cause names it (ECONNREFUSED 127.0.0.1:8080), never the path.
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new AdapterError(adapter, `could not reach the endpoint: ${why}`, { retryable: true, cause: err });
}

async function readCapped(res: Response, maxChars: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
    if (text.length >= maxChars) {
      // Stop reading: the rest is not needed, and a huge error page should not be buffered.
      await reader.cancel();
      return text.slice(0, maxChars);
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
