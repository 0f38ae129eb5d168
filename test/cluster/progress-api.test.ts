import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type PrivateCluster, startCluster } from '../../scripts/harness/redis-cluster.ts';
import type { TimelineEvent } from '../../src/engine/types.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventRoutes } from '../../src/producer/routes/events.ts';
import { healthRoutes } from '../../src/producer/routes/health.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { createRedis } from '../../src/redis/client.ts';
import { resolveGlobalEntries } from '../../src/store/follower.ts';
import { createIncidentStore } from '../../src/store/incident-store.ts';
import { type StreamEntry, storeKeys } from '../../src/store/keys.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS } from '../helpers/pipeline.ts';
import { openSse, type SseClient } from '../helpers/sse-client.ts';
import { EventCollector, makeIncident } from '../helpers/store-fixtures.ts';
import { clusterPipeline, expectNoCrossSlot, type LogCapture } from './helpers.ts';

const clusterUrl = inject('clusterUrl');
const note = (message: string) => ({ type: 'note' as const, actor: 'system', message });

describe('progress channel and API on a Redis Cluster', () => {
  let pipeline: Pipeline | undefined;
  let log: LogCapture | undefined;
  let api: ApiServer | undefined;
  let ownCluster: PrivateCluster | undefined;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await api?.close();
    await pipeline?.close(5000);
    await ownCluster?.stop();
    [api, pipeline, log, ownCluster] = [undefined, undefined, undefined, undefined];
  });

  async function setup(url = clusterUrl) {
    const made = await clusterPipeline(url, [apiRunbook({ marker: actionMarker().path })]);
    pipeline = made.pipeline;
    log = made.log;
    return made.pipeline;
  }

  /**
   * Appends `perWriter` notes from each of `writers` Cluster connections at once; `midway`
   * resolves once `gate` of them are written, so a follower can join while writers are busy.
   */
  function appendConcurrently(p: Pipeline, ids: string[], writers: number, perWriter: number, gate: number) {
    let written = 0;
    let reached!: () => void;
    const midway = new Promise<void>((r) => {
      reached = r;
    });
    const done = Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const redis = createRedis(clusterUrl, 'worker');
        closers.push(async () => void (await redis.quit()));
        const writer = createIncidentStore({ redis, prefix: p.deps.queues.prefix });
        for (let i = 0; i < perWriter; i++) {
          await writer.appendEvent(ids[(w + i) % ids.length]!, note(`w${w}-${i}`));
          if (++written === gate) reached();
        }
      }),
    );
    return { midway, done };
  }

  async function openIncident(p: Pipeline): Promise<string> {
    const incident = makeIncident();
    await p.deps.store.openIncident(incident, {
      type: 'incident.opened',
      actor: 'system',
      message: 'opened',
    });
    return incident.id;
  }

  it('a late follower from a middle id sees every later event once, in order, during concurrent appends', async () => {
    const p = await setup();
    const [id, other] = [await openIncident(p), await openIncident(p)];
    for (let i = 0; i < 30; i++) await p.deps.store.appendEvent(id, note(`before ${i}`));
    const from = (await p.deps.store.timeline(id))[15]!.id;
    const one = new EventCollector();
    const writing = appendConcurrently(p, [id, other, id], 3, 40, 20);
    await writing.midway;
    await p.progress.follow(id, from, one.onEvent);
    // All incidents, from a middle global id, on the same hub (one Cluster subscriber).
    const keys = storeKeys(p.deps.queues.prefix);
    const globalFrom = ((await p.deps.redis.xrange(keys.events, '-', '+')) as StreamEntry[])[10]![0];
    const all = new EventCollector();
    await p.progress.follow(null, globalFrom, all.onEvent);
    const stillWriting = (await p.deps.store.timeline(id)).length < 31 + 80;
    await writing.done;

    const expected = (await p.deps.store.timeline(id, { after: from })).map((e) => e.id);
    expect(expected.length).toBe(31 - 16 + 80);
    await one.waitForCount(expected.length);
    expect(one.cursors).toEqual(expected);
    expect(stillWriting, 'the followers joined while the writers were still appending').toBe(true);
    const expectedAll = await resolveGlobalEntries(
      p.deps.redis,
      keys,
      (await p.deps.redis.xrange(keys.events, `(${globalFrom}`, '+')) as StreamEntry[],
    );
    await all.waitForCount(expectedAll.length);
    expect(all.cursors).toEqual(expectedAll.map((e) => e.cursor));
    expect(all.events.map((e) => e.event)).toEqual(expectedAll.map((e) => e.event));
    await expectNoCrossSlot(p, log!);
  });

  it('an event published by a store script reaches a subscriber on every master', async () => {
    const p = await setup();
    const id = await openIncident(p);
    const channel = storeKeys(p.deps.queues.prefix).progress;
    // Every message each master's subscriber hears: the cluster bus carries a PUBLISH to the other
    // masters after the publisher's reply, so incident.opened may still arrive after a SUBSCRIBE.
    const heard = await Promise.all(
      (p.deps.redis as import('ioredis').Cluster).nodes('master').map(async (node) => {
        const sub = new Redis({ host: '127.0.0.1', port: node.options.port });
        closers.push(async () => void (await sub.quit()));
        const ids: string[] = [];
        sub.on('message', (_c, m: string) => ids.push((JSON.parse(m) as { id: string }).id));
        await sub.subscribe(channel);
        return { port: node.options.port, ids };
      }),
    );
    const event: TimelineEvent = await p.deps.store.appendEvent(id, note('to every node'));
    const deadline = Date.now() + 5000;
    while (heard.some((h) => !h.ids.includes(event.id)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const h of heard) expect(h.ids, `ids heard by the subscriber on port ${h.port}`).toContain(event.id);
  });

  it('API: SSE replay and a Last-Event-ID resume get every event once; readyz is ready', async () => {
    const p = await setup();
    await p.startWorkers(FAST_WORKERS);
    api = await startApi(p, [healthRoutes, incidentRoutes, eventRoutes]);
    const ready = await call(api.url, 'GET', '/readyz');
    expect(ready.status, ready.text).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', redis: 'ok' });

    const created = await call(api.url, 'POST', '/api/v1/incidents', {
      body: { runbookId: 'payment-service-slow', labels: { pod: 'sse' } },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.incidentId as string;
    const sse = async (headers: Record<string, string> = {}): Promise<SseClient> => {
      const client = await openSse(`${api!.url}/api/v1/incidents/${id}/events`, headers);
      closers.push(async () => client.close());
      return client;
    };
    const first = await sse();
    await first.waitFor(
      () => first.events().some((e) => e.event === 'remediation.succeeded'),
      'the first fix',
    );
    first.close();
    const seen = first.events().map((e) => e.id);

    const approved = await call(api.url, 'POST', `/api/v1/incidents/${id}/approvals/rollback_deployment`, {
      body: { decision: 'approve' },
    });
    expect(approved.status, approved.text).toBe(200);
    await eventsUntil(
      p,
      id,
      (e) => e.type === 'remediation.succeeded' && e.data?.stepId === 'rollback_deployment',
    );
    const resumed = await sse({ 'last-event-id': seen.at(-1)! });
    const timeline = (await p.deps.store.timeline(id)).map((e) => e.id);
    const rest = timeline.slice(timeline.indexOf(seen.at(-1)!) + 1);
    await resumed.waitFor(() => resumed.events().length >= rest.length, `${rest.length} events`);
    expect(resumed.events().map((e) => e.id)).toEqual(rest);
    expect(seen).toEqual(timeline.slice(0, seen.length));
    await expectNoCrossSlot(p, log!);
  });

  it('the node carrying the subscription SIGKILLed while events are appended: the follower still gets each once, in order', async () => {
    ownCluster = await startCluster(3, 1);
    const p = await setup(ownCluster.url);
    const id = await openIncident(p);
    const got = new EventCollector();
    await p.progress.follow(id, '0', got.onEvent);
    // The node whose clients include a subscriber (sub=1) carries the hub's subscription.
    const subscribed = [];
    for (const node of ownCluster.nodes) {
      const admin = new Redis(node.url);
      const clients = String(await admin.client('LIST'));
      admin.disconnect();
      if (/ sub=[1-9]/.test(clients)) subscribed.push(node);
    }
    expect(subscribed, 'nodes carrying a subscription').toHaveLength(1);
    const victim = subscribed[0]!;
    let written = 0;
    const writing = (async () => {
      for (; written < 300; written++) {
        await p.deps.store.appendEvent(id, note(`n${written}`)).catch(async (err: Error) => {
          // The killed node may hold the incident's slot: retry once the cluster moved it.
          await new Promise((r) => setTimeout(r, 100));
          if (!/CLUSTERDOWN|MOVED|Connection|redirections|writeable/.test(err.message)) throw err;
          written--;
        });
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await expect.poll(() => written, { timeout: 10_000, interval: 10 }).toBeGreaterThan(50);
    victim.process.kill('SIGKILL');
    await writing;
    const expected = (await p.deps.store.timeline(id)).map((e) => e.id);
    await got.waitForCount(expected.length);
    expect(got.cursors, 'the follower: every event once, in order').toEqual(expected);
  }, 90_000);

  it('readyz is 503 naming redis while every cluster node is down, and ready once they are back', async () => {
    ownCluster = await startCluster(3);
    const p = await setup(ownCluster.url);
    api = await startApi(p, [healthRoutes]);
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);

    await ownCluster.stopNodes();
    await expect.poll(async () => (await fetch(`${api!.url}/readyz`)).status, { timeout: 15_000 }).toBe(503);
    const down = await call(api.url, 'GET', '/readyz');
    expect(down.body.detail).toMatch(/redis/);
    expect(down.headers.get('retry-after')).not.toBeNull();

    await ownCluster.startNodes();
    await expect.poll(async () => (await fetch(`${api!.url}/readyz`)).status, { timeout: 30_000 }).toBe(200);
  });
});
