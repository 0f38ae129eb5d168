import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { InvalidOperationError } from '../../src/errors.ts';
import { resolveGlobalEntries } from '../../src/store/follower.ts';
import { createIncidentStore, type IncidentStore, type NewEvent } from '../../src/store/incident-store.ts';
import { type StreamEntry, storeKeys } from '../../src/store/keys.ts';
import { createProgressHub, type FollowHandle, follow, type ProgressHub } from '../../src/store/progress.ts';
import { EventCollector, makeIncident, redisClients } from '../helpers/store-fixtures.ts';

const clients = redisClients(inject('redisUrl'));
let prefix: string;
let redis: Redis;
let store: IncidentStore;
let subscribers: Redis[];
const cleanups: (() => Promise<void>)[] = [];

const ev = (message: string): NewEvent => ({ type: 'note', actor: 'system', message });
const deps = () => ({
  redis,
  prefix,
  createSubscriber: () => {
    const sub = clients.create();
    subscribers.push(sub);
    return sub;
  },
});
const track = <T extends FollowHandle | ProgressHub>(handle: T): T => {
  cleanups.push(() => ('close' in handle ? handle.close() : handle.stop()));
  return handle;
};

async function openOne(): Promise<string> {
  const inc = makeIncident();
  await store.openIncident(inc, { type: 'incident.opened', actor: 'system', message: 'opened' });
  return inc.id;
}

/** Appends `perWriter` events from each of `writers` connections at once; `onAppended` sees the running count. */
async function appendConcurrently(
  ids: string[],
  writers: number,
  perWriter: number,
  onAppended = (_n: number) => {},
) {
  let appended = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const writer = createIncidentStore({ redis: clients.create(), prefix });
      for (let i = 0; i < perWriter; i++) {
        await writer.appendEvent(ids[(w + i) % ids.length]!, ev(`w${w}-${i}`));
        onAppended(++appended);
      }
    }),
  );
}

/** Resolves when `n` appends are done, so a follower can join while writers are still busy. */
function afterAppends(n: number): { onAppended: (count: number) => void; reached: Promise<void> } {
  let resolve!: () => void;
  const reached = new Promise<void>((r) => {
    resolve = r;
  });
  return { onAppended: (count) => count >= n && resolve(), reached };
}

beforeEach(() => {
  prefix = `{t-${randomUUID()}}`; // a Redis Cluster hash tag, as production may use
  redis = clients.create();
  store = createIncidentStore({ redis, prefix });
  subscribers = [];
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await clients.closeAll();
});

describe('follow one incident', () => {
  it('joins at a middle id while 200 events are appended and sees every later one once, in order', async () => {
    const [id, noise] = [await openOne(), await openOne()];
    for (let i = 0; i < 40; i++) await store.appendEvent(id, ev(`before ${i}`));
    const from = (await store.timeline(id))[20]!.id;
    const collector = new EventCollector();
    const gate = afterAppends(30);
    const writing = appendConcurrently([id, noise, id, id], 4, 50, gate.onAppended);
    await gate.reached;
    track(await follow(deps(), id, from, collector.onEvent));
    await writing;

    const expected = (await store.timeline(id, { after: from })).map((e) => e.id);
    expect(expected.length).toBe(40 - 20 + 150);
    await collector.waitForCount(expected.length);
    expect(collector.cursors).toEqual(expected);
    expect(collector.events.map((e) => e.event.id)).toEqual(expected);
    expect(new Set(collector.events.map((e) => e.event.incidentId))).toEqual(new Set([id]));
  });

  it('follows from the start when fromId is undefined or 0', async () => {
    const id = await openOne();
    await store.appendEvent(id, ev('one'));
    const [a, b] = [new EventCollector(), new EventCollector()];
    track(await follow(deps(), id, undefined, a.onEvent));
    track(await follow(deps(), id, '0', b.onEvent));
    await store.appendEvent(id, ev('two'));
    await Promise.all([a.waitForCount(3), b.waitForCount(3)]);
    expect(a.events.map((e) => e.event.message)).toEqual(['opened', 'one', 'two']);
    expect(b.cursors).toEqual(a.cursors);
  });

  it('rejects a fromId that is not a stream id', async () => {
    await expect(follow(deps(), 'x', 'last', () => {})).rejects.toBeInstanceOf(InvalidOperationError);
  });
});

