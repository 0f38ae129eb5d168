import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { resolveGlobalEntries } from '../../src/store/follower.ts';
import { createIncidentStore, type IncidentStore, type NewEvent } from '../../src/store/incident-store.ts';
import { type StoreKeys, type StreamEntry, storeKeys } from '../../src/store/keys.ts';
import { createProgressHub, type FollowHandle, follow } from '../../src/store/progress.ts';
import { EventCollector, makeIncident, redisClients } from '../helpers/store-fixtures.ts';

// Issue 13: a timeline entry stores the event without `incidentId`, the global events stream a
// reference (`iid`, `tid`) only; every reader gives back the same events as before, and the
// entries written by the previous version read the same.

const clients = redisClients(inject('redisUrl'));
let prefix: string;
let keys: StoreKeys;
let redis: Redis;
let store: IncidentStore;
const cleanups: (() => Promise<void>)[] = [];

const ev = (message: string, data?: Record<string, unknown>): NewEvent => ({
  type: 'note',
  actor: 'system',
  message,
  ...(data ? { data } : {}),
});
const deps = () => ({ redis, prefix, createSubscriber: () => clients.create() });
const track = <T extends FollowHandle>(handle: T): T => {
  cleanups.push(() => handle.stop());
  return handle;
};
/** An incident id as intake makes them (`inc-<ms base36>-<8 hex>`). */
const intakeId = () => `inc-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

async function openOne(id = `inc-${randomUUID()}`): Promise<TimelineEvent> {
  const result = await store.openIncident(makeIncident({ id }), {
    type: 'incident.opened',
    actor: 'system',
    message: 'opened',
  });
  if (!result.created) throw new Error(`expected a new incident ${id}, got ${result.incidentId}`);
  return result.event;
}

/** Every event of the global stream after `after`, as a global follower replays them. */
async function replayAll(after: string, count: number): Promise<{ event: TimelineEvent; cursor: string }[]> {
  const collector = new EventCollector();
  track(await follow(deps(), null, after, collector.onEvent));
  await collector.waitForCount(count);
  return collector.events;
}

const globalEntries = async (): Promise<StreamEntry[]> =>
  (await redis.xrange(keys.events, '-', '+')) as StreamEntry[];

/** Writes an event as the previous version did: the JSON with `incidentId`, copied to the global stream. */
async function writeOldFormat(incidentId: string, message: string, data?: Record<string, unknown>) {
  const body = { incidentId, type: 'note', at: new Date().toISOString(), actor: 'system', message, data };
  const json = JSON.stringify(body);
  const tid = (await redis.xadd(keys.timeline(incidentId), '*', 'event', json))!;
  const gid = (await redis.xadd(keys.events, 'MAXLEN', '~', 100_000, '*', 'tid', tid, 'event', json))!;
  return { event: { id: tid, ...JSON.parse(json) } as TimelineEvent, gid, json };
}

/** The events of one incident of the pipeline bench (bench/five-checks.ts), as it records them. */
const BENCH_EVENTS: NewEvent[] = [
  {
    type: 'incident.opened',
    actor: 'alert:alertmanager',
    message: 'Runbook "Bench Five Checks" triggered by BenchAlert',
    data: { fingerprint: 'fp1', labels: { alertname: 'BenchAlert', instance: 'x1' } },
  },
  {
    type: 'incident.status',
    actor: 'system',
    message: 'Running 5 diagnostics in parallel',
    data: {
      from: 'triggered',
      to: 'diagnosing',
      diagnostics: ['check_1', 'check_2', 'check_3', 'check_4', 'check_5'],
    },
  },
  ...[1, 2, 3, 4, 5].flatMap((n): NewEvent[] => [
    {
      type: 'diagnostic.started',
      actor: 'system',
      message: `Local check ${n}: running`,
      data: { stepId: `check_${n}`, type: 'http_check', attempt: 1 },
    },
    {
      type: 'diagnostic.finished',
      actor: 'system',
      message: `Local check ${n}: healthy (all_healthy)`,
      data: { stepId: `check_${n}`, status: 'healthy', durationMs: 6 + n },
    },
  ]),
  {
    type: 'escalation.scheduled',
    actor: 'system',
    message: 'Escalates to #bench in 30 min unless acknowledged',
    data: { dueAt: '2026-12-07T06:57:00.414Z' },
  },
  ...(['opened', 'update'] as const).map(
    (kind): NewEvent => ({
      type: 'notification.failed',
      actor: 'system',
      message:
        "Not delivered to #bench: slack: no Slack webhook for #bench: set connections.slack.webhooks['#bench'] or a default (SLACK_WEBHOOK_URL)",
      data: { channel: '#bench', kind },
    }),
  ),
  {
    type: 'incident.status',
    actor: 'system',
    message: 'Diagnosed: overall healthy',
    data: { from: 'diagnosing', to: 'diagnosed', overall: 'healthy' },
  },
  {
    type: 'decision.made',
    actor: 'system',
    message: 'Decided: otherwise → look',
    data: { remediations: ['look'], overall: 'healthy' },
  },
  {
    type: 'incident.status',
    actor: 'system',
    message: 'Incident is now awaiting responder',
    data: { from: 'diagnosed', to: 'awaiting_responder' },
  },
];

beforeEach(() => {
  prefix = `{t-${randomUUID()}}`; // a Redis Cluster hash tag, as production may use
  keys = storeKeys(prefix);
  redis = clients.create();
  store = createIncidentStore({ redis, prefix });
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await clients.closeAll();
});

describe('timeline entries', () => {
  it('are stored without incidentId and read back with it', async () => {
    const opened = await openOne();
    const id = opened.incidentId;
    const note = await store.appendEvent(id, ev('hello', { n: 1, nested: { a: [1, 2] } }));

    const raw = (await redis.xrange(keys.timeline(id), '-', '+')) as StreamEntry[];
    expect(raw.map(([, fields]) => fields[0])).toEqual(['event', 'event']);
    const stored = raw.map(([, fields]) => JSON.parse(fields[1]!) as Record<string, unknown>);
    expect(stored.map((s) => 'incidentId' in s)).toEqual([false, false]);
    expect(stored[1]).toEqual({
      type: 'note',
      at: note.at,
      actor: 'system',
      message: 'hello',
      data: note.data,
    });

    const timeline = await store.timeline(id);
    expect(timeline).toEqual([opened, note]);
    expect(note).toMatchObject({ id: raw[1]![0], incidentId: id });
    // Same key order as the events always had, so JSON answers (SSE, API) are byte-identical.
    expect(Object.keys(timeline[1]!)).toEqual(['id', 'incidentId', 'type', 'at', 'actor', 'message', 'data']);
    expect(await store.timeline(id, { after: opened.id, limit: 1 })).toEqual([note]);
  });

  it('of the 18 events of a bench incident take under 6 KB (one stream node)', async () => {
    const id = intakeId();
    const [opened, ...rest] = BENCH_EVENTS;
    const result = await store.openIncident(makeIncident({ id }), opened!);
    expect(result.created).toBe(true);
    for (const event of rest) await store.appendEvent(id, event);
    const stored = (await redis.xrange(keys.timeline(id), '-', '+')) as StreamEntry[];
    expect(stored.length).toBe(18);

    const usage = (key: string) => redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as Promise<number>;
    const bytes = await usage(keys.timeline(id));
    expect(bytes, `MEMORY USAGE of the timeline: ${bytes} bytes`).toBeLessThan(6 * 1024);

    // The same entries as the previous version stored them, with incidentId: over one node.
    const previous = `${prefix}:previous-format`;
    const previousJson = stored.map(([, f]) => JSON.stringify({ incidentId: id, ...JSON.parse(f[1]!) }));
    const average = previousJson.reduce((n, json) => n + json.length, 0) / previousJson.length;
    expect(average, 'bytes of JSON per event, as the previous version stored it').toBeGreaterThan(180);
    for (const json of previousJson) await redis.xadd(previous, '*', 'event', json);
    const previousBytes = await usage(previous);
    expect(previousBytes, `previous format: ${previousBytes} bytes`).toBeGreaterThan(6 * 1024);
  });
});

describe('the global events stream', () => {
  it('holds a reference (iid, tid) and no copy of the event', async () => {
    const opened = await openOne();
    const note = await store.appendEvent(opened.incidentId, ev('hello'));
    expect((await globalEntries()).map(([, fields]) => fields)).toEqual([
      ['iid', opened.incidentId, 'tid', opened.id],
      ['iid', note.incidentId, 'tid', note.id],
    ]);
  });

  it('replays from 0 and from a middle id the same full events, in order, with their global ids', async () => {
    const ids = [(await openOne()).incidentId, (await openOne()).incidentId, (await openOne()).incidentId];
    for (let i = 0; i < 30; i++) await store.appendEvent(ids[i % 3]!, ev(`e${i}`, { i }));
    const gids = (await globalEntries()).map(([gid]) => gid);
    // Every event in global order: each incident's timeline, merged by the global stream's order.
    // (Timeline ids repeat across incidents: each timeline is its own stream.)
    const timelines = new Map(
      await Promise.all(ids.map(async (id) => [id, await store.timeline(id)] as const)),
    );
    const expected = (await globalEntries()).map(([gid, fields]) => ({
      event: timelines.get(fields[1]!)!.find((e) => e.id === fields[3])!,
      cursor: gid,
    }));
    expect(expected.map((e) => e.cursor)).toEqual(gids);
    expect(expected.every((e) => e.event !== undefined)).toBe(true);

    expect(await replayAll('0', 33)).toEqual(expected);
    const from = gids[14]!;
    expect(await replayAll(from, 33 - 15)).toEqual(expected.slice(15));
  });

  it('resolves a page of references with one stream read and one pipeline', async () => {
    const { incidentId } = await openOne();
    for (let i = 0; i < 20; i++) await store.appendEvent(incidentId, ev(`e${i}`));
    const xrange = vi.spyOn(redis, 'xrange');
    const pipeline = vi.spyOn(redis, 'pipeline');
    const events = await replayAll('0', 21);
    // The global page only (the timeline reads go through the pipeline, not `xrange`).
    expect(xrange.mock.calls.map((c) => c[0])).toEqual([keys.events]);
    expect(pipeline).toHaveBeenCalledTimes(1);
    expect(events.map((e) => e.event)).toEqual(await store.timeline(incidentId));
  });

  it('skips the entries of a swept incident, across a whole page of them', async () => {
    const swept = (await openOne()).incidentId;
    await Promise.all(Array.from({ length: 520 }, (_, i) => store.appendEvent(swept, ev(`gone ${i}`))));
    const result = await store.setStatus(swept, ['triggered'], 'resolved', {
      type: 'incident.resolved',
      actor: 'system',
      message: 'resolved',
    });
    expect(result.ok).toBe(true);
    const kept = await openOne();
    const later = await store.appendEvent(kept.incidentId, ev('after the swept one'));
    expect(await store.sweep(new Date(Date.now() + 60_000))).toBe(1);
    expect(await redis.exists(keys.timeline(swept))).toBe(0);

    const gids = (await globalEntries()).map(([gid]) => gid);
    expect(gids.length).toBe(1 + 520 + 1 + 2);
    expect(await replayAll('0', 2)).toEqual([
      { event: kept, cursor: gids.at(-2) },
      { event: later, cursor: gids.at(-1) },
    ]);
    expect(await resolveGlobalEntries(redis, keys, await globalEntries())).toEqual([
      { event: kept, cursor: gids.at(-2) },
      { event: later, cursor: gids.at(-1) },
    ]);
  });

  it('keeps its approximate cap', async () => {
    const capped = createIncidentStore({ redis, prefix, eventsMaxLen: 10 });
    const { incidentId } = await openOne();
    for (let i = 0; i < 300; i++) await capped.appendEvent(incidentId, ev(`e${i}`));
    // `~` trims whole stream nodes (at most 100 entries each): the cap plus less than a node.
    expect(await redis.xlen(keys.events)).toBeLessThanOrEqual(10 + 100);
    expect(await redis.xlen(keys.timeline(incidentId))).toBe(301);
  });
});

describe('the progress channel', () => {
  it('carries the same message as before: the whole event with id, globalId and incidentId', async () => {
    const opened = await openOne(intakeId());
    const id = opened.incidentId;
    const listener = clients.create();
    const messages: string[] = [];
    const two = new Promise<void>((resolve) =>
      listener.on('message', (_c, m: string) => {
        messages.push(m);
        if (messages.length === 2) resolve();
      }),
    );
    await listener.subscribe(keys.progress);
    const hub = createProgressHub(deps());
    cleanups.push(() => hub.close());
    const live = new EventCollector();
    await hub.follow(id, opened.id, live.onEvent);

    const plain = await store.appendEvent(id, ev('hello'));
    const withData = await store.appendEvent(id, ev('with "quotes" \\ and ünïcode', { empty: [], n: 1 }));
    await two;
    const gids = (await globalEntries()).slice(1).map(([gid]) => gid);
    // What the previous version published: the JSON it stored (record.ts built it in this order,
    // `data` left out when undefined) after the id and the global id.
    const previous = (e: TimelineEvent, gid: string) => {
      const stored = {
        incidentId: id,
        type: e.type,
        at: e.at,
        actor: e.actor,
        message: e.message,
        data: e.data,
      };
      return `{"id":"${e.id}","globalId":"${gid}",${JSON.stringify(stored).slice(1)}`;
    };
    expect(messages).toEqual([previous(plain, gids[0]!), previous(withData, gids[1]!)]);

    await live.waitForCount(2);
    expect(live.events).toEqual([
      { event: plain, cursor: plain.id },
      { event: withData, cursor: withData.id },
    ]);
    expect(await store.timeline(id, { after: opened.id })).toEqual([plain, withData]);
  });
});

describe('entries written by the previous version', () => {
  it('read the same from the timeline, an incident follower and the global stream, beside new ones', async () => {
    const opened = await openOne();
    const id = opened.incidentId;
    const old1 = await writeOldFormat(id, 'old one');
    const old2 = await writeOldFormat(id, 'old two', { stepId: 'check_1', facts: { up: false } });
    const fresh = await store.appendEvent(id, ev('new one'));
    const other = await openOne(); // another incident's new entry after the old ones

    // Old entries have no `data` key when it was undefined, exactly as JSON.parse gave them.
    expect(old1.event).toEqual({
      id: old1.event.id,
      incidentId: id,
      type: 'note',
      at: old1.event.at,
      actor: 'system',
      message: 'old one',
    });
    const timeline = await store.timeline(id);
    expect(timeline).toEqual([opened, old1.event, old2.event, fresh]);
    expect(JSON.stringify(timeline[2])).toBe(JSON.stringify({ id: old2.event.id, ...JSON.parse(old2.json) }));

    const one = new EventCollector();
    track(await follow(deps(), id, '0', one.onEvent));
    await one.waitForCount(4);
    expect(one.events.map((e) => e.event)).toEqual(timeline);

    const gids = (await globalEntries()).map(([gid]) => gid);
    expect(gids).toContain(old1.gid);
    const all = [opened, old1.event, old2.event, fresh, other].map((event, i) => ({
      event,
      cursor: gids[i]!,
    }));
    expect(await replayAll('0', 5)).toEqual(all);
    expect(await replayAll(old1.gid, 3)).toEqual(all.slice(2));
  });

  it('an old global entry of a swept incident still reads from its own copy', async () => {
    const opened = await openOne();
    const old = await writeOldFormat(opened.incidentId, 'old, swept later');
    await redis.del(keys.timeline(opened.incidentId));
    expect(await resolveGlobalEntries(redis, keys, await globalEntries())).toEqual([
      { event: old.event, cursor: old.gid },
    ]);
  });
});
