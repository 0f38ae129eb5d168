import type { Job } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { startDiagnosis } from '../../src/incidents/diagnosis.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { JOBS, jobIds, QUEUE_NAMES, QUEUES, type QueueName } from '../../src/queues/catalog.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, httpServer, testPipeline } from '../helpers/pipeline.ts';
import { until } from '../helpers/poll.ts';

const redisUrl = inject('redisUrl');

/**
 * Completed jobs are kept only briefly (issue 13: they copy what the incident record holds), so
 * nothing may depend on a completed job still existing: a trigger run again after its flow and
 * its escalation timer completed and were removed must not start either a second time.
 */

/** Completed jobs of every queue but `remediations`: an hour, at most 100 (src/queues/catalog.ts). */
const BRIEF = { age: 3600, count: 100 };
/** Completed remediations, and failed jobs everywhere, keep the retention they had. */
const AUDITED = { age: 24 * 3600, count: 1000 };
const FAILED = { age: 7 * 24 * 3600, count: 5000 };

/** Two HTTP checks against a local server, then a dry-run action (a remediate job that runs nothing). */
function runbook(healthUrl: string) {
  return JSON.stringify({
    id: 'retention',
    name: 'Job retention',
    severity: 'P2',
    service: 'retention-service',
    dryRun: true,
    triggers: [{ type: 'alert', alertName: 'Retention' }],
    diagnostics: ['first', 'second'].map((id) => ({
      id,
      name: `Check ${id}`,
      type: 'http_check',
      timeout: 10,
      config: { urls: [{ name: id, url: `${healthUrl}/${id}` }] },
      interpret: { critical: '!all_healthy', healthy: 'all_healthy' },
    })),
    decisionTree: [{ otherwise: true, then: ['fix'] }],
    remediations: [
      {
        id: 'fix',
        name: 'Fix',
        type: 'automated',
        maxPerHour: 10_000,
        action: { type: 'run_script', config: { command: ['node', '-e', '0'], idempotent: true } },
      },
    ],
    escalation: { primary: '#ops', secondary: 'pagerduty:oncall', escalateAfterMinutes: 15 },
  });
}

const count = (events: TimelineEvent[], type: TimelineEvent['type']) =>
  events.filter((e) => e.type === type).length;