describe('follow all incidents', () => {
  it('joins at a middle global id during concurrent appends to three incidents', async () => {
    const ids = [await openOne(), await openOne(), await openOne()];
    await appendConcurrently(ids, 3, 10);
    const keys = storeKeys(prefix);
    const from = ((await redis.xrange(keys.events, '-', '+')) as StreamEntry[])[15]![0];
    const collector = new EventCollector();
    const gate = afterAppends(25);
    const writing = appendConcurrently(ids, 3, 60, gate.onAppended);
    await gate.reached;
    track(await follow(deps(), null, from, collector.onEvent));
    await writing;

    const expected = await resolveGlobalEntries(
      redis,
      keys,
      (await redis.xrange(keys.events, `(${from}`, '+')) as StreamEntry[],
    );
    expect(expected.length).toBe(3 + 30 - 16 + 180);
    await collector.waitForCount(expected.length);
    expect(collector.cursors).toEqual(expected.map((e) => e.cursor));
    expect(collector.events.map((e) => e.event)).toEqual(expected.map((e) => e.event));
  });

  it('publishes each event with its timeline id and global id, as the streams hold it', async () => {
    const id = await openOne();
    const listener = clients.create();
    const message = new Promise<string>((resolve) => listener.on('message', (_c, m: string) => resolve(m)));
    await listener.subscribe(storeKeys(prefix).progress);
    const event = await store.appendEvent(id, { ...ev('hello'), data: { empty: [], n: 1 } });
    const [global] = (await redis.xrevrange(storeKeys(prefix).events, '+', '-', 'COUNT', 1)) as StreamEntry[];
    expect(JSON.parse(await message)).toEqual({ ...event, globalId: global![0] });
    expect(await resolveGlobalEntries(redis, storeKeys(prefix), [global!])).toEqual([
      { event, cursor: global![0] },
    ]);
  });
});

describe('ProgressHub', () => {
  it('serves followers from every id of a timeline on one subscriber, during appends', async () => {
    const id = await openOne();
    for (let i = 0; i < 29; i++) await store.appendEvent(id, ev(`e${i}`));
    const initial = (await store.timeline(id)).map((e) => e.id);
    const hub = track(createProgressHub(deps()));
    const gate = afterAppends(10);
    const writing = appendConcurrently([id], 2, 50, gate.onAppended);
    await gate.reached;
    const collectors = initial.map(() => new EventCollector());
    await Promise.all(initial.map((from, i) => hub.follow(id, from, collectors[i]!.onEvent)));
    await writing;

    const all = (await store.timeline(id)).map((e) => e.id);
    expect(all.length).toBe(130);
    for (const [i, collector] of collectors.entries()) {
      await collector.waitForCount(all.length - i - 1);
      expect(collector.cursors, `follower from event ${i}`).toEqual(all.slice(i + 1));
    }
    expect(subscribers.length).toBe(1);
  });

  it('replays what was published while the subscriber was disconnected', async () => {
    const id = await openOne();
    const sub = clients.create();
    const subId = await sub.client('ID');
    const hub = track(createProgressHub({ redis, prefix, createSubscriber: () => sub }));
    const collector = new EventCollector();
    await hub.follow(id, undefined, collector.onEvent);
    await collector.waitForCount(1);

    const reconnected = new Promise((resolve) => sub.once('ready', resolve));
    await redis.client('KILL', 'ID', subId);
    for (let i = 0; i < 20; i++) await store.appendEvent(id, ev(`during ${i}`));
    await reconnected;
    await store.appendEvent(id, ev('after'));

    const all = (await store.timeline(id)).map((e) => e.id);
    await collector.waitForCount(all.length);
    expect(collector.cursors).toEqual(all);
  });

  it('stops a follower whose callback throws, reports it, and keeps serving the others', async () => {
    const id = await openOne();
    const hub = track(createProgressHub(deps()));
    const failures: unknown[] = [];
    const healthy = new EventCollector();
    let calls = 0;
    const boom = new Error('consumer broke');
    await hub.follow(
      id,
      '0',
      () => {
        calls++;
        throw boom;
      },
      { onError: (err) => failures.push(err) },
    );
    await hub.follow(id, '0', healthy.onEvent);
    await store.appendEvent(id, ev('next'));
    await healthy.waitForCount(2);
    expect({ calls, failures }).toEqual({ calls: 1, failures: [boom] });
  });

  it('delivers nothing to a stopped follower; a one-off follow quits its subscriber on stop', async () => {
    const id = await openOne();
    const hub = track(createProgressHub(deps()));
    const [stopped, running] = [new EventCollector(), new EventCollector()];
    const handle = await hub.follow(id, '0', stopped.onEvent);
    await hub.follow(id, '0', running.onEvent);
    await handle.stop();
    await store.appendEvent(id, ev('later'));
    await running.waitForCount(2);
    expect(stopped.events.map((e) => e.event.message)).toEqual(['opened']);

    const single = await follow(deps(), id, '0', () => {});
    await single.stop();
    expect(subscribers.at(-1)?.status).toBe('end');
  });
});
