import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One request a receiver got, with its exact body bytes (as text) and when it arrived. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the body was complete. */
  at: number;
}

export interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * A local HTTP server standing in for Slack, PagerDuty or a webhook receiver: records every
 * request and answers what `reply` says (by default 200 `ok`, as a Slack webhook does).
 * `reply` gets the request and its 0-based index among all requests; `'hang'` never answers
 * (the socket is destroyed by close()).
 */
export async function startReceiver(
  reply: (req: Received, index: number) => Reply | 'hang' = () => ({ status: 200, body: 'ok' }),
) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      };
      const index = received.push(entry) - 1;
      const out = reply(entry, index);
      if (out === 'hang') return;
      res.writeHead(out.status, { 'content-type': 'text/plain', ...out.headers });
      res.end(out.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** The JSON bodies received, parsed. */
    json: <T = Record<string, unknown>>() => received.map((r) => JSON.parse(r.body) as T),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
