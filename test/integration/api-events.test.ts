import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import type { ApiDeps } from '../../src/producer/deps.ts';
import { eventRoutes } from '../../src/producer/routes/events.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { closeAllStreams, openStreamCount } from '../../src/producer/sse.ts';
import { storeKeys } from '../../src/store/keys.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';
import { openSse, type SseClient } from '../helpers/sse-client.ts';

const redisUrl = inject('redisUrl');

describe('SSE progress streams', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  const clients: SseClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await api?.close();
    await pipeline?.close(5000);
    api = undefined;
    pipeline = undefined;
  });

  async function setup(opts: { workers: boolean; extra?: Partial<ApiDeps> }) {
    pipeline = await testPipeline(redisUrl, [apiRunbook({ marker: actionMarker().path })]);
    if (opts.workers) await pipeline.startWorkers(FAST_WORKERS);
    api = await startApi(pipeline, [incidentRoutes, eventRoutes], opts.extra ?? {});
    const url = api.url;
    return {
      url,
      async trigger(pod: string): Promise<string> {
        const body = { runbookId: 'payment-service-slow', labels: { pod } };
        const res = await call(url, 'POST', '/api/v1/incidents', { body });
        expect(res.status, res.text).toBe(201);
        return res.body.incidentId;
      },
      async post(path: string, body: unknown = {}) {
        const res = await call(url, 'POST', path, { body });
        expect(res.status, `${path}: ${res.text}`).toBe(200);
      },
      async sse(path: string, headers: Record<string, string> = {}) {
        const client = await openSse(`${url}${path}`, headers);
        clients.push(client);
        return client;
      },
    };
  }

  const hasEvent = (client: SseClient, id: string) => () => client.events().some((e) => e.id === id);
  const disconnected = async (client: SseClient) => {
    client.close();
    // The server side noticed: its follower is stopped and the stream forgotten.
    await vi.waitFor(() => expect(openStreamCount(), 'open SSE streams on the server').toBe(0));
  };

  it('incident stream: replay, live, and a resume with Last-Event-ID gets every later event exactly once', async () => {
    const { trigger, post, sse } = await setup({ workers: true });
    const id = await trigger('a');
    const first = await sse(`/api/v1/incidents/${id}/events`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/event-stream');
    expect(first.headers.get('cache-control')).toBe('no-cache');
    expect(first.headers.get('x-accel-buffering')).toBe('no');
    await first.waitFor(
      () => first.events().some((e) => e.event === 'remediation.succeeded'),
      'the first fix',
    );
    expect(first.frames[0], 'retry comes first').toEqual({ retry: 2000 });
    await disconnected(first);

    // Events while nobody listens: an approval and its run, an acknowledgement.
    await post(`/api/v1/incidents/${id}/approvals/rollback_deployment`, { decision: 'approve' });
    await eventsUntil(
      pipeline!,
      id,
      (e) => e.type === 'remediation.succeeded' && e.data?.stepId === 'rollback_deployment',
    );
    await post(`/api/v1/incidents/${id}/ack`);
    const before = await pipeline!.deps.store.timeline(id);
    const seen = first.events();
    const resumed = await sse(`/api/v1/incidents/${id}/events`, { 'Last-Event-ID': seen.at(-1)!.id });
    await resumed.waitFor(hasEvent(resumed, before.at(-1)!.id), `event ${before.at(-1)!.id}`);

    const store = await pipeline!.deps.store.timeline(id);
    const received = [...seen, ...resumed.events()];
    expect(received.length).toBeGreaterThanOrEqual(before.length);
    expect(
      received.map((e) => e.id),
      'ids: the store timeline, in order, no gap, no duplicate',
    ).toEqual(store.slice(0, received.length).map((e) => e.id));
    for (const [i, e] of received.entries()) {
      expect(e.event).toBe(store[i]!.type);
      expect(e.data).toEqual(store[i]);
    }

    // The same resume through the query, for clients that cannot set the header.
    const viaQuery = await sse(`/api/v1/incidents/${id}/events?lastEventId=${store[2]!.id}`);
    await viaQuery.waitFor(() => viaQuery.events().length >= 2, 'two events');
    expect(viaQuery.events()[0]!.id).toBe(store[3]!.id);
  });

  it('global stream: from now by default, resume exactly once, ?from=start replays all', async () => {
    const { trigger, post, sse } = await setup({ workers: false });
    const eventsKey = storeKeys(pipeline!.deps.queues.prefix).events;
    const globalIds = async () =>
      (await pipeline!.deps.redis.xrange(eventsKey, '-', '+')).map(([gid]) => gid);
    const a = await trigger('a');
    const live = await sse('/api/v1/events');
    const b = await trigger('b');
    await post(`/api/v1/incidents/${a}/ack`);
    await live.waitFor(() => live.events().length >= 2, 'two live events');
    // Not a's `opened`: that came before the stream. (Later events may already be in too.)
    expect(
      live
        .events()
        .slice(0, 2)
        .map((e) => [e.data.incidentId, e.event]),
    ).toEqual([
      [b, 'incident.opened'],
      [a, 'incident.acknowledged'],
    ]);
    await disconnected(live);

    await post(`/api/v1/incidents/${a}/resolve`);
    await post(`/api/v1/incidents/${b}/resolve`);
    const c = await trigger('c');
    const all = await globalIds();
    const resumed = await sse('/api/v1/events', { 'Last-Event-ID': live.events().at(-1)!.id });
    await resumed.waitFor(hasEvent(resumed, all.at(-1)!), `global event ${all.at(-1)}`);
    const received = [...live.events(), ...resumed.events()];
    expect(
      received.map((e) => e.id),
      'every event after the one before the stream opened',
    ).toEqual(all.slice(1));
    const incidentEvents = resumed.events().filter((e) => e.event.startsWith('incident.'));
    expect(incidentEvents.map((e) => [e.data.incidentId, e.event])).toEqual([
      [a, 'incident.resolved'],
      [b, 'incident.resolved'],
      [c, 'incident.opened'],
    ]);

    const replay = await sse('/api/v1/events?from=start');
    await replay.waitFor(() => replay.events().length >= all.length, `${all.length} events`);
    expect(replay.events().map((e) => e.id)).toEqual(all);
  });

  it('heartbeat, token in the query, 400 for a bad Last-Event-ID, 404 for no incident, closeAllStreams', async () => {
    const { url, sse } = await setup({
      workers: false,
      extra: { sseHeartbeatMs: 50, auth: { operatorToken: 'op', viewerToken: 'view' } },
    });
    const stream = await sse('/api/v1/events?access_token=view');
    expect(stream.status).toBe(200);
    await stream.waitFor((frames) => frames.some((f) => f.comment === 'ping'), 'a ping comment');

    const anonymous = await fetch(`${url}/api/v1/events`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
    const bad = await fetch(`${url}/api/v1/events?access_token=view`, {
      headers: { 'Last-Event-ID': 'abc' },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: unknown }).errors).toEqual([
      { field: 'Last-Event-ID', message: expect.any(String) },
    ]);
    const badQuery = await fetch(`${url}/api/v1/incidents/x/events?access_token=view&lastEventId=1-2-3`);
    expect(badQuery.status).toBe(400);
    await badQuery.body?.cancel();
    const missing = await fetch(`${url}/api/v1/incidents/inc-nope/events?access_token=view`);
    expect(missing.status).toBe(404);
    await missing.body?.cancel();

    expect(closeAllStreams(), 'streams ended by closeAllStreams').toBe(1);
    await stream.ended;
    expect(openStreamCount()).toBe(0);
  });
});
