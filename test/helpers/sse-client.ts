/** One SSE frame as a browser's EventSource would parse it, or a `:` comment line. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

/** A Server-Sent Events client on fetch that keeps every frame, for tests to wait on. */
export interface SseClient {
  status: number;
  headers: Headers;
  frames: SseFrame[];
  /** Frames with an id: the events. */
  events(): { id: string; event: string; data: Record<string, unknown> }[];
  /** Resolves with the frames so far once `until` holds; rejects after `timeoutMs` naming what came. */
  waitFor(until: (frames: SseFrame[]) => boolean, what: string, timeoutMs?: number): Promise<SseFrame[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Disconnects, as a browser tab closing would. */
  close(): void;
}

/** Opens `url` as an event stream (headers: Last-Event-ID, Authorization) and starts reading. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of waiters) w();
  };
  let failure: unknown;

  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          frames.push(parseFrame(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
        notify();
      }
    } catch (err) {
      if (!abort.signal.aborted) failure = err;
    }
    notify();
  })();

  return {
    status: res.status,
    headers: res.headers,
    frames,
    events: () =>
      frames
        .filter((f) => f.id !== undefined)
        .map((f) => ({ id: f.id!, event: f.event ?? 'message', data: JSON.parse(f.data ?? 'null') })),
    waitFor(until, what, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        let finished = false;
        const check = () => {
          if (until(frames)) done(() => resolve(frames));
          else if (failure) done(() => reject(failure));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`SSE: timed out waiting for ${what}; frames: ${show(frames)}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    ended,
    close: () => abort.abort(),
  };
}

function parseFrame(block: string): SseFrame {
  const frame: SseFrame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = line.slice(1).trim();
    const colon = line.indexOf(':');
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') frame.id = value;
    else if (field === 'event') frame.event = value;
    else if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
    else if (field === 'retry') frame.retry = Number(value);
  }
  return frame;
}

function show(frames: SseFrame[]): string {
  return frames
    .map((f) => (f.id ? `${f.id} ${f.event}` : f.comment ? `:${f.comment}` : JSON.stringify(f)))
    .join(', ');
}
