import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { PlanStep, Verdict } from '../../src/engine/types.ts';
import { NotFoundError } from '../../src/errors.ts';
import { createIncidentStore, type IncidentStore, type NewEvent } from '../../src/store/incident-store.ts';
import { storeKeys } from '../../src/store/keys.ts';
import { makeIncident, redisClients } from '../helpers/store-fixtures.ts';

const clients = redisClients(inject('redisUrl'));
let prefix: string;
let redis: Redis;
let clock: Date;
let store: IncidentStore;

/** A store on its own connection, as another worker process would have. */
const otherStore = () => createIncidentStore({ redis: clients.create(), prefix, now: () => clock });
const ev = (message: string, type: NewEvent['type'] = 'note'): NewEvent => ({
  type,
  actor: 'system',
  message,
});
const step = (stepId: string): PlanStep => ({ stepId, name: stepId, kind: 'automated', state: 'pending' });

beforeEach(() => {
  prefix = `t-${randomUUID()}`;
  redis = clients.create();
  clock = new Date('2024-05-01T03:00:00.000Z');
  store = createIncidentStore({ redis, prefix, now: () => clock });
});
afterEach(() => clients.closeAll());

describe('openIncident', () => {
  it('creates exactly one incident for 50 concurrent opens with one key', async () => {
    const key = 'payment-slow:fp-1';
    const stores = Array.from({ length: 5 }, otherStore);
    const attempts = Array.from({ length: 50 }, (_, i) => makeIncident({ key, id: `inc-${i}` }));
    const results = await Promise.all(
      attempts.map((inc, i) => stores[i % 5]!.openIncident(inc, ev('opened', 'incident.opened'))),
    );
    const created = results.flatMap((r) => (r.created ? [r.incident.id] : []));
    expect(created).toHaveLength(1);
    const winner = created[0]!;
    expect(results.flatMap((r) => (r.created ? [] : [r.incidentId]))).toEqual(Array(49).fill(winner));
    expect(await store.findOpenByKey(key)).toBe(winner);
    expect(await redis.zcard(storeKeys(prefix).incidents)).toBe(1);
    expect((await store.timeline(winner)).map((e) => e.type)).toEqual(['incident.opened']);
  });

  it('stores the whole document and returns it with its opened event', async () => {
    const incident = makeIncident({ plan: [step('restart')] });
    clock = new Date('2024-05-01T03:00:05.000Z');
    const result = await store.openIncident(incident, ev('Opened', 'incident.opened'));
    if (!result.created) throw new Error(`expected a new incident, got existing ${result.incidentId}`);
    const expected = { ...incident, updatedAt: '2024-05-01T03:00:05.000Z' };
    expect(result.incident).toEqual(expected);
    expect(await store.get(incident.id)).toEqual(expected);
    expect(await store.timeline(incident.id)).toEqual([result.event]);
    expect(result.event).toMatchObject({ incidentId: incident.id, at: '2024-05-01T03:00:05.000Z' });
  });
});

describe('setStatus', () => {
  it('lets exactly one of two concurrent transitions win', async () => {
    const inc = makeIncident();
    await store.openIncident(inc, ev('opened'));
    const [a, b] = await Promise.all([
      store.setStatus(inc.id, ['triggered'], 'diagnosing', ev('a', 'incident.status')),
      otherStore().setStatus(inc.id, ['triggered'], 'awaiting_responder', ev('b', 'incident.status')),
    ]);
    const winner = a.ok ? 'diagnosing' : 'awaiting_responder';
    expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
    expect(a.ok ? b : a).toEqual({ ok: false, current: winner });
    expect((await store.get(inc.id))?.status).toBe(winner);
    const statusEvents = (await store.timeline(inc.id)).filter((e) => e.type === 'incident.status');
    expect(statusEvents.map((e) => e.message)).toEqual([a.ok ? 'a' : 'b']);
    expect(await store.list({ status: 'triggered' }, { limit: 10 })).toEqual({ items: [], nextCursor: null });
  });

  it('answers current null for an unknown incident', async () => {
    expect(await store.setStatus('nope', ['triggered'], 'diagnosing', ev('x'))).toEqual({
      ok: false,
      current: null,
    });
  });

  it('resolving clears the dedup key so a new incident can open with that key', async () => {
    const first = makeIncident();
    await store.openIncident(first, ev('opened'));
    clock = new Date('2024-05-01T04:00:00.000Z');
    const resolved = await store.setStatus(
      first.id,
      ['triggered'],
      'resolved',
      ev('done', 'incident.resolved'),
    );
    expect(resolved.ok).toBe(true);
    expect(await store.get(first.id)).toMatchObject({
      status: 'resolved',
      resolvedAt: '2024-05-01T04:00:00.000Z',
      updatedAt: '2024-05-01T04:00:00.000Z',
    });
    expect(await store.findOpenByKey(first.key)).toBeNull();
    const second = await store.openIncident(makeIncident({ key: first.key }), ev('opened'));
    expect(second.created).toBe(true);
    expect((await store.list({ open: false }, { limit: 10 })).items.map((i) => i.id)).toEqual([first.id]);
  });
});

