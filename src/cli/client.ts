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
            // The API refuses a POST that a form of another site could send: say it is ours.
            ...(method === 'GET' ? {} : { 'x-fireline-request': '1' }),
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
