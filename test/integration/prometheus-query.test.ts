import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Exporter,
  type PrivatePrometheus,
  startExporter,
  startPrometheus,
} from '../../scripts/harness/prometheus.ts';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import { prometheusQueryExecutorFor } from '../../src/adapters/diagnostics/prometheus-query.ts';
import { createAdapters } from '../../src/adapters/index.ts';
import { DiagnosticStepSchema } from '../../src/engine/runbook-schema.ts';
import { renderDiagnosticConfig, templateContext } from '../../src/engine/template.ts';
import { adapterFailure } from '../helpers/adapter-error.ts';
import { firingAlert, httpServer } from '../helpers/pipeline.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real Prometheus scraping an exporter that already serves `fireline_test_value` for a and b. */
async function setup(): Promise<{ exporter: Exporter; prometheus: PrivatePrometheus }> {
  const exporter = await startExporter();
  cleanups.push(exporter.close);
  exporter.set('fireline_test_value', { service: 'a' }, 3);
  exporter.set('fireline_test_value', { service: 'b' }, 7);
  const prometheus = await startPrometheus([exporter.target]);
  cleanups.push(prometheus.stop);
  await prometheus.waitFor(
    'count(fireline_test_value)',
    (r) => (r as { value: [number, string] }[])[0]?.value[1] === '2',
  );
  return { exporter, prometheus };
}

const signal = () => AbortSignal.timeout(10_000);
const run = (url: string, query: string, s = signal()) =>
  prometheusQueryExecutorFor({ url, headers: {} }).run({ query }, { signal: s });

describe('prometheus_query against a real Prometheus', () => {
  it('reads a vector: every series with its labels, the first value, count and empty', async () => {
    const { prometheus } = await setup();
    // Through the registry that createAdapters builds from connections.prometheus.
    const adapters = createAdapters(ConnectionsSchema.parse({ prometheus: { url: prometheus.url } }));
    const facts = await adapters.diagnostics.run(
      'prometheus_query',
      { query: 'sort_desc(fireline_test_value)' },
      { signal: signal() },
    );
    expect(facts).toMatchObject({ value: 7, count: 2, empty: false, result_type: 'vector', warnings: [] });
    expect(facts.values).toEqual([
      {
        labels: {
          __name__: 'fireline_test_value',
          instance: expect.any(String),
          job: 'exporter',
          service: 'b',
        },
        value: 7,
      },
      {
        labels: {
          __name__: 'fireline_test_value',
          instance: expect.any(String),
          job: 'exporter',
          service: 'a',
        },
        value: 3,
      },
    ]);
  });

  it('reads scalars: scalar(...) and a number literal, and NaN, +Inf, -Inf as numbers', async () => {
    const { prometheus } = await setup();
    expect(await run(prometheus.url, 'scalar(sum(fireline_test_value))')).toMatchObject({
      value: 10,
      values: [{ labels: {}, value: 10 }],
      count: 1,
      empty: false,
      result_type: 'scalar',
    });
    expect((await run(prometheus.url, '42')).value).toBe(42);
    expect((await run(prometheus.url, '1/0')).value).toBe(Number.POSITIVE_INFINITY);
    expect((await run(prometheus.url, '-1/0')).value).toBe(Number.NEGATIVE_INFINITY);
    expect((await run(prometheus.url, '0/0')).value).toBeNaN();
  });

  it('reads a range selector as each series’ newest sample, and refuses a string result', async () => {
    const { exporter, prometheus } = await setup();
    exporter.set('fireline_test_value', { service: 'a' }, 5);
    await prometheus.waitFor('fireline_test_value{service="a"} == 5', (r) => (r as unknown[]).length === 1);
    const facts = await run(prometheus.url, 'fireline_test_value{service="a"}[1m]');
    expect(facts).toMatchObject({ value: 5, count: 1, result_type: 'matrix' });
    const err = await adapterFailure(run(prometheus.url, '"text"'));
    expect(err.message).toMatch(/returned a string/);
  });

  it('reports an empty result as value null, count 0, empty true', async () => {
    const { prometheus } = await setup();
    expect(await run(prometheus.url, 'fireline_test_value{service="none"}')).toEqual({
      value: null,
      values: [],
      count: 0,
      empty: true,
      warnings: [],
      result_type: 'vector',
    });
  });

  it('turns the error envelope into an AdapterError naming errorType and error', async () => {
    const { prometheus } = await setup();
    const bad = await adapterFailure(run(prometheus.url, 'sum(fireline_test_value'));
    expect(bad.message).toMatch(/^prometheus: bad_data: .*parse error/);
    expect(bad.retryable).toBe(false);
    // Two series on each side of a one-to-one match: an execution error (HTTP 422).
    const exec = await adapterFailure(run(prometheus.url, 'fireline_test_value + on() fireline_test_value'));
    expect(exec.message).toMatch(
      /^prometheus: execution: .*many-to-many|^prometheus: execution: .*duplicate/,
    );
  });

  it('fails promptly when Prometheus is gone, and stops a hanging request at the abort signal', async () => {
    const { prometheus } = await setup();
    await prometheus.stop();
    let started = performance.now();
    const refused = await adapterFailure(run(prometheus.url, 'up', AbortSignal.timeout(5000)));
    expect(refused.message).toMatch(/could not reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(refused.retryable).toBe(true);
    expect(performance.now() - started, 'ms until a refused connection fails').toBeLessThan(2000);

    // A server that accepts and never answers: only the signal can end the request.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          silent.close(() => r());
        }),
    );
    const { port } = silent.address() as AddressInfo;
    started = performance.now();
    const timedOut = await adapterFailure(run(`http://127.0.0.1:${port}`, 'up', AbortSignal.timeout(300)));
    const elapsed = performance.now() - started;
    expect(timedOut.message).toMatch(/^prometheus: timed out after 0\.\ds$/);
    expect(elapsed, 'ms until the 300 ms signal ended the request').toBeLessThan(1500);
  });

  it('says so when no Prometheus is configured', async () => {
    const adapters = createAdapters(ConnectionsSchema.parse({}));
    const err = await adapterFailure(
      adapters.diagnostics.run('prometheus_query', { query: 'up' }, { signal: signal() }),
    );
    expect(err.message).toBe('prometheus: prometheus is not configured (set PROMETHEUS_URL)');
  });
});

