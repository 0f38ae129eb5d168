import { type IncomingHttpHeaders, request } from 'node:http';

/** An answer as `rawRequest` reads it: status, headers, text and the parsed JSON (if JSON). */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: assertions read JSON answers of many shapes
  body: any;
}

/**
 * One request over node:http, with every header as given (`Host` and `Origin` included, which a
 * browser or fetch would set itself): what a forged or rebound request really sends.
 */
export function rawRequest(
  base: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawAnswer> {
  const url = new URL(opts.path, base);
  const headers = { ...opts.headers };
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: opts.method ?? 'GET',
        path: url.pathname + url.search,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = /json/.test(res.headers['content-type'] ?? '');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            body: json ? JSON.parse(text) : text,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The three encodings an HTML `<form method="post">` can send, each with `fields` as its body. */
export function formBodies(fields: Record<string, string>): { type: string; body: string }[] {
  const boundary = '----fireline-test-boundary';
  const multipart = Object.entries(fields)
    .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join('');
  return [
    { type: 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() },
    // The classic trick: a text/plain form whose one field makes the body look like JSON.
    { type: 'text/plain', body: JSON.stringify(fields) },
    { type: `multipart/form-data; boundary=${boundary}`, body: `${multipart}--${boundary}--\r\n` },
  ];
}
