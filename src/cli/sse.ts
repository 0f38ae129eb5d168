import { setTimeout as delay } from 'node:timers/promises';
import { type ApiClient, ApiResponseError, ApiUnreachableError } from './client.ts';

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
