import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import type { AuthConfig } from '../../src/producer/auth.ts';
import type { RouteModule } from '../../src/producer/deps.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { remediationRoutes } from '../../src/producer/routes/remediations.ts';
import { runbookRoutes } from '../../src/producer/routes/runbooks.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';
import { formBodies, rawRequest } from '../helpers/raw-http.ts';

const redisUrl = inject('redisUrl');
const RUNBOOK = 'payment-service-slow';

describe('forged requests: form posts and foreign hosts cannot drive Fireline', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    api = pipeline = undefined;
  });

  async function setup(modules: RouteModule[], auth: AuthConfig = {}, workers = false) {
    pipeline = await testPipeline(redisUrl, [apiRunbook({ marker: actionMarker().path })]);
    if (workers) await pipeline.startWorkers(FAST_WORKERS);
    api = await startApi(pipeline, modules, { auth });
    const port = new URL(api.url).port;
    return { pipeline, url: api.url, port, host: `127.0.0.1:${port}` };
  }

  it('auth off: form posts (urlencoded, text/plain, multipart) cannot pause, approve, resolve, ack, trigger or reload; JSON can', async () => {
    const { pipeline, url, host } = await setup([incidentRoutes, remediationRoutes, runbookRoutes], {}, true);
    const opened = await call(url, 'POST', '/api/v1/incidents', { body: { runbookId: RUNBOOK } });
    expect(opened.status, opened.text).toBe(201);
    const id = opened.body.incidentId as string;
    await eventsUntil(pipeline, id, (e) => e.type === 'remediation.awaiting_approval');

    const targets: [string, Record<string, string>][] = [
      ['/api/v1/remediations/pause', {}],
      [`/api/v1/incidents/${id}/approvals/rollback_deployment`, { decision: 'approve' }],
      [`/api/v1/incidents/${id}/resolve`, { comment: 'forged' }],
      [`/api/v1/incidents/${id}/ack`, {}],
      [`/api/v1/incidents/${id}/steps/check_dashboards/complete`, {}],
      ['/api/v1/incidents', { runbookId: RUNBOOK }],
      ['/api/v1/runbooks/reload', {}],
    ];
    for (const [path, fields] of targets) {
      for (const form of formBodies(fields)) {
        const res = await rawRequest(url, {
          method: 'POST',
          path,
          headers: { host, 'content-type': form.type },
          body: form.body,
        });
        expect(res.status, `${form.type} → ${path}: ${res.text}`).toBe(415);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.detail).toContain('Content-Type: application/json');
        expect(res.body.detail).toContain('X-Fireline-Request: 1');
      }
      // No body and no Content-Type at all (what fetch() with mode "no-cors" can send).
      const bare = await rawRequest(url, { method: 'POST', path, headers: { host } });
      expect(bare.status, `no content type → ${path}`).toBe(415);
    }

    expect(await pipeline.deps.queues.byName.remediations.isPaused(), 'queue not paused').toBe(false);
    const untouched = await pipeline.deps.store.get(id);
    expect(untouched).toMatchObject({ status: 'awaiting_approval', acknowledged: false });
    const steps = Object.fromEntries(untouched!.plan.map((s) => [s.stepId, s.state]));
    expect(steps.rollback_deployment).toBe('awaiting_approval');
    expect(steps.check_dashboards).not.toBe('done');
    expect((await pipeline.deps.store.list({}, { limit: 10 })).items).toHaveLength(1);

    // The same requests as the console and the CLI send them work.
    const json = (path: string, body?: unknown, extra: Record<string, string> = {}) =>
      rawRequest(url, {
        method: 'POST',
        path,
        headers: { host, ...extra, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await json('/api/v1/remediations/pause', {})).status).toBe(200);
    expect(await pipeline.deps.queues.byName.remediations.isPaused()).toBe(true);
    const approved = await json(`/api/v1/incidents/${id}/approvals/rollback_deployment`, {
      decision: 'approve',
    });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body.step).toMatchObject({ state: 'approved', by: 'anonymous' });
    // No body: the custom header is enough (a page of another origin cannot set it without CORS).
    const acked = await json(`/api/v1/incidents/${id}/ack`, undefined, { 'x-fireline-request': '1' });
    expect(acked.status, acked.text).toBe(200);
    const resolved = await json(`/api/v1/incidents/${id}/resolve`, { comment: 'done' });
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.body.incident).toMatchObject({ status: 'resolved' });
  });

  it('auth on: a form post is refused even with a valid operator token', async () => {
    const auth = { operatorToken: 'forgery-operator-token' };
    const { pipeline, url } = await setup([remediationRoutes], auth);
    for (const form of formBodies({ paused: 'true' })) {
      const res = await rawRequest(url, {
        method: 'POST',
        path: '/api/v1/remediations/pause',
        headers: { authorization: `Bearer ${auth.operatorToken}`, 'content-type': form.type },
        body: form.body,
      });
      expect(res.status, form.type).toBe(415);
    }
    expect(await pipeline.deps.queues.byName.remediations.isPaused()).toBe(false);
    const ok = await call(url, 'POST', '/api/v1/remediations/pause', { token: auth.operatorToken, body: {} });
    expect(ok.status, ok.text).toBe(200);
    expect(await pipeline.deps.queues.byName.remediations.isPaused()).toBe(true);
  });

  it('auth off: a Host or Origin other than this loopback server is refused with 403 (DNS rebinding, cross-site pages)', async () => {
    const { pipeline, url, port } = await setup([incidentRoutes, remediationRoutes]);
    const other = String(Number(port) === 65535 ? 1 : Number(port) + 1);
    const get = (headers: Record<string, string>) =>
      rawRequest(url, { path: '/api/v1/remediations', headers });

    for (const host of [`evil.example:${port}`, `127.0.0.1:${other}`, 'evil.example', `127.0.0.2:${port}`]) {
      const res = await get({ host });
      expect(res.status, host).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.detail, host).toMatch(/Host/);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`])
      expect((await get({ host })).status, host).toBe(200);

    const pause = (origin: string) =>
      rawRequest(url, {
        method: 'POST',
        path: '/api/v1/remediations/pause',
        headers: { host: `127.0.0.1:${port}`, origin, 'content-type': 'application/json' },
        body: '{}',
      });
    for (const origin of [
      'http://evil.example',
      `http://evil.example:${port}`,
      `http://localhost:${other}`,
      'null',
    ]) {
      const res = await pause(origin);
      expect(res.status, origin).toBe(403);
      expect(res.body.detail, origin).toMatch(/Origin/);
    }
    const read = await get({ host: `127.0.0.1:${port}`, origin: 'http://evil.example' });
    expect(read.status, 'a cross-site read is refused too').toBe(403);
    expect(await pipeline.deps.queues.byName.remediations.isPaused(), 'nothing paused').toBe(false);

    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`])
      expect((await pause(origin)).status, origin).toBe(200);
    expect(await pipeline.deps.queues.byName.remediations.isPaused()).toBe(true);
  });

  it('auth on: any Host is served (tokens protect it; a proxy may name it anything)', async () => {
    const auth = { viewerToken: 'forgery-viewer-token' };
    const { url } = await setup([remediationRoutes], auth);
    const res = await rawRequest(url, {
      path: '/api/v1/remediations',
      headers: { host: 'fireline.example.com', authorization: `Bearer ${auth.viewerToken}` },
    });
    expect(res.status, res.text).toBe(200);
  });
});