describe('concurrent field updates', () => {
  it('keeps all of 20 verdicts and 20 plan step updates written in parallel', async () => {
    const inc = makeIncident();
    await store.openIncident(inc, ev('opened'));
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    await store.setDecision(
      inc.id,
      { remediations: ids, rationale: [], otherwiseApplied: false },
      'critical',
      ids.map(step),
      ev('decided', 'decision.made'),
    );
    const verdict = (id: string): Verdict => ({ stepId: id, status: 'critical', facts: { value: id } });
    const writers = Array.from({ length: 4 }, otherStore);
    await Promise.all(
      ids.flatMap((id, i) => [
        writers[i % 4]!.setVerdict(inc.id, verdict(id), ev(`verdict ${id}`, 'diagnostic.finished')),
        writers[(i + 1) % 4]!.updatePlanStep(
          inc.id,
          id,
          ['pending'],
          { state: 'queued', detail: id },
          ev(id),
        ),
      ]),
    );
    const got = await store.get(inc.id);
    expect(got?.verdicts).toEqual(Object.fromEntries(ids.map((id) => [id, verdict(id)])));
    expect(got?.plan).toEqual(ids.map((id) => ({ ...step(id), state: 'queued', detail: id })));
    expect(got?.overall).toBe('critical');
    expect(await store.timeline(inc.id)).toHaveLength(2 + 40);
  });

  it('records the verdict and its event together, and refuses an unknown incident', async () => {
    const inc = makeIncident();
    await store.openIncident(inc, ev('opened'));
    clock = new Date('2024-05-01T03:01:00.000Z');
    const v: Verdict = { stepId: 'db', status: 'warning', facts: { value: 80 }, durationMs: 12 };
    const event = await store.setVerdict(inc.id, v, ev('db warning', 'diagnostic.finished'));
    const got = await store.get(inc.id);
    expect(got?.verdicts.db).toEqual(v);
    expect(got?.updatedAt).toBe('2024-05-01T03:01:00.000Z');
    expect((await store.timeline(inc.id)).at(-1)).toEqual(event);
    await expect(store.setVerdict('missing', v, ev('x'))).rejects.toBeInstanceOf(NotFoundError);
    expect(await redis.exists(storeKeys(prefix).incident('missing'))).toBe(0);
  });
});