describe('prometheus_query with hostile label values, rendered by the engine', () => {
  const marker = `/tmp/x-${randomUUID()}`;
  const hostile = [
    `$(touch ${marker})`,
    '"; rm -rf /nonexistent',
    '"} or vector(1)',
    '"} or vector(1) or fireline_test_value{service="',
    "'; DROP TABLE incidents; --",
    'line one\nline two\\n "quoted"',
  ];

  it('each value stays inside one string literal: it matches itself exactly and injects nothing', async () => {
    const { exporter, prometheus } = await setup();
    hostile.forEach((value, i) => {
      exporter.set('fireline_hostile', { service: value }, i + 1);
    });
    await prometheus.waitFor(
      'count(fireline_hostile)',
      (r) => (r as { value: [number, string] }[])[0]?.value[1] === String(hostile.length),
    );
    // Proof that the test can fail: the naive substitution of the 4th value does run vector(1).
    const naive = await prometheus.query(`fireline_test_value{service="${hostile[3]}"}`);
    expect((naive.result as { value: [number, string] }[]).map((s) => s.value[1])).toEqual(['1']);

    const step = (query: string) =>
      DiagnosticStepSchema.parse({
        id: 'q',
        name: 'q',
        type: 'prometheus_query',
        config: { query },
        interpret: { critical: 'true' },
      });
    const matchesItself = step('fireline_hostile{service="{{ alert.labels.service }}"}');
    const matchesNothing = step('fireline_test_value{service="{{ alert.labels.service }}"}');
    for (const [i, value] of hostile.entries()) {
      const ctx = templateContext(firingAlert({ alertname: 'X', service: value }), {
        id: 'inc-1',
        severity: 'P1',
        service: 'svc',
        runbookId: 'rb',
      });
      const self = renderDiagnosticConfig(matchesItself, ctx);
      const none = renderDiagnosticConfig(matchesNothing, ctx);
      if (!self.ok || !none.ok) throw new Error(`render failed for ${JSON.stringify(value)}`);
      const selfQuery = (self.config as { query: string }).query;
      const noneQuery = (none.config as { query: string }).query;
      // Go string escapes of ", \ and newline are JSON's: an oracle independent of the renderer.
      expect(selfQuery).toBe(`fireline_hostile{service=${JSON.stringify(value)}}`);

      const facts = await run(prometheus.url, selfQuery);
      expect(facts.count, `series matched by ${JSON.stringify(value)}`).toBe(1);
      expect(facts.value).toBe(i + 1);
      expect((facts.values as { labels: Record<string, string> }[])[0]?.labels.service).toBe(value);
      expect(await run(prometheus.url, noneQuery), `result for ${JSON.stringify(value)}`).toMatchObject({
        value: null,
        empty: true,
      });
      // What the real Prometheus received, from its own query log.
      await expect.poll(() => prometheus.loggedQueries()).toContain(noneQuery);
    }
    expect(existsSync(marker), `${marker} created`).toBe(false);
  });
});

describe('prometheus_query request and answer details (a local server in Prometheus’ place)', () => {
  it('sends auth, headers and the timeout; keeps warnings; a proxy error page is an AdapterError', async () => {
    const seen: { url: string; auth: string | undefined; team: string | undefined }[] = [];
    let answer = {
      status: 200,
      body: '{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["w1"]}',
    };
    const server = await httpServer((req, res) => {
      seen.push({
        url: req.url ?? '',
        auth: req.headers.authorization,
        team: req.headers['x-team'] as string,
      });
      res.statusCode = answer.status;
      res.end(answer.body);
    });
    cleanups.push(server.close);
    const executor = prometheusQueryExecutorFor({
      url: `${server.url}/prom/`,
      basicAuth: { username: 'u', password: 'p w' },
      headers: { 'x-team': 'sre' },
    });
    const facts = await executor.run({ query: 'up{job="a b"}' }, { signal: signal() });
    expect(facts).toMatchObject({ empty: true, warnings: ['w1'] });
    expect(seen).toEqual([
      {
        url: '/prom/api/v1/query?query=up%7Bjob%3D%22a+b%22%7D&timeout=30000ms',
        auth: `Basic ${Buffer.from('u:p w').toString('base64')}`,
        team: 'sre',
      },
    ]);
    answer = { status: 502, body: '<html>Bad Gateway</html>' };
    const err = await adapterFailure(executor.run({ query: 'up' }, { signal: signal() }));
    expect(err.message).toBe("prometheus: HTTP 502, not the query API's JSON: <html>Bad Gateway</html>");
    expect(err.message).not.toContain('p w');
    expect(err.retryable).toBe(true);
  });
});
