import { setTimeout as delay } from 'node:timers/promises';
import { FirelineError } from '../errors.ts';

/** Where Fireline listens and the bearer token to send (none: auth is off on a loopback dev server). */
export interface ApiTarget {
  url: string;
  token?: string;
}

/** An RFC 9457 problem document as the API sends it. */
export interface Problem {
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}

/** The API answered with an error status; `problem` is its problem document (or one made from the status). */
export class ApiResponseError extends FirelineError {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super('API_REFUSED', `${problem.status} ${problem.title}: ${problem.detail}`);
    this.status = problem.status;
    this.problem = problem;
  }
}

/** No answer from Fireline: connection refused, unknown host, connection lost, or a timeout. */
export class ApiUnreachableError extends FirelineError {
  readonly url: string;
  constructor(url: string, reason: string, options?: ErrorOptions) {
    super('API_UNREACHABLE', `cannot reach Fireline at ${url}: ${reason}`, options);
    this.url = url;
  }
}

/** A small client of the operator HTTP API. */
export interface ApiClient {
  readonly baseUrl: string;
  /** Sends a request and resolves with the parsed JSON body of a 2xx answer. */
  json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  /** GETs a text resource (the Markdown report). */
  text(path: string): Promise<string>;
  /** Opens an SSE stream and yields its decoded text chunks until the server closes it. */
  stream(path: string, lastEventId: string | undefined, signal: AbortSignal): AsyncIterable<string>;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** A client of the API at `target.url`; only `fetch`, so the CLI starts without loading the server. */
export function createApiClient(target: ApiTarget, timeoutMs = REQUEST_TIMEOUT_MS): ApiClient {
  const baseUrl = target.url.replace(/\/+$/, '');
  const headers = (extra: Record<string, string>) => ({
    ...extra,
    ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
  });

  async function send(path: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, { ...init, signal });
    } catch (err) {
      throw unreachable(baseUrl, err, signal);
    }
    if (!res.ok) throw new ApiResponseError(await problemOf(res));
    return res;
  }

  return {
    baseUrl,
    async json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await send(
        path,
        {
          method,
          headers: headers({
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          }),
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        },
        signal,
      );
      return (await readBody(baseUrl, res, signal, (r) => r.json())) as T;
    },
    async text(path) {
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await send(path, { headers: headers({ accept: 'text/markdown, text/plain' }) }, signal);
      return readBody(baseUrl, res, signal, (r) => r.text());
    },
    async *stream(path, lastEventId, signal) {
      const res = await send(
        path,
        {
          headers: headers({
            accept: 'text/event-stream',
            ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
          }),
        },
        signal,
      );
      if (!res.body) return;
      const decoder = new TextDecoder();
      const reader = res.body.getReader();
      try {
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (err) {
            throw unreachable(baseUrl, err, signal, 'the connection was lost');
          }
          if (chunk.done) return;
          yield decoder.decode(chunk.value, { stream: true });
        }
      } finally {
        reader.releaseLock();
        await res.body.cancel().catch((err: unknown) => {
          // Cancelling a body whose socket is already gone rejects; that is the state we want.
          if (!signal.aborted && !(err instanceof TypeError)) throw err;
        });
      }
    },
  };
}

async function readBody<T>(
  baseUrl: string,
  res: Response,
  signal: AbortSignal,
  read: (r: Response) => Promise<T>,
): Promise<T> {
  try {
    return await read(res);
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new ApiResponseError({
        title: 'Bad Response',
        status: res.status,
        detail: `the answer from ${baseUrl} is not JSON; is --url pointing at Fireline?`,
      });
    throw unreachable(baseUrl, err, signal, 'the connection was lost');
  }
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
};

/** Turns a fetch failure into ApiUnreachableError; an abort by the caller is rethrown as it is. */
function unreachable(baseUrl: string, err: unknown, signal: AbortSignal, what?: string): unknown {
  if (signal.aborted && (signal.reason as Error | undefined)?.name !== 'TimeoutError') return err;
  if (signal.aborted) return new ApiUnreachableError(baseUrl, 'no answer within the time limit');
  if (!(err instanceof TypeError)) return err;
  // undici's "fetch failed" carries the socket error as its cause.
  const cause = err.cause as NodeJS.ErrnoException | undefined;
  const known = cause?.code ? SOCKET_ERRORS[cause.code] : undefined;
  const reason = what ?? (known ? `${known} (${cause?.code})` : cause?.message || cause?.code || err.message);
  return new ApiUnreachableError(baseUrl, reason, { cause: err });
}

