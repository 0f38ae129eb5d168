import { createHash } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { consoleRoutes } from '../../src/producer/routes/console.ts';
import { healthRoutes } from '../../src/producer/routes/health.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const auth = { operatorToken: 'op-secret', viewerToken: 'view-secret', ingestToken: 'ingest-secret' };

describe('console routes: page, modules, security headers, whoami', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    api = undefined;
    pipeline = undefined;
  });

  async function setup() {
    pipeline = await testPipeline(redisUrl, [apiRunbook({ marker: actionMarker().path })]);
    api = await startApi(pipeline, [healthRoutes, consoleRoutes], { auth });
    return api.url;
  }

  const html = (url: string, path: string) => fetch(`${url}${path}`, { headers: { accept: 'text/html' } });

  it('serves one index.html for every page route, with a CSP that admits exactly its import map', async () => {
    const url = await setup();
    const res = await html(url, '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    const importMap = /<script type="importmap">([^<]*)<\/script>/.exec(page)?.[1];
    expect(importMap, 'an inline import map').toBeDefined();
    const hash = createHash('sha256')
      .update(importMap ?? '')
      .digest('base64');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    for (const directive of [
      "default-src 'none'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ])
      expect(csp, `CSP has ${directive}`).toContain(directive);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page, 'no inline script other than the import map').not.toMatch(
      /<script(?![^>]*(type="importmap"|src=))/,
    );

    for (const path of [
      '/incidents/inc-abc',
      '/runbooks',
      '/runbooks/payment-service-slow',
      '/no/such/page',
    ]) {
      const other = await html(url, path);
      expect(other.status, path).toBe(200);
      expect(await other.text(), path).toBe(page);
    }

    // Every module of the import map is served, cached for a year (its URL carries the version).
    const { imports } = JSON.parse(importMap ?? '{}') as { imports: Record<string, string> };
    expect(Object.keys(imports).sort()).toEqual(['htm', 'preact', 'preact/hooks', 'uplot']);
    for (const [name, src] of Object.entries(imports)) {
      expect(src, name).toMatch(/^\/vendor\/[a-z]+\.module\.js\?v=\d+\.\d+\.\d+$/);
      const mod = await fetch(`${url}${src}`);
      expect(mod.status, src).toBe(200);
      expect(mod.headers.get('content-type'), src).toMatch(/^text\/javascript/);
      expect(mod.headers.get('cache-control'), src).toBe('public, max-age=31536000, immutable');
      expect(await mod.text(), src).toMatch(/\bexport\b/);
    }
    // The chart library's style sheet, linked from the head, versioned and cached the same way.
    const sheet = /<link rel="stylesheet" href="(\/vendor\/uplot\.css\?v=\d+\.\d+\.\d+)">/.exec(page)?.[1];
    expect(sheet, 'the uPlot style sheet link').toBeDefined();
    const css = await fetch(`${url}${sheet}`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('serves the console modules revalidated by ETag, and leaves API, ops and unknown files to their owners', async () => {
    const url = await setup();
    const app = await fetch(`${url}/console/app.js`);
    expect(app.status).toBe(200);
    expect(app.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(app.headers.get('cache-control')).toBe('no-cache');
    const etag = app.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    // fetch() adds `Cache-Control: no-cache` to conditional requests unless one is given.
    const again = await fetch(`${url}/console/app.js`, {
      headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' },
    });
    expect(again.status).toBe(304);
    const css = await fetch(`${url}/console/base.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);

    for (const path of [
      '/console/missing.js',
      '/api/v1/nope',
      '/admin/nope',
      '/metrics',
      '/vendor/react.js',
      '/x.png',
    ]) {
      const res = await html(url, path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/application\/problem\+json/);
    }
    const health = await html(url, '/healthz');
    expect(await health.json()).toEqual({ status: 'ok' });
    const json = await fetch(`${url}/incidents/inc-abc`, { headers: { accept: 'application/json' } });
    expect(json.status, 'a non-HTML client gets no page').toBe(404);
  });

  it('whoami names the scopes of the token, so the page can disable what a viewer may not do', async () => {
    const url = await setup();
    const viewer = await call(url, 'GET', '/api/v1/whoami', { token: auth.viewerToken });
    expect(viewer.status, viewer.text).toBe(200);
    expect(viewer.body).toEqual({ scopes: ['viewer'], authEnabled: true });
    const operator = await call(url, 'GET', '/api/v1/whoami', { token: auth.operatorToken });
    expect(operator.body).toEqual({ scopes: ['operator', 'viewer'], authEnabled: true });
    expect((await call(url, 'GET', '/api/v1/whoami')).status).toBe(401);
    expect((await call(url, 'GET', '/api/v1/whoami', { token: 'nope' })).status).toBe(401);
    expect((await call(url, 'GET', '/api/v1/whoami', { token: auth.ingestToken })).status).toBe(403);

    await api?.close();
    api = await startApi(pipeline!, [consoleRoutes], { auth: {} });
    const open = await call(api.url, 'GET', '/api/v1/whoami');
    expect(open.body).toEqual({ scopes: ['ingest', 'operator', 'viewer'], authEnabled: false });
  });
});
