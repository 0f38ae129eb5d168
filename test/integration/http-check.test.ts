import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/harness/redis-server.ts';
import {
  createHttpCheckExecutor,
  type HttpCheckConfig,
  type HttpCheckResult,
  httpCheckExecutor,
} from '../../src/adapters/diagnostics/http-check.ts';
import { AdapterError } from '../../src/errors.ts';

const servers: (http.Server | https.Server)[] = [];

async function listen(server: http.Server | https.Server, scheme: 'http' | 'https'): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const serve = (handler: http.RequestListener) => listen(http.createServer(handler), 'http');

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function config(urls: { name: string; url: string; [k: string]: unknown }[], slowMs = 1000): HttpCheckConfig {
  return httpCheckExecutor.configSchema.parse({ urls, slowMs });
}

const run = (cfg: HttpCheckConfig, signal = new AbortController().signal) =>
  httpCheckExecutor.run(cfg, { signal });

function checksOf(facts: Record<string, unknown>): HttpCheckResult[] {
  return facts.checks as HttpCheckResult[];
}

describe('http_check against local servers', () => {
  it('reports a healthy 200 and an unhealthy 500 as facts, side by side', async () => {
    const fast = await serve((_req, res) => res.end('ok'));
    const broken = await serve((_req, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const facts = await run(
      config([
        { name: 'fast', url: fast },
        { name: 'broken', url: broken },
      ]),
    );
    expect(checksOf(facts).map((c) => [c.name, c.status, c.ok, c.error, c.cert_days])).toEqual([
      ['fast', 200, true, null, null],
      ['broken', 500, false, null, null],
    ]);
    expect(facts).toMatchObject({ all_healthy: false, any_unreachable: false, min_cert_days: null });
  });

  it('counts a response slower than slowMs', async () => {
    const slow = await serve((_req, res) => {
      // The server's own behaviour under test: it answers after 150 ms.
      setTimeout(() => res.end('late'), 150);
    });
    const facts = await run(config([{ name: 'slow', url: slow }], 50));
    const [check] = checksOf(facts);
    expect(check?.latency_ms, 'latency of a server that answers after 150 ms').toBeGreaterThanOrEqual(145);
    expect(facts).toMatchObject({ all_healthy: true, slow_count: 1, max_latency_ms: check?.latency_ms });
  });

  it('reports a refused connection as unreachable, not as a thrown error', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/`;
    const facts = await run(config([{ name: 'closed', url: closed }]));
    const [check] = checksOf(facts);
    expect(check).toMatchObject({ status: null, ok: false });
    expect(check?.error).toMatch(/ECONNREFUSED/);
    expect(facts).toMatchObject({ all_healthy: false, any_unreachable: true });
  });

  it('rejects promptly and closes the socket when the signal aborts on a server that never answers', async () => {
    let onRequest!: (req: http.IncomingMessage) => void;
    const gotRequest = new Promise<http.IncomingMessage>((resolve) => {
      onRequest = resolve;
    });
    const url = await serve((req) => onRequest(req));
    const controller = new AbortController();
    const settled = run(config([{ name: 'hang', url }]), controller.signal).then(
      (facts) => new Error(`expected a rejection, got facts ${JSON.stringify(facts)}`),
      (err: unknown) => err,
    );
    const req = await Promise.race([gotRequest, settled.then((r) => Promise.reject(r))]);
    const serverSawClose = new Promise((resolve) => req.socket.once('close', resolve));
    controller.abort(new DOMException('step timeout', 'TimeoutError'));
    const error = await settled;
    expect(error).toBeInstanceOf(AdapterError);
    expect((error as AdapterError).message).toMatch(/^http_check: timed out after \d+\.\ds$/);
    expect((error as AdapterError).retryable).toBe(false);
    await serverSawClose;
  });

  it('turns one hanging URL into a fact when the per-URL timeout is shorter than the step', async () => {
    const hang = await serve(() => {});
    const fine = await serve((_req, res) => res.end('ok'));
    const executor = createHttpCheckExecutor({ requestTimeoutMs: 100 });
    const facts = await executor.run(
      config([
        { name: 'hang', url: hang },
        { name: 'fine', url: fine },
      ]),
      { signal: new AbortController().signal },
    );
    expect(checksOf(facts).map((c) => [c.name, c.status, c.ok, c.error])).toEqual([
      ['hang', null, false, 'timed out after 0.1s'],
      ['fine', 200, true, null],
    ]);
    expect(facts).toMatchObject({ any_unreachable: true, all_healthy: false });
  });

  it('matches bodyMatch against the first 64 KiB of the body only', async () => {
    const url = await serve((req, res) => {
      res.end(req.url === '/big' ? `${'x'.repeat(70 * 1024)}MARKER` : 'status: green');
    });
    const facts = await run(
      config([
        { name: 'green', url, bodyMatch: 'status: (green|amber)' },
        { name: 'red', url, bodyMatch: 'status: red' },
        { name: 'past-cap', url: `${url}big`, bodyMatch: 'MARKER' },
      ]),
    );
    expect(checksOf(facts).map((c) => [c.name, c.status, c.ok])).toEqual([
      ['green', 200, true],
      ['red', 200, false],
      ['past-cap', 200, false],
    ]);
  });

  it('uses expectStatus instead of 200–399 when given', async () => {
    const url = await serve((req, res) => {
      res.statusCode = req.url === '/maintenance' ? 503 : 200;
      res.end();
    });
    const facts = await run(
      config([
        { name: 'expected-503', url: `${url}maintenance`, expectStatus: [503] },
        { name: 'wanted-204', url, expectStatus: [204] },
        { name: 'default-range', url, method: 'HEAD' },
      ]),
    );
    expect(checksOf(facts).map((c) => [c.name, c.status, c.ok])).toEqual([
      ['expected-503', 503, true],
      ['wanted-204', 200, false],
      ['default-range', 200, true],
    ]);
  });

  it('throws a non-retryable AdapterError for a URL it cannot request at all', async () => {
    await expect(run(config([{ name: 'bad', url: 'ftp://example.invalid/' }]))).rejects.toMatchObject({
      code: 'ADAPTER_FAILED',
      retryable: false,
      message:
        "http_check: bad: unsupported protocol 'ftp:' in 'ftp://example.invalid/' (expected http or https)",
    });
    await expect(run(config([{ name: 'bad', url: 'not a url' }]))).rejects.toThrow(/invalid URL 'not a url'/);
  });
});

describe('http_check over HTTPS with a self-signed certificate', () => {
  let dir: string;
  let cert: string;
  let key: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fireline-tls-'));
    // biome-ignore format: a flag and its value per pair read best
    const args = [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '30',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ];
    await promisify(execFile)('openssl', args);
    cert = await readFile(join(dir, 'cert.pem'), 'utf8');
    key = await readFile(join(dir, 'key.pem'), 'utf8');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('reports cert_days of a trusted certificate valid for 30 days', async () => {
    const url = await listen(
      https.createServer({ cert, key }, (_req, res) => res.end('ok')),
      'https',
    );
    const facts = await createHttpCheckExecutor({ ca: cert }).run(config([{ name: 'tls', url }]), {
      signal: new AbortController().signal,
    });
    const [check] = checksOf(facts);
    expect(check).toMatchObject({ status: 200, ok: true, error: null });
    expect([29, 30], `cert_days ${check?.cert_days} for a -days 30 certificate`).toContain(check?.cert_days);
    expect(facts.min_cert_days).toBe(check?.cert_days);
  });

  it('records an untrusted self-signed certificate as an error fact', async () => {
    const url = await listen(
      https.createServer({ cert, key }, (_req, res) => res.end('ok')),
      'https',
    );
    const facts = await run(config([{ name: 'tls', url }]));
    const [check] = checksOf(facts);
    expect(check).toMatchObject({ status: null, ok: false, cert_days: null });
    expect(check?.error).toMatch(/self[- ]signed certificate/);
    expect(facts).toMatchObject({ any_unreachable: true, min_cert_days: null });
  });
});