describe('setDecision', () => {
  const decision = { remediations: ['restart'], rationale: [], otherwiseApplied: false };

  it('moves a diagnosing incident to diagnosed and records the decision, both events in one call', async () => {
    const inc = makeIncident({ status: 'diagnosing' });
    await store.openIncident(inc, ev('opened', 'incident.opened'));
    const result = await store.setDecision(
      inc.id,
      decision,
      'critical',
      [step('restart')],
      ev('decided', 'decision.made'),
      ev('diagnosed', 'incident.status'),
    );
    expect(result.before).toBe('diagnosing');
    expect(result.diagnosed).toMatchObject({ type: 'incident.status', incidentId: inc.id });
    expect((await store.timeline(inc.id)).map((e) => [e.id, e.type])).toEqual([
      [expect.any(String), 'incident.opened'],
      [result.diagnosed!.id, 'incident.status'],
      [result.event.id, 'decision.made'],
    ]);
    const stored = await store.get(inc.id);
    expect(stored).toMatchObject({
      status: 'diagnosed',
      overall: 'critical',
      decision,
      plan: [step('restart')],
    });
    const k = storeKeys(prefix);
    expect(await redis.zscore(k.byStatus('diagnosing'), inc.id)).toBeNull();
    expect(await redis.zscore(k.byStatus('diagnosed'), inc.id)).not.toBeNull();
  });

  it('leaves a resolved incident resolved: the decision is kept, no status event', async () => {
    const inc = makeIncident({ status: 'diagnosing' });
    await store.openIncident(inc, ev('opened', 'incident.opened'));
    await store.setStatus(inc.id, ['diagnosing'], 'resolved', ev('resolved', 'incident.status'));
    const result = await store.setDecision(
      inc.id,
      decision,
      'healthy',
      [step('restart')],
      ev('decided', 'decision.made'),
      ev('diagnosed', 'incident.status'),
    );
    expect(result).toMatchObject({ before: 'resolved', diagnosed: null });
    expect((await store.get(inc.id))?.status).toBe('resolved');
    expect((await store.timeline(inc.id)).map((e) => e.type)).toEqual([
      'incident.opened',
      'incident.status',
      'decision.made',
    ]);
  });

  it('replaces an earlier plan and throws NotFoundError for an unknown incident', async () => {
    const inc = makeIncident({ status: 'diagnosing' });
    await store.openIncident(inc, ev('opened', 'incident.opened'));
    await store.setDecision(
      inc.id,
      decision,
      'critical',
      [step('a'), step('b')],
      ev('first', 'decision.made'),
    );
    await store.setDecision(inc.id, decision, 'critical', [step('c')], ev('second', 'decision.made'));
    expect((await store.get(inc.id))?.plan).toEqual([step('c')]);
    expect(await redis.hexists(storeKeys(prefix).incident(inc.id), 'p:a')).toBe(0);
    await expect(
      store.setDecision('inc-none', decision, 'critical', [], ev('x', 'decision.made')),
    ).rejects.toThrow(NotFoundError);
  });
});

describe('updatePlanStep', () => {
  it('approves once: the second approval sees the step already approved', async () => {
    const inc = makeIncident({
      plan: [{ ...step('restart'), kind: 'approval', state: 'awaiting_approval' }],
    });
    await store.openIncident(inc, ev('opened'));
    const approve = (by: string) =>
      store.updatePlanStep(
        inc.id,
        'restart',
        ['awaiting_approval'],
        { state: 'approved', by },
        ev(`by ${by}`),
      );
    const first = await approve('slack:alice');
    expect(first).toMatchObject({
      ok: true,
      step: { stepId: 'restart', state: 'approved', by: 'slack:alice' },
    });
    const second = await approve('slack:bob');
    expect(second).toEqual({ ok: false, current: { ...inc.plan[0], state: 'approved', by: 'slack:alice' } });
    expect(await store.updatePlanStep(inc.id, 'ghost', null, { state: 'done' }, ev('x'))).toEqual({
      ok: false,
      current: null,
    });
    expect((await store.timeline(inc.id)).map((e) => e.message)).toEqual(['opened', 'by slack:alice']);
  });
});