describe('job retention: completed jobs kept briefly, and nothing depends on them', () => {
  let pipeline: Pipeline | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await pipeline?.close(5000);
    pipeline = undefined;
    for (const c of cleanups.splice(0)) await c();
  });

  async function setup() {
    const health = await httpServer((_req, res) => res.end('ok'));
    cleanups.push(health.close);
    pipeline = await testPipeline(redisUrl, [runbook(health.url)]);
    await pipeline.startWorkers(FAST_WORKERS);
    return pipeline;
  }

  async function open(p: Pipeline): Promise<string> {
    const [o] = await p.intake(firingAlert({ alertname: 'Retention' }));
    if (o?.outcome !== 'opened') throw new Error(`expected an opened incident, got ${JSON.stringify(o)}`);
    return o.incidentId;
  }

  const finished = (what: string, read: () => Promise<Job | undefined>) =>
    until(what, read, (j) => !!j?.finishedOn, 15_000);

  /** Every job of one incident, by its catalog name, as BullMQ holds it now (its state or null). */
  async function jobsOf(p: Pipeline, id: string) {
    const q = p.deps.queues.byName;
    const state = async (job: Job | undefined) => (job ? await job.getState() : null);
    return {
      trigger: await state(await q.triggers.getJob(jobIds.trigger(id))),
      evaluate: await state(await q.decisions.getJob(jobIds.evaluate(id))),
      diagnose: await Promise.all(
        ['first', 'second'].map(async (s) => state(await q.diagnostics.getJob(jobIds.diagnose(id, s)))),
      ),
      escalate: await state(await q.notifications.getJob(jobIds.escalate(id))),
      opened: await state(await q.notifications.getJob(jobIds.notify(id, 'opened', '#ops'))),
    };
  }

  /** Removes a finished job as retention does: the job alone (a flow parent without its children). */
  async function removeAsRetention(queue: QueueName, jobId: string) {
    const q = pipeline!.deps.queues.byName[queue];
    expect(await q.remove(jobId, { removeChildren: false }), `remove ${queue}/${jobId}`).toBe(1);
  }

  /** Runs the incident's trigger job again (a stalled or retried trigger), returning what it did. */
  async function rerunTrigger(p: Pipeline, id: string) {
    await removeAsRetention(QUEUES.triggers, jobIds.trigger(id));
    await p.deps.queues.add('trigger', { incidentId: id }, { jobId: jobIds.trigger(id) });
    const job = await finished('the trigger ran again', () =>
      p.deps.queues.byName.triggers.getJob(jobIds.trigger(id)),
    );
    return job?.returnvalue as unknown;
  }

  it('(a) every job is added with its catalog retention, and completed jobs are trimmed to 100 per queue (remediations: 1,000)', async () => {
    const p = await setup();
    const incidents = 120;
    const ids: string[] = [];
    for (let i = 0; i < incidents; i++) ids.push(await open(p));
    const q = p.deps.queues.byName;
    // Every incident acted (its dry-run remediation completed) and nothing is left to run.
    await until(
      'every incident finished its work',
      async () => {
        const pending = await Promise.all(
          QUEUE_NAMES.map((name) =>
            q[name].getJobCounts('waiting', 'active', 'prioritized', 'waiting-children'),
          ),
        );
        const remediating = await q.remediations.getJobCounts('delayed', 'completed');
        return { pending, remediating };
      },
      ({ pending, remediating }) =>
        remediating.completed === incidents &&
        remediating.delayed === 0 &&
        pending.every((c) => Object.values(c).every((n) => n === 0)),
      60_000,
    );

    const completed = Object.fromEntries(
      await Promise.all(
        QUEUE_NAMES.map(async (name) => [name, (await q[name].getJobCounts('completed')).completed]),
      ),
    );
    expect(completed, 'completed jobs kept per queue after 120 incidents').toEqual({
      triggers: 100,
      diagnostics: 100,
      decisions: 100,
      notifications: 100,
      remediations: incidents,
    });

    // The newest incident's jobs are still there, with their policy; the oldest's are gone.
    const newest = ids.at(-1)!;
    const kept = {
      trigger: await q.triggers.getJob(jobIds.trigger(newest)),
      diagnose: await q.diagnostics.getJob(jobIds.diagnose(newest, 'first')),
      evaluate: await q.decisions.getJob(jobIds.evaluate(newest)),
      notify: await q.notifications.getJob(jobIds.notify(newest, 'update', '#ops')),
      escalate: await q.notifications.getJob(jobIds.escalate(newest)),
      remediate: await q.remediations.getJob(jobIds.remediate(newest, 'fix')),
    };
    const retention = Object.fromEntries(
      Object.entries(kept).map(([name, job]) => [
        name,
        job ? { removeOnComplete: job.opts.removeOnComplete, removeOnFail: job.opts.removeOnFail } : null,
      ]),
    );
    const brief = { removeOnComplete: BRIEF, removeOnFail: FAILED };
    expect(retention, 'retention of the newest incident’s jobs').toEqual({
      trigger: brief,
      diagnose: brief,
      evaluate: brief,
      notify: brief,
      escalate: brief,
      remediate: { removeOnComplete: AUDITED, removeOnFail: FAILED },
    });
    expect(JOBS.remediate.policy).toMatchObject({ removeOnComplete: AUDITED, removeOnFail: FAILED });
    expect(JOBS.threshold.policy).toMatchObject({
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    });

    const oldest = ids[0]!;
    expect(await jobsOf(p, oldest), 'the oldest incident’s completed jobs are gone').toEqual({
      trigger: null,
      evaluate: null,
      diagnose: [null, null],
      escalate: 'delayed', // not finished: its timer is still pending
      opened: null,
    });
    expect(
      await q.remediations.getJob(jobIds.remediate(oldest, 'fix')),
      'its remediation is kept',
    ).toBeDefined();

    // The incident record holds what the removed jobs carried: every verdict a child returned
    // (a child removed before its parent ran still handed it its value), the decision, the plan.
    const records = await Promise.all(ids.map((id) => p.deps.store.get(id)));
    const summary = records.map((r) => ({
      verdicts: Object.values(r?.verdicts ?? {}).map((v) => v.status),
      remediations: r?.decision?.remediations,
      step: r?.plan[0]?.state,
    }));
    expect(new Set(summary.map((s) => JSON.stringify(s)))).toEqual(
      new Set([JSON.stringify({ verdicts: ['healthy', 'healthy'], remediations: ['fix'], step: 'dry_run' })]),
    );
  });

  it('(b) a trigger run again after the flow completed and was removed adds no second flow', async () => {
    const p = await setup();
    const id = await open(p);
    await eventsUntil(p, id, (e) => e.type === 'decision.made');
    const q = p.deps.queues.byName;
    await finished('the flow parent completed', () => q.decisions.getJob(jobIds.evaluate(id)));
    // Retention removes the parent and its children (each from its own queue).
    await removeAsRetention(QUEUES.decisions, jobIds.evaluate(id));
    for (const step of ['first', 'second'])
      await removeAsRetention(QUEUES.diagnostics, jobIds.diagnose(id, step));

    const result = await rerunTrigger(p, id);
    // Had a flow been added, its parent would be in the queue now; let it finish before looking
    // at the timeline, so that a second diagnosis would show there too.
    await until(
      'no flow parent left running',
      () => q.decisions.getJob(jobIds.evaluate(id)),
      (j) => !j || !!j.finishedOn,
      15_000,
    );
    const timeline = await p.deps.store.timeline(id);
    const { evaluate, diagnose } = await jobsOf(p, id);
    expect(
      {
        result,
        evaluate,
        diagnose,
        started: count(timeline, 'diagnostic.started'),
        finished: count(timeline, 'diagnostic.finished'),
        decided: count(timeline, 'decision.made'),
      },
      'what the re-run trigger did',
    ).toEqual({
      result: { flow: 'over' },
      evaluate: null,
      diagnose: [null, null],
      started: 2,
      finished: 2,
      decided: 1,
    });
  });

  it('(b) a re-run that crashed before the flow, the timer and the notification adds all three', async () => {
    const health = await httpServer((_req, res) => res.end('ok'));
    cleanups.push(health.close);
    pipeline = await testPipeline(redisUrl, [runbook(health.url)]);
    const p = pipeline;
    // No trigger worker: the first run "crashed" after moving the incident to `diagnosing`.
    await p.startWorkers(FAST_WORKERS, [QUEUES.diagnostics, QUEUES.decisions, QUEUES.notifications]);
    const id = await open(p);
    await p.deps.store.setStatus(id, ['triggered'], 'diagnosing', {
      type: 'incident.status',
      actor: 'system',
      message: 'Running 2 diagnostics in parallel',
    });
    expect(await startDiagnosis(p.deps, id)).toEqual({ flow: 'added' });
    await eventsUntil(p, id, (e) => e.type === 'decision.made');
    const { escalate, opened } = await jobsOf(p, id);
    expect({ escalate, opened: opened !== null }).toEqual({ escalate: 'delayed', opened: true });
  });

  it('(b) a re-run after the flow, before the timer and the notification: those are added, the flow is not', async () => {
    const p = await setup();
    const id = await open(p);
    await eventsUntil(p, id, (e) => e.type === 'decision.made');
    const q = p.deps.queues.byName;
    await finished('the flow parent completed', () => q.decisions.getJob(jobIds.evaluate(id)));
    await finished('the opened notification was sent', () =>
      q.notifications.getJob(jobIds.notify(id, 'opened', '#ops')),
    );
    await removeAsRetention(QUEUES.decisions, jobIds.evaluate(id));
    // As if the first run never got to them: no timer (and the incident not escalated), no notification.
    await removeAsRetention(QUEUES.notifications, jobIds.escalate(id));
    await removeAsRetention(QUEUES.notifications, jobIds.notify(id, 'opened', '#ops'));

    expect(await rerunTrigger(p, id)).toEqual({ flow: 'over' });
    const { evaluate, escalate, opened } = await jobsOf(p, id);
    expect({ evaluate, escalate, opened: opened !== null }).toEqual({
      evaluate: null,
      escalate: 'delayed',
      opened: true,
    });
  });

  it('(c) a trigger run again after the escalation fired and its job was removed arms no second timer', async () => {
    const p = await setup();
    const id = await open(p);
    await eventsUntil(p, id, (e) => e.type === 'decision.made');
    const q = p.deps.queues.byName;
    await finished('the flow parent completed', () => q.decisions.getJob(jobIds.evaluate(id)));
    const timer = await q.notifications.getJob(jobIds.escalate(id));
    await timer!.changeDelay(0); // "15 minutes later"
    await eventsUntil(p, id, (e) => e.type === 'escalation.fired');
    const fired = await finished('the timer completed', () => q.notifications.getJob(jobIds.escalate(id)));
    expect(fired?.returnvalue).toEqual({ escalated: true });
    await removeAsRetention(QUEUES.notifications, jobIds.escalate(id));

    const result = await rerunTrigger(p, id);
    const timeline = await p.deps.store.timeline(id);
    const { escalate } = await jobsOf(p, id);
    expect(
      {
        result,
        timer: escalate,
        scheduled: count(timeline, 'escalation.scheduled'),
        fired: count(timeline, 'escalation.fired'),
      },
      'what the re-run trigger did',
    ).toEqual({ result: { flow: 'existed' }, timer: null, scheduled: 1, fired: 1 });
  });
});