/** The problem document of an error answer, or one made from the status when the body is not one. */
async function problemOf(res: Response): Promise<Problem> {
  const fallback: Problem = {
    title: res.statusText || 'Error',
    status: res.status,
    detail: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
  };
  const type = res.headers.get('content-type') ?? '';
  if (!/json/.test(type)) {
    await res.body?.cancel();
    return fallback;
  }
  const body = (await res.json().catch((err: unknown) => {
    if (err instanceof SyntaxError) return null;
    throw err;
  })) as Partial<Problem> | null;
  if (!body || typeof body !== 'object') return fallback;
  return {
    title: typeof body.title === 'string' ? body.title : fallback.title,
    status: res.status,
    detail: typeof body.detail === 'string' ? body.detail : fallback.detail,
    ...(Array.isArray(body.errors) ? { errors: body.errors } : {}),
  };
}

/** One dispatched Server-Sent Event. `id` is the last event id in force when it was dispatched. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * The SSE wire format (WHATWG HTML §9.2.6) as a pure incremental parser: feed it text in any
 * chunking, get whole events. Comments (`: ping`) are dropped; `retry:` updates `retryMs`.
 */
export class SseParser {
  lastEventId: string | undefined;
  retryMs: number | undefined;
  private pending = '';
  private data: string[] = [];
  private event = '';
  private started = false;
  private afterCr = false;

  constructor(lastEventId?: string) {
    this.lastEventId = lastEventId;
  }

  /** Parses `text` and returns the events it completed. */
  feed(text: string): SseEvent[] {
    let input = text;
    // A chunk that ended in '\r' may have cut a '\r\n' in two: the '\n' ends no second line.
    if (this.afterCr && input.length > 0) {
      if (input.startsWith('\n')) input = input.slice(1);
      this.afterCr = false;
    }
    input = this.pending + input;
    if (!this.started && input.length > 0) {
      this.started = true;
      if (input.startsWith('\uFEFF')) input = input.slice(1);
    }
    const lines = input.split(/\r\n|\r|\n/);
    this.pending = lines.pop() ?? '';
    if (input.endsWith('\r')) this.afterCr = true;
    const events: SseEvent[] = [];
    for (const line of lines) {
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** Forgets a half-received event (the connection dropped); keeps `lastEventId`. */
  reset(): void {
    this.pending = '';
    this.afterCr = false;
    this.data = [];
    this.event = '';
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const data = this.data;
    const event = this.event || 'message';
    this.data = [];
    this.event = '';
    if (data.length === 0) return undefined;
    return { id: this.lastEventId, event, data: data.join('\n') };
  }
}

/** How `followEvents` reports and ends. */
export interface FollowOptions {
  signal: AbortSignal;
  /** Called for each event; returning true stops following. */
  onEvent(event: SseEvent): boolean;
  /** The connection dropped; the next attempt starts after `delayMs`. */
  onReconnect(reason: string, delayMs: number): void;
  /** No byte (not even the 15 s ping) for this long means the connection is dead. Default 45 s. */
  idleTimeoutMs?: number;
}

const DEFAULT_RETRY_MS = 2000;
const MAX_RETRY_MS = 30_000;

/**
 * Follows an SSE stream, reconnecting with `Last-Event-ID` when the connection drops so no event
 * is missed or repeated. The first connection failing throws (Fireline is not there, or refused);
 * later drops are retried with backoff, an error answer (401, 404) throws.
 * Resolves `'stopped'` when `onEvent` stopped it, `'aborted'` when the signal fired.
 */
export async function followEvents(
  client: ApiClient,
  path: string,
  opts: FollowOptions,
): Promise<'stopped' | 'aborted'> {
  const parser = new SseParser();
  let connected = false;
  let failures = 0;
  while (!opts.signal.aborted) {
    const conn = new AbortController();
    const abort = () => conn.abort(opts.signal.reason);
    opts.signal.addEventListener('abort', abort, { once: true });
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(new Error('idle')), opts.idleTimeoutMs ?? 45_000);
    };
    let reason = 'the server closed the stream';
    try {
      arm();
      for await (const chunk of client.stream(path, parser.lastEventId, conn.signal)) {
        connected = true;
        failures = 0;
        arm();
        for (const event of parser.feed(chunk)) if (opts.onEvent(event)) return 'stopped';
      }
    } catch (err) {
      if (opts.signal.aborted) return 'aborted';
      if (conn.signal.aborted) reason = 'no data for too long';
      else if (err instanceof ApiUnreachableError && connected) reason = err.message;
      else if (err instanceof ApiResponseError && connected && err.status >= 500) reason = err.message;
      else throw err;
    } finally {
      clearTimeout(idle);
      opts.signal.removeEventListener('abort', abort);
    }
    parser.reset();
    const wait = Math.min((parser.retryMs ?? DEFAULT_RETRY_MS) * 2 ** failures, MAX_RETRY_MS);
    failures++;
    opts.onReconnect(reason, wait);
    try {
      await delay(wait, undefined, { signal: opts.signal });
    } catch (err) {
      if (opts.signal.aborted) return 'aborted';
      throw err;
    }
  }
  return 'aborted';
}
