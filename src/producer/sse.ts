import type { Response } from 'express';

/** An open Server-Sent Events response. */
export interface SseStream {
  /** Writes one event (`id:`, `event:`, `data:` as JSON); does nothing once closed. */
  send(id: string, event: string, data: unknown): void;
  /** Ends the response; the client reconnects after `retry` with its Last-Event-ID. */
  close(): void;
  readonly closed: boolean;
}

/** How an SSE response behaves. */
export interface SseOptions {
  /** Sent first as `retry:`: how long a client waits before reconnecting (default 2000 ms). */
  retryMs?: number;
  /** Interval of the `: ping` comment that keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /**
   * Bytes the socket may hold unsent before the stream is closed (default 1 MiB). A reader too slow
   * to keep up reconnects and resumes from the store, instead of growing this process's memory.
   */
  maxBufferedBytes?: number;
  /** Called once when the response closes, whoever closed it. */
  onClose: () => void;
}

const open = new Set<SseStream>();

/**
 * Ends every open SSE response of this process, so that an HTTP server closing for shutdown is not
 * held open by long-lived streams (clients reconnect to another instance with Last-Event-ID).
 * Returns how many were open.
 */
export function closeAllStreams(): number {
  const streams = [...open];
  for (const stream of streams) stream.close();
  return streams.length;
}

/** How many SSE responses this process holds open. */
export function openStreamCount(): number {
  return open.size;
}

/** Starts an SSE response on `res`: headers, `retry:`, heartbeats, and cleanup on close. */
export function openSse(res: Response, opts: SseOptions): SseStream {
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);

  let closed = false;
  const write = (chunk: string) => {
    if (closed || res.writableEnded || res.destroyed) return;
    res.write(chunk);
    if (res.writableLength > maxBuffered) stream.close();
  };
  const heartbeat = setInterval(() => write(': ping\n\n'), opts.heartbeatMs);
  const stream: SseStream = {
    send(id, event, data) {
      write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    close() {
      if (!res.writableEnded) res.end();
    },
    get closed() {
      return closed;
    },
  };
  // `close` fires on client disconnect and after `end`: one place to stop everything.
  res.on('close', () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    open.delete(stream);
    opts.onClose();
  });
  open.add(stream);
  write(`retry: ${opts.retryMs ?? 2000}\n\n`);
  return stream;
}
