import { type Job, Worker } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { acknowledge, resolveIncident } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { jobIds, QUEUE_NAMES, QUEUES } from '../../src/queues/catalog.ts';
import { createRedis } from '../../src/redis/client.ts';
import { createNotificationProcessor } from '../../src/workers/notification.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { until } from '../helpers/poll.ts';

const redisUrl = inject('redisUrl');

/** Nothing to remediate: the only thing that can page the secondary channel is the timer. */
const RUNBOOK = JSON.stringify({
  id: 'esc',
  name: 'Escalation timer',
  severity: 'P1',
  service: 'esc-service',
  triggers: [{ type: 'alert', alertName: 'Esc' }],
  diagnostics: [],
  decisionTree: [],
  remediations: [],
  escalation: { primary: '#ops', secondary: 'pagerduty:oncall', escalateAfterMinutes: 15 },
});

const types = (events: TimelineEvent[]) => events.map((e) => e.type);
const show = (events: TimelineEvent[]) => events.map((e) => `${e.type}: ${e.message}`).join('\n');

describe('escalation timer', () => {
  let pipeline: Pipeline | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await pipeline?.close(5000);
    pipeline = undefined;
  });

  async function setup(queues = QUEUE_NAMES) {
    pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    await pipeline.startWorkers(FAST_WORKERS, queues);
    return pipeline;
  }

  /** Opens an incident and returns its escalation timer, once scheduled. */
  async function open(p: Pipeline, fingerprint?: string) {
    const alert = firingAlert({ alertname: 'Esc' }, fingerprint);
    const [o] = await p.intake(alert);
    if (o?.outcome !== 'opened') throw new Error(`expected an opened incident, got ${JSON.stringify(o)}`);
    await eventsUntil(p, o.incidentId, (e) => e.type === 'escalation.scheduled');
    const timer = await timerOf(p, o.incidentId);
    if (!timer) throw new Error(`no escalation timer for ${o.incidentId}`);
    return { id: o.incidentId, timer, alert };
  }
  const timerOf = (p: Pipeline, id: string): Promise<Job | undefined> =>
    p.deps.queues.byName.notifications.getJob(jobIds.escalate(id));
  const escalationPages = async (p: Pipeline, id: string) =>
    (
      await p.deps.queues.byName.notifications.getJobs([
        'waiting',
        'active',
        'delayed',
        'completed',
        'failed',
      ])
    )
      .filter((j) => j.name === 'notify' && j.data.incidentId === id && j.data.kind === 'escalation')
      .map((j) => j.data.channel as string);

  it('not acknowledged: when the delay is up it fires, flags the incident and pages the secondary channel', async () => {
    const p = await setup();
    const { id, timer } = await open(p);
    expect(await timer.getState()).toBe('delayed');
    expect(timer.delay).toBe(15 * 60_000);
    expect(await escalationPages(p, id), 'nothing pages before the timer is due').toEqual([]);

    await timer.changeDelay(0); // "15 minutes later"
    const events = await eventsUntil(p, id, (e) => e.type === 'escalation.fired');
    expect(events.find((e) => e.type === 'escalation.fired')?.data).toEqual({
      channel: 'pagerduty:oncall',
      channels: ['pagerduty:oncall'],
      reason: 'not acknowledged within 15 min',
    });
    expect((await p.deps.store.get(id))?.escalated).toBe(true);
    const done = await until(
      'timer finished',
      () => timerOf(p, id),
      (j) => !!j?.finishedOn,
    );
    expect(done?.returnvalue).toEqual({ escalated: true });
    expect(await escalationPages(p, id), 'one page, to the secondary channel').toEqual(['pagerduty:oncall']);
  });

  const stoppers = {
    'acknowledged by a responder': {
      stop: (p: Pipeline, id: string) => acknowledge(p.deps, id, 'alice').then(() => undefined),
      reason: /^Escalation cancelled: acknowledged by alice$/,
    },
    'resolved by a responder': {
      stop: (p: Pipeline, id: string) => resolveIncident(p.deps, id, 'bob', 'fixed'),
      reason: /^Escalation cancelled: the incident was resolved$/,
    },
    'resolved at the source (Alertmanager)': {
      stop: async (p: Pipeline, _id: string, alert: ReturnType<typeof firingAlert>) => {
        await p.intake({ ...alert, status: 'resolved' });
      },
      reason: /^Escalation cancelled: .*alert.* resolved$/,
    },
  };
  for (const [how, { stop, reason }] of Object.entries(stoppers))
    it(`${how} in time: the timer is removed, its cancellation recorded, and nothing fires`, async () => {
      const p = await setup();
      const { id, alert } = await open(p, `fp-${how.length}`);
      await stop(p, id, alert);
      const events = await eventsUntil(p, id, (e) => e.type === 'escalation.cancelled');
      expect(events.find((e) => e.type === 'escalation.cancelled')?.message).toMatch(reason);
      expect(await timerOf(p, id), 'the delayed job is gone, so it can never fire').toBeUndefined();
      expect((await p.deps.store.get(id))?.escalated).toBe(false);
      expect(await escalationPages(p, id)).toEqual([]);
      expect(types(await p.deps.store.timeline(id))).not.toContain('escalation.fired');
    });

  it('a timer due at the moment of an ack: whichever way the race goes, no escalation follows the ack', async () => {
    const p = await setup();
    for (let round = 0; round < 5; round++) {
      const { id, timer } = await open(p);
      await Promise.all([timer.promote(), acknowledge(p.deps, id, 'alice')]);
      const left = await until(
        'timer removed or finished',
        () => timerOf(p, id),
        (j) => !j || !!j.finishedOn,
      );
      const timeline = await p.deps.store.timeline(id);
      const seen = types(timeline);
      const acked = seen.indexOf('incident.acknowledged');
      const fired = seen.indexOf('escalation.fired');
      expect(acked, show(timeline)).toBeGreaterThanOrEqual(0);
      if (fired >= 0)
        expect(fired, `round ${round}: fired after the ack\n${show(timeline)}`).toBeLessThan(acked);
      // Exactly one ending: removed before it ran, or it ran and saw the ack (or escalated before it).
      if (left)
        expect(left.returnvalue, show(timeline)).toEqual(
          fired >= 0 ? { escalated: true } : { skipped: 'acknowledged' },
        );
      else expect(seen, show(timeline)).toContain('escalation.cancelled');
    }
  });

  // The timer reads the incident, then escalates: an ack landing between the two must win (the
  // store sets `escalated` only while nobody has acknowledged or resolved it, in one step).
  it('an ack landing between the timer reading the incident and escalating it stops the escalation', async () => {
    const p = await setup(QUEUE_NAMES.filter((q) => q !== QUEUES.notifications));
    const { id, timer } = await open(p);
    let acked = false;
    const racing = {
      ...p.deps,
      store: {
        ...p.deps.store,
        async get(incidentId: string) {
          const read = await p.deps.store.get(incidentId);
          if (!acked) {
            acked = true;
            await acknowledge(p.deps, incidentId, 'alice');
          }
          return read;
        },
      },
    };
    const connection = createRedis(redisUrl, 'worker');
    // Only the timer reads through the racing store; notifications read the plain one.
    const timerRun = createNotificationProcessor(racing);
    const plainRun = createNotificationProcessor(p.deps);
    const processor = (job: Job, token?: string, signal?: AbortSignal) =>
      job.name === 'escalate' ? timerRun(job, token, signal) : plainRun(job, token, signal);
    const worker = new Worker(QUEUES.notifications, processor, {
      connection,
      prefix: p.deps.queues.prefix,
    });
    cleanups.push(async () => {
      await worker.close();
      await connection.quit();
    });
    await timer.promote();
    const done = await until(
      'timer finished',
      () => timerOf(p, id),
      (j) => !!j?.finishedOn,
    );
    const timeline = await p.deps.store.timeline(id);
    expect(acked).toBe(true);
    expect(done?.returnvalue, show(timeline)).toEqual({ skipped: 'acknowledged or resolved meanwhile' });
    expect(types(timeline), show(timeline)).not.toContain('escalation.fired');
  });
});
