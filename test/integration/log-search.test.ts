import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import {
  createLogSearchExecutor,
  type LogLine,
  type LogSearchOptions,
} from '../../src/adapters/diagnostics/log-search.ts';
import { createAdapters } from '../../src/adapters/index.ts';
import { DiagnosticStepSchema } from '../../src/engine/runbook-schema.ts';
import { renderDiagnosticConfig, templateContext } from '../../src/engine/template.ts';
import { adapterFailure } from '../helpers/adapter-error.ts';
import { firingAlert, httpServer } from '../helpers/pipeline.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fireline-logs-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const NOW = Date.now();
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

function search(config: Record<string, unknown>, options: LogSearchOptions = {}) {
  const executor = createLogSearchExecutor({ now: () => NOW, ...options });
  return executor.run(executor.configSchema.parse(config), { signal: AbortSignal.timeout(10_000) });
}

const texts = (facts: Record<string, unknown>) => (facts.lines as LogLine[]).map((l) => l.line);

describe('log_search on files', () => {
  it('counts matching lines inside the window, newest first; unstamped lines follow the file mtime', async () => {
    const path = join(tempDir(), 'app.log');
    writeFileSync(
      path,
      [
        `${minutesAgo(60)} ERROR too old`,
        `${minutesAgo(10)} ERROR recent one`,
        `${minutesAgo(5)} INFO fine`,
        `${minutesAgo(1)} ERROR recent two`,
        '    at ERROR continuation without a timestamp',
        '',
      ].join('\n'),
    );
    const fresh = await search({ source: 'file', paths: [path], pattern: 'ERROR', sinceMinutes: 15 });
    expect(texts(fresh)).toEqual([
      '    at ERROR continuation without a timestamp',
      `${minutesAgo(1)} ERROR recent two`,
      `${minutesAgo(10)} ERROR recent one`,
    ]);
    expect(fresh).toMatchObject({ count: 3, truncated: false });
    expect((fresh.lines as LogLine[])[1]).toEqual({
      ts: minutesAgo(1),
      line: `${minutesAgo(1)} ERROR recent two`,
      labels: { path },
    });
    expect((fresh.lines as LogLine[])[0]?.ts).toBeNull();

    // Written an hour ago: the unstamped line is outside the window; the stamped ones still count.
    const anHourAgo = new Date(NOW - 3600_000);
    utimesSync(path, anHourAgo, anHourAgo);
    const stale = await search({ source: 'file', paths: [path], pattern: 'ERROR', sinceMinutes: 15 });
    expect(texts(stale)).toEqual([`${minutesAgo(1)} ERROR recent two`, `${minutesAgo(10)} ERROR recent one`]);
  });

  it('reads common timestamp shapes and merges files by time', async () => {
    const dir = tempDir();
    const local = (m: number) => {
      const d = new Date(NOW - m * 60_000);
      const p = (n: number, w = 2) => String(n).padStart(w, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
    };
    const offset = (m: number) => {
      // The same instant written as +02:00 local time.
      const d = new Date(NOW - m * 60_000 + 2 * 3600_000).toISOString();
      return `${d.slice(0, 23)}+02:00`;
    };
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    writeFileSync(a, `${local(8)} WARN timeout calling db\n[${minutesAgo(4)}] WARN timeout calling db\n`);
    writeFileSync(
      b,
      `${offset(6)} level=warn msg="timeout calling db"\n${minutesAgo(2)} warn timeout calling db\n`,
    );
    const facts = await search({ source: 'file', paths: [a, b], pattern: 'timeout' });
    expect(facts.count).toBe(4);
    expect((facts.lines as LogLine[]).map((l) => [l.labels.path, l.ts])).toEqual([
      [b, minutesAgo(2)],
      [a, minutesAgo(4)],
      [b, minutesAgo(6)],
      [a, minutesAgo(8)],
    ]);
  });

  it('stops at the first line older than the window; reads at most maxBytesPerFile; caps lines at limit', async () => {
    const dir = tempDir();
    const old = join(dir, 'old.log');
    writeFileSync(old, `${minutesAgo(120)} ERROR old\n`.repeat(5000));
    appendFileSync(old, `${minutesAgo(1)} ERROR new\n`);
    expect(await search({ source: 'file', paths: [old], pattern: 'ERROR' })).toMatchObject({
      count: 1,
      truncated: false,
    });

    const big = join(dir, 'big.log');
    const line = `${minutesAgo(1)} ERROR ${'x'.repeat(100)}\n`;
    writeFileSync(big, line.repeat(3000));
    const capped = await search(
      { source: 'file', paths: [big], pattern: 'ERROR' },
      { maxBytesPerFile: 100_000 },
    );
    // The last 100 000 bytes hold this many whole lines; the cut one at the front is dropped.
    const whole = Math.floor(100_000 / Buffer.byteLength(line));
    expect(100_000 % Buffer.byteLength(line), 'a line is cut at the cap').not.toBe(0);
    expect(capped).toMatchObject({ count: whole, truncated: true });
    expect((capped.lines as LogLine[]).length).toBe(100);
  });

  it('refuses an invalid pattern and a missing file with an AdapterError', async () => {
    const path = join(tempDir(), 'a.log');
    writeFileSync(path, 'x\n');
    expect((await adapterFailure(search({ source: 'file', paths: [path], pattern: '(' }))).message).toMatch(
      /^log_search: invalid pattern: /,
    );
    expect(
      (await adapterFailure(search({ source: 'file', paths: [`${path}.missing`], pattern: 'x' }))).message,
    ).toBe(`log_search: ${path}.missing: cannot open (ENOENT)`);
  });
});

/** A local HTTP server answering in Loki's documented query_range format. */
async function fakeLoki(answer: { status: number; type: string; body: string }) {
  const received: { url: URL; orgId: string | undefined; auth: string | undefined }[] = [];
  const server = await httpServer((req, res) => {
    received.push({
      url: new URL(req.url ?? '', 'http://loki'),
      orgId: req.headers['x-scope-orgid'] as string | undefined,
      auth: req.headers.authorization,
    });
    res.statusCode = answer.status;
    res.setHeader('content-type', answer.type);
    res.end(answer.body);
  });
  cleanups.push(server.close);
  return { url: server.url, received };
}

const ns = (m: number) => `${BigInt(NOW - m * 60_000) * 1_000_000n + 123n}`;

describe('log_search on Loki', () => {
  it('queries query_range backward over the window and merges streams newest first', async () => {
    const body = JSON.stringify({
      status: 'success',
      data: {
        resultType: 'streams',
        result: [
          {
            stream: { app: 'api', pod: 'p1' },
            values: [
              [ns(1), 'error one'],
              [ns(9), 'error three'],
            ],
          },
          { stream: { app: 'api', pod: 'p2' }, values: [[ns(3), 'error two', { trace_id: 't' }]] },
        ],
        stats: {},
      },
    });
    const loki = await fakeLoki({ status: 200, type: 'application/json', body });
    const facts = await search(
      { source: 'loki', query: '{app="api"} |= "error"', sinceMinutes: 30, limit: 50 },
      { loki: { url: loki.url, orgId: 'tenant-a', bearerToken: 'tok', headers: {} } },
    );
    expect(facts).toMatchObject({ count: 3 });
    expect(facts.lines).toEqual([
      { ts: minutesAgo(1), line: 'error one', labels: { app: 'api', pod: 'p1' } },
      { ts: minutesAgo(3), line: 'error two', labels: { app: 'api', pod: 'p2' } },
      { ts: minutesAgo(9), line: 'error three', labels: { app: 'api', pod: 'p1' } },
    ]);
    const [req] = loki.received;
    const endNs = BigInt(NOW) * 1_000_000n;
    expect(req?.url.pathname).toBe('/loki/api/v1/query_range');
    expect(Object.fromEntries(req?.url.searchParams ?? [])).toEqual({
      query: '{app="api"} |= "error"',
      start: String(endNs - 30n * 60_000n * 1_000_000n),
      end: String(endNs),
      limit: '50',
      direction: 'backward',
    });
    expect([req?.orgId, req?.auth]).toEqual(['tenant-a', 'Bearer tok']);
  });

  it('puts a hostile label value inside the LogQL string literal it was templated into', async () => {
    const empty = JSON.stringify({ status: 'success', data: { resultType: 'streams', result: [] } });
    const loki = await fakeLoki({ status: 200, type: 'application/json', body: empty });
    const step = DiagnosticStepSchema.parse({
      id: 'logs',
      name: 'logs',
      type: 'log_search',
      config: { source: 'loki', query: '{app="{{ alert.labels.app }}"} |= "error"' },
      interpret: { critical: 'count > 0' },
    });
    const hostile = '"} |= "" or vector(1) # \n\'; DROP TABLE incidents; --';
    const rendered = renderDiagnosticConfig(
      step,
      templateContext(firingAlert({ alertname: 'X', app: hostile }), {
        id: 'inc-1',
        severity: 'P2',
        service: 's',
        runbookId: 'rb',
      }),
    );
    if (!rendered.ok) throw new Error(`render failed: ${rendered.reason}`);
    const adapters = createAdapters(ConnectionsSchema.parse({ loki: { url: loki.url } }));
    expect(
      await adapters.diagnostics.run('log_search', rendered.config, { signal: AbortSignal.timeout(5000) }),
    ).toMatchObject({
      count: 0,
      lines: [],
    });
    expect(loki.received.map((r) => r.url.searchParams.get('query'))).toEqual([
      `{app=${JSON.stringify(hostile)}} |= "error"`,
    ]);
    expect(loki.received[0]?.orgId).toBeUndefined();
  });

  it('draws a log search as matching lines per minute over the chart window, from Loki or from files', async () => {
    const matrix = JSON.stringify({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: {},
            values: [
              [1714560000, '3'],
              [1714560060, '41'],
            ],
          },
        ],
      },
    });
    const loki = await fakeLoki({ status: 200, type: 'application/json', body: matrix });
    const adapters = createAdapters(ConnectionsSchema.parse({ loki: { url: loki.url } }));
    const window = { from: 1714560000_000, to: 1714560060_000, step: 30_000 };
    const ctx = { signal: AbortSignal.timeout(5000) };
    const series = await adapters.diagnostics.series(
      'log_search',
      { source: 'loki', query: '{app="api"} |= "error"' },
      window,
      ctx,
    );
    expect(series).toEqual([
      {
        labels: {},
        values: [
          [1714560000, 3],
          [1714560060, 41],
        ],
      },
    ]);
    // A point a minute (the window's 30 s step is shorter), summed over the streams.
    const params = loki.received[0]!.url.searchParams;
    expect(params.get('query')).toBe('sum(count_over_time({app="api"} |= "error" [60s]))');
    expect([params.get('start'), params.get('end'), params.get('step')]).toEqual([
      '1714560000',
      '1714560060',
      '60',
    ]);
    // Files: the matching lines that start with a timestamp, by the minute that ends at each point.
    const dir = mkdtempSync(join(tmpdir(), 'fireline-chart-logs-'));
    const log = join(dir, 'app.log');
    const at = (ms: number) => new Date(ms).toISOString();
    writeFileSync(
      log,
      [
        `${at(window.from - 120_000)} error long before`,
        `${at(window.from - 30_000)} error in the first minute`,
        `${at(window.from + 10_000)} error`,
        `${at(window.from + 20_000)} fine`,
        `${at(window.from + 50_000)} error`,
        'error without a time',
        '',
      ].join('\n'),
    );
    const files = await adapters.diagnostics.series(
      'log_search',
      { source: 'file', paths: [log], pattern: 'error' },
      window,
      ctx,
    );
    expect(files).toEqual([
      {
        labels: {},
        values: [
          [1714560000, 1],
          [1714560060, 2],
        ],
      },
    ]);
    rmSync(dir, { recursive: true });
  });

  it('turns a Loki error (text/plain) into an AdapterError with its text, and needs a connection', async () => {
    const text = 'parse error at line 1, col 5: syntax error: unexpected IDENTIFIER';
    const loki = await fakeLoki({ status: 400, type: 'text/plain; charset=utf-8', body: `${text}\n` });
    const err = await adapterFailure(
      search({ source: 'loki', query: '{app=api}' }, { loki: { url: loki.url, headers: {} } }),
    );
    expect(err.message).toBe(`loki: HTTP 400: ${text}`);
    expect(err.retryable).toBe(false);
    const none = await adapterFailure(search({ source: 'loki', query: '{app="api"}' }));
    expect(none.message).toBe('loki: loki is not configured (set LOKI_URL)');
  });
});
