import { createHash } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import type { AuthConfig } from '../../src/producer/auth.ts';
import type { RouteModule } from '../../src/producer/deps.ts';
import { bullBoardRoutes } from '../../src/producer/routes/bull-board.ts';
import { eventRoutes } from '../../src/producer/routes/events.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { openSse } from '../helpers/sse-client.ts';

const redisUrl = inject('redisUrl');
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef';
const AUTH: AuthConfig = {
  operatorToken: 'shared-operator-token',
  viewerToken: 'shared-viewer-token',
  namedTokens: [
    { name: 'alice', scope: 'operator', sha256: sha256(ALICE) },
    { name: 'bob@example.com', scope: 'viewer', sha256: sha256(BOB) },
  ],
};

describe('who a token is, and where each way of sending one is accepted', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    api = pipeline = undefined;
  });

  async function setup(modules: RouteModule[]) {
    pipeline = await testPipeline(redisUrl, [apiRunbook({ marker: actionMarker().path })]);
    api = await startApi(pipeline, modules, { auth: AUTH });
    return { pipeline, url: api.url };
  }

  it('a named token acts as its person: the timeline says alice, not token:operator', async () => {
    const { pipeline, url } = await setup([incidentRoutes]);
    const opened = await call(url, 'POST', '/api/v1/incidents', {
      token: ALICE,
      body: { runbookId: 'payment-service-slow', note: 'paging by hand' },
    });
    expect(opened.status, opened.text).toBe(201);
    const id = opened.body.incidentId as string;
    const ack = await call(url, 'POST', `/api/v1/incidents/${id}/ack`, { token: ALICE, body: {} });
    expect(ack.status, ack.text).toBe(200);

    const timeline = await pipeline.deps.store.timeline(id);
    const note = timeline.find((e) => e.type === 'note');
    expect(note).toMatchObject({ actor: 'alice', message: 'paging by hand' });
    expect(timeline.find((e) => e.type === 'incident.acknowledged')?.actor).toBe('alice');

    // A viewer's named token reads but cannot act; the shared tokens keep their actors.
    expect((await call(url, 'GET', `/api/v1/incidents/${id}`, { token: BOB })).status).toBe(200);
    const refused = await call(url, 'POST', `/api/v1/incidents/${id}/resolve`, { token: BOB, body: {} });
    expect(refused.status).toBe(403);
    const resolved = await call(url, 'POST', `/api/v1/incidents/${id}/resolve`, {
      token: AUTH.operatorToken,
      body: {},
    });
    expect(resolved.status, resolved.text).toBe(200);
    const last = (await pipeline.deps.store.timeline(id)).find((e) => e.type === 'incident.resolved');
    expect(last?.actor).toBe('token:operator');

    // The hash itself is not a token.
    const byHash = await call(url, 'GET', '/api/v1/incidents', { token: sha256(ALICE) });
    expect(byHash.status).toBe(401);
  });

  it('Basic auth is accepted under /admin/queues only; elsewhere it is 401', async () => {
    const { url } = await setup([incidentRoutes, bullBoardRoutes]);
    const api = await fetch(`${url}/api/v1/incidents`, {
      headers: { authorization: basic('admin', AUTH.operatorToken!) },
    });
    expect(api.status).toBe(401);
    const problem = (await api.json()) as { detail: string };
    expect(problem.detail).toMatch(/Basic.*\/admin\/queues/);
    // A browser must not be asked for a password by an API answer.
    expect(api.headers.get('www-authenticate') ?? '').not.toMatch(/Basic/);
    const named = await fetch(`${url}/api/v1/incidents`, { headers: { authorization: basic('', ALICE) } });
    expect(named.status).toBe(401);
    await named.body?.cancel();

    const board = await fetch(`${url}/admin/queues`, {
      headers: { authorization: basic('admin', AUTH.operatorToken!) },
    });
    expect(board.status).toBe(200);
    await board.body?.cancel();
    const bearer = await call(url, 'GET', '/api/v1/incidents', { token: AUTH.operatorToken! });
    expect(bearer.status).toBe(200);
  });

  it("Bull Board's own page may pause a queue; a form of another site may not", async () => {
    const { pipeline, url } = await setup([bullBoardRoutes]);
    const host = new URL(url).host;
    const put = (origin: string, contentType?: string) =>
      rawRequest(url, {
        method: 'PUT',
        path: '/admin/queues/api/queues/notifications/pause',
        headers: {
          host,
          origin,
          authorization: basic('admin', AUTH.operatorToken!),
          ...(contentType ? { 'content-type': contentType } : {}),
        },
        ...(contentType ? { body: 'a=b' } : {}),
      });
    const forged = await put('http://evil.example', 'application/x-www-form-urlencoded');
    expect(forged.status, forged.text).toBe(415);
    expect((await put('http://evil.example')).status).toBe(415);
    const queue = pipeline.deps.queues.byName.notifications;
    expect(await queue.isPaused()).toBe(false);
    // What the board's page sends: a same-origin PUT with no body.
    const own = await put(`http://${host}`);
    expect(own.status, own.text).toBe(200);
    expect(await queue.isPaused()).toBe(true);
  });

  it('?access_token= is accepted on the event streams only; elsewhere it is 401', async () => {
    const { url } = await setup([incidentRoutes, eventRoutes]);
    const list = await fetch(`${url}/api/v1/incidents?access_token=${AUTH.viewerToken}`);
    expect(list.status).toBe(401);
    expect(((await list.json()) as { detail: string }).detail).toMatch(/access_token.*event stream/);
    const listNamed = await fetch(`${url}/api/v1/incidents?access_token=${BOB}`);
    expect(listNamed.status).toBe(401);
    await listNamed.body?.cancel();

    const stream = await openSse(`${url}/api/v1/events?access_token=${BOB}`);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    } finally {
      stream.close();
    }
  });
});