describe('setFlag and markers', () => {
  it('records an acknowledgement once', async () => {
    const inc = makeIncident();
    await store.openIncident(inc, ev('opened'));
    const ack = () => store.setFlag(inc.id, 'acknowledged', true, ev('ack', 'incident.acknowledged'));
    expect((await ack()).changed).toBe(true);
    expect(await ack()).toEqual({ changed: false });
    expect((await store.get(inc.id))?.acknowledged).toBe(true);
    expect((await store.timeline(inc.id)).filter((e) => e.type === 'incident.acknowledged')).toHaveLength(1);
    await expect(store.setFlag('missing', 'escalated', true, ev('x'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lets one of many concurrent claims take a marker', async () => {
    const claims = await Promise.all(
      Array.from({ length: 10 }, () => otherStore().claim('inc-1:restart', 60_000)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    await store.setMarker('inc-1:restart', 'succeeded', 60_000);
    expect(await store.getMarker('inc-1:restart')).toBe('succeeded');
    expect(await store.getMarker('other')).toBeNull();
  });
});

describe('timeline', () => {
  it('reads after an id, with a limit', async () => {
    const inc = makeIncident();
    await store.openIncident(inc, ev('e0'));
    for (let i = 1; i < 6; i++) await store.appendEvent(inc.id, ev(`e${i}`));
    const all = await store.timeline(inc.id);
    expect(all.map((e) => e.message)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
    const page = await store.timeline(inc.id, { after: all[2]!.id, limit: 2 });
    expect(page.map((e) => e.message)).toEqual(['e3', 'e4']);
  });
});

describe('list', () => {
  it('filters and pages newest first over 25 incidents, ties on creation time included', async () => {
    const base = Date.parse('2024-05-01T00:00:00.000Z');
    // Incidents 10–14 share one creation time: the cursor must break the tie by id.
    const all = Array.from({ length: 25 }, (_, i) =>
      makeIncident({
        id: `inc-${String(i).padStart(2, '0')}`,
        service: i % 2 === 0 ? 'payment' : 'auth',
        severity: (['P1', 'P2', 'P3', 'P4'] as const)[i % 4],
        runbookId: i % 3 === 0 ? 'rb-a' : 'rb-b',
        createdAt: new Date(base + (i >= 10 && i < 15 ? 10 : i) * 60_000).toISOString(),
      }),
    );
    for (const inc of all) await store.openIncident(inc, ev('opened'));
    for (const inc of all.filter((_, i) => i % 5 === 0)) {
      await store.setStatus(inc.id, ['triggered'], 'resolved', ev('resolved'));
    }
    const newestFirst = [...all].sort(
      (a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id),
    );
    const pages = async (filter: Parameters<IncidentStore['list']>[0], limit: number) => {
      const ids: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list(filter, cursor === undefined ? { limit } : { limit, cursor });
        ids.push(page.items.map((i) => i.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return ids;
    };
    const chunk = (ids: string[], n: number) =>
      Array.from({ length: Math.ceil(ids.length / n) }, (_, i) => ids.slice(i * n, i * n + n));

    const everyId = newestFirst.map((i) => i.id);
    expect(await pages({}, 10)).toEqual(chunk(everyId, 10));
    expect(await pages({}, 3)).toEqual(chunk(everyId, 3));

    const openPayment = newestFirst.filter(
      (i, _) => i.service === 'payment' && Number(i.id.slice(4)) % 5 !== 0,
    );
    expect(await pages({ service: 'payment', open: true }, 4)).toEqual(
      chunk(
        openPayment.map((i) => i.id),
        4,
      ),
    );
    const p3rbA = newestFirst.filter((i) => i.severity === 'P3' && i.runbookId === 'rb-a').map((i) => i.id);
    expect(await pages({ severity: 'P3', runbookId: 'rb-a' }, 2)).toEqual(chunk(p3rbA, 2));
    const resolved = newestFirst.filter((i) => Number(i.id.slice(4)) % 5 === 0).map((i) => i.id);
    expect(await pages({ status: 'resolved' }, 10)).toEqual([resolved]);
  });
});

describe('sweep', () => {
  it('deletes only incidents resolved before the cutoff', async () => {
    const [old, recent, open] = [makeIncident(), makeIncident(), makeIncident()];
    for (const inc of [old, recent, open]) await store.openIncident(inc, ev('opened'));
    clock = new Date('2024-05-01T05:00:00.000Z');
    await store.setStatus(old.id, ['triggered'], 'resolved', ev('resolved'));
    clock = new Date('2024-05-08T05:00:00.000Z');
    await store.setStatus(recent.id, ['triggered'], 'resolved', ev('resolved'));

    expect(await store.sweep(new Date('2024-05-05T00:00:00.000Z'))).toBe(1);
    expect(await store.get(old.id)).toBeNull();
    expect(await store.timeline(old.id)).toEqual([]);
    const left = (await store.list({ service: 'payment' }, { limit: 10 })).items.map((i) => i.id).sort();
    expect(left).toEqual([recent.id, open.id].sort());
    const k = storeKeys(prefix);
    const stillIndexed = await Promise.all(
      [
        k.incidents,
        k.resolved,
        k.byStatus('resolved'),
        k.byService('payment'),
        k.byRunbook('payment-slow'),
      ].map((key) => redis.zscore(key, old.id)),
    );
    expect(stillIndexed).toEqual([null, null, null, null, null]);
    expect(await store.sweep(new Date('2024-05-05T00:00:00.000Z'))).toBe(0);
  });
});
