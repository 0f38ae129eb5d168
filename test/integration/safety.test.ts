import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createActionRegistry } from '../../src/adapters/actions/registry.ts';
import { type RunScriptConfig, runScriptAction } from '../../src/adapters/actions/run-script.ts';
import type { ActionExecutor } from '../../src/adapters/types.ts';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { AdapterError } from '../../src/errors.ts';
import { setRemediationsPaused } from '../../src/incidents/operations.ts';
import type { Pipeline, PipelineOptions } from '../../src/process/pipeline.ts';
import { jobIds, QUEUE_NAMES, QUEUES } from '../../src/queues/catalog.ts';
import type { WorkerSettings } from '../../src/workers/index.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { until } from '../helpers/poll.ts';

const redisUrl = inject('redisUrl');

/**
 * The action every test runbook runs: a real child process that appends `{who, t, at}` lines
 * (t = start, end) to the marker file around a sleep, so that runs can be counted and overlaps
 * measured from what the processes themselves saw.
 */
const ACTION = [
  "const fs = require('fs');",
  'const [file, who, ms] = process.argv.slice(1);',
  "const log = (t) => fs.appendFileSync(file, JSON.stringify({ who, t, at: Date.now() }) + '\\n');",
  "log('start');",
  "setTimeout(() => log('end'), Number(ms));",
].join(' ');

interface Spec {
  id: string;
  target?: string;
  sleepMs?: number;
  maxPerHour?: number;
  cooldownMinutes?: number;
  dryRun?: boolean;
  idempotent?: boolean;
}

/** A runbook (JSON is YAML) whose one automated step `fix` runs ACTION for the alert's instance. */
function runbook(marker: string, s: Spec): string {
  return JSON.stringify({
    id: s.id,
    name: `Runbook ${s.id}`,
    severity: 'P2',
    service: `${s.id}-service`,
    ...(s.dryRun ? { dryRun: true } : {}),
    triggers: [{ type: 'alert', alertName: s.id }],
    diagnostics: [],
    decisionTree: [{ otherwise: true, then: ['fix'] }],
    remediations: [
      {
        id: 'fix',
        name: `Fix ${s.id}`,
        type: 'automated',
        ...(s.target ? { target: s.target } : {}),
        maxPerHour: s.maxPerHour ?? 100,
        cooldownMinutes: s.cooldownMinutes ?? 0,
        action: {
          type: 'run_script',
          config: {
            command: ['node', '-e', ACTION, marker, '{{ alert.labels.instance }}', String(s.sleepMs ?? 0)],
            idempotent: s.idempotent ?? false,
          },
        },
      },
    ],
    escalation: { primary: '#ops', secondary: 'pagerduty:oncall', escalateAfterMinutes: 30 },
  });
}

interface Mark {
  who: string;
  t: 'start' | 'end';
  at: number;
}

function marks(marker: string): Mark[] {
  try {
    return readFileSync(marker, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Mark);
  } catch {
    return [];
  }
}

const started = (marker: string) =>
  marks(marker)
    .filter((m) => m.t === 'start')
    .map((m) => m.who)
    .sort();

/** The most actions that were running at one instant, from their own start/end records. */
function maxOverlap(marker: string): number {
  const points = marks(marker).map((m) => ({ at: m.at, d: m.t === 'start' ? 1 : -1 }));
  // At equal times an end comes first: touching intervals do not overlap.
  points.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const p of points) {
    now += p.d;
    max = Math.max(max, now);
  }
  return max;
}

const OUTCOMES = new Set([
  'remediation.succeeded',
  'remediation.failed',
  'remediation.dry_run',
  'remediation.outcome_unknown',
]);
/** Until the step has an outcome; a skip counts once its escalation is recorded. */
const settled = (e: TimelineEvent, seen: TimelineEvent[]) =>
  (OUTCOMES.has(e.type) && !(e.type === 'remediation.failed' && e.data?.attemptsLeft !== undefined)) ||
  (e.type === 'escalation.fired' && seen.some((s) => s.type === 'remediation.skipped'));

const UPSTREAM = QUEUE_NAMES.filter((q) => q !== QUEUES.remediations);

describe('remediation safety under load', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close(5000);
    pipeline = undefined;
  });

  async function setup(specs: Spec[], extra: Partial<PipelineOptions> = {}) {
    const marker = join(mkdtempSync(join(tmpdir(), 'fireline-safety-')), 'actions.log');
    pipeline = await testPipeline(
      redisUrl,
      specs.map((s) => runbook(marker, s)),
      extra,
    );
    return { p: pipeline, marker };
  }

  /** Opens one incident per [runbook, instance]. */
  async function open(p: Pipeline, alerts: [string, string][]): Promise<string[]> {
    return Promise.all(
      alerts.map(async ([alertname, instance]) => {
        const [o] = await p.intake(firingAlert({ alertname, instance }));
        if (o?.outcome !== 'opened') throw new Error(`expected an opened incident, got ${JSON.stringify(o)}`);
        return o.incidentId;
      }),
    );
  }

  /**
   * Every incident decided and its remediation job waiting, before any remediation worker runs:
   * a worker then sees all of them at once, so a broken limit shows as too many at once.
   */
  async function staged(p: Pipeline, alerts: [string, string][]) {
    await p.startWorkers(FAST_WORKERS, UPSTREAM);
    const ids = await open(p, alerts);
    await Promise.all(ids.map((id) => eventsUntil(p, id, (e) => e.type === 'remediation.queued')));
    return ids;
  }

  const stepOf = async (p: Pipeline, id: string) =>
    (await p.deps.store.get(id))?.plan.find((s) => s.stepId === 'fix');
  const jobOf = (p: Pipeline, id: string) =>
    p.deps.queues.byName.remediations.getJob(jobIds.remediate(id, 'fix'));
  const finishedJobs = (p: Pipeline, ids: string[]) =>
    Promise.all(
      ids.map((id) =>
        until(
          `job of ${id} finished`,
          () => jobOf(p, id),
          (j) => !!j?.finishedOn,
        ),
      ),
    );

  it('global rate limit: 3 a minute lets 3 of 6 run; the rest wait queued (not failed) for the next window', async () => {
    const specs = Array.from({ length: 6 }, (_, i) => ({ id: `rate-${i}` }));
    const { p, marker } = await setup(specs);
    const ids = await staged(
      p,
      specs.map((s) => [s.id, `i-${s.id}`]),
    );
    const settings: WorkerSettings = {
      ...FAST_WORKERS,
      remediationRatePerMinute: 3,
      remediationConcurrency: 10,
    };
    await p.startWorkers(settings, [QUEUES.remediations]);
    const queue = p.deps.queues.byName.remediations;
    expect(await queue.getGlobalRateLimit()).toEqual({ max: 3, duration: 60_000 });

    const counts = await until(
      '3 completed remediations and none active',
      () => queue.getJobCounts('completed', 'active', 'waiting', 'delayed', 'failed'),
      (c) => (c.completed ?? 0) >= 3 && c.active === 0,
    );
    expect(counts, 'a worker with room for 10 took only the 3 the limit allows').toEqual({
      completed: 3,
      active: 0,
      waiting: 3,
      delayed: 0,
      failed: 0,
    });
    expect(started(marker)).toHaveLength(3);
    const ttl = await queue.getRateLimitTtl(3);
    expect(ttl, 'the queue is limited for the rest of the one-minute window').toBeGreaterThan(30_000);
    const states = await Promise.all(ids.map(async (id) => (await stepOf(p, id))?.state));
    expect(states.filter((s) => s === 'succeeded')).toHaveLength(3);
    expect(states.filter((s) => s === 'queued')).toHaveLength(3);

    // The window ends (its key expires; we remove it rather than wait a minute): the 3 run.
    await queue.removeRateLimitKey();
    await p.startWorkers(settings, [QUEUES.remediations]);
    await Promise.all(ids.map((id) => eventsUntil(p, id, (e) => e.type === 'remediation.succeeded')));
    expect(started(marker)).toEqual(specs.map((s) => `i-${s.id}`).sort());
  });

  it('global concurrency: two workers with room for 2 each run at most 2 actions at once across both', async () => {
    const specs = Array.from({ length: 6 }, (_, i) => ({ id: `conc-${i}`, sleepMs: 700 }));
    const { p, marker } = await setup(specs);
    const ids = await staged(
      p,
      specs.map((s) => [s.id, `i-${s.id}`]),
    );
    const settings: WorkerSettings = { ...FAST_WORKERS, remediationConcurrency: 2 };
    // Local concurrency 2 + 2: only the Redis-held global limit keeps the total at 2.
    await p.startWorkers(settings, [QUEUES.remediations]);
    await p.startWorkers(settings, [QUEUES.remediations]);
    await Promise.all(ids.map((id) => eventsUntil(p, id, (e) => e.type === 'remediation.succeeded')));
    expect(started(marker)).toHaveLength(6);
    expect(maxOverlap(marker), `overlap of ${JSON.stringify(marks(marker))}`).toBe(2);
  });

  it('per-target lock: 4 incidents on one target never overlap; all run, deferred rather than failed', async () => {
    const { p, marker } = await setup([{ id: 'locked', target: 'payments-db', sleepMs: 300 }]);
    const ids = await staged(p, [
      ['locked', 'a'],
      ['locked', 'b'],
      ['locked', 'c'],
      ['locked', 'd'],
    ]);
    await p.startWorkers({ ...FAST_WORKERS, remediationConcurrency: 4 }, [QUEUES.remediations]);
    const timelines = await Promise.all(
      ids.map((id) => eventsUntil(p, id, (e) => e.type === 'remediation.succeeded')),
    );
    expect(started(marker)).toEqual(['a', 'b', 'c', 'd']);
    expect(maxOverlap(marker), `overlap of ${JSON.stringify(marks(marker))}`).toBe(1);
    expect(timelines.flat().filter((e) => e.type === 'remediation.failed')).toEqual([]);
    const jobs = await finishedJobs(p, ids);
    expect(
      jobs.map((j) => j?.attemptsMade),
      'one attempt each: a deferral spends none',
    ).toEqual([1, 1, 1, 1]);
    const activations = jobs.reduce((n, j) => n + (j?.attemptsStarted ?? 0), 0);
    expect(
      activations,
      'jobs were taken together and deferred by the lock, not merely run in turn',
    ).toBeGreaterThan(4);
  });

  it('per-target lock under a rate limit: a job waiting for a busy target is woken, it does not poll away the limit', async () => {
    const { p, marker } = await setup([{ id: 'starve', target: 'orders-db', sleepMs: 1500 }]);
    const ids = await staged(p, [
      ['starve', 'a'],
      ['starve', 'b'],
    ]);
    const settings = { ...FAST_WORKERS, remediationRatePerMinute: 3, remediationConcurrency: 4 };
    await p.startWorkers(settings, [QUEUES.remediations]);
    // Polling the lock every 500 ms spent the 3 starts of the minute in a second: b then waited ~60 s.
    await Promise.all(ids.map((id) => eventsUntil(p, id, (e) => e.type === 'remediation.succeeded', 10_000)));
    expect(started(marker)).toEqual(['a', 'b']);
    expect(maxOverlap(marker)).toBe(1);
    const jobs = await finishedJobs(p, ids);
    expect(
      jobs.map((j) => j?.attemptsStarted).sort(),
      'one taken at once, the other once more when woken',
    ).toEqual([1, 2]);
  });

  it('hourly budget: with maxPerHour 2, 2 of 4 run; the others are skipped naming the budget, and escalate', async () => {
    const { p, marker } = await setup([{ id: 'budget', maxPerHour: 2 }]);
    const ids = await staged(p, [
      ['budget', 'a'],
      ['budget', 'b'],
      ['budget', 'c'],
      ['budget', 'd'],
    ]);
    await p.startWorkers({ ...FAST_WORKERS, remediationConcurrency: 4 }, [QUEUES.remediations]);
    const timelines = await Promise.all(ids.map((id) => eventsUntil(p, id, settled)));
    expect(started(marker)).toHaveLength(2);
    const incidents = await Promise.all(ids.map((id) => p.deps.store.get(id)));
    const ran = incidents.filter((i) => i?.plan[0]?.state === 'succeeded');
    const skipped = incidents.filter((i) => i?.plan[0]?.state === 'skipped');
    expect(ran.map((i) => i?.escalated)).toEqual([false, false]);
    expect(skipped.map((i) => i?.escalated)).toEqual([true, true]);
    for (const i of skipped)
      expect(i?.plan[0]?.detail).toBe('hourly budget of 2 run_script on budget-service is spent');
    for (const events of timelines.filter((t) => t.some((e) => e.type === 'remediation.skipped'))) {
      expect(events.find((e) => e.type === 'remediation.skipped')?.data).toMatchObject({ reason: 'budget' });
      expect(events.find((e) => e.type === 'escalation.fired')?.data).toMatchObject({
        channel: 'pagerduty:oncall',
      });
    }
    expect(timelines.filter((t) => t.some((e) => e.type === 'remediation.skipped'))).toHaveLength(2);
  });

  it('at-most-once: the same job delivered again after it ran does not run the action again', async () => {
    const { p, marker } = await setup([{ id: 'once' }]);
    await p.startWorkers(FAST_WORKERS);
    const [id] = await open(p, [['once', 'a']]);
    await eventsUntil(p, id!, (e) => e.type === 'remediation.succeeded');
    const first = await until(
      'first delivery done',
      () => jobOf(p, id!),
      (j) => !!j?.finishedOn,
    );
    await first!.remove();
    // What a re-run of the decision after a crash does: add the job again under its id.
    await p.deps.queues.add(
      'remediate',
      { incidentId: id!, runbookId: 'once', stepId: 'fix' },
      { jobId: jobIds.remediate(id!, 'fix') },
    );
    const again = await until(
      'second delivery done',
      () => jobOf(p, id!),
      (j) => !!j?.finishedOn,
    );
    expect(again?.returnvalue).toEqual({ skipped: 'succeeded' });
    expect(started(marker)).toEqual(['a']);
    const timeline = await p.deps.store.timeline(id!);
    expect(timeline.filter((e) => e.type === 'remediation.started')).toHaveLength(1);
  });

  it('at-most-once: a job that comes back with its marker at `started` records outcome unknown, runs nothing, escalates', async () => {
    const { p, marker } = await setup([{ id: 'died' }]);
    const [id] = await staged(p, [['died', 'a']]);
    // A worker that died mid-action left exactly this behind.
    expect(await p.deps.safety.markStarted(id!, 'fix')).toBeNull();
    await p.startWorkers(FAST_WORKERS, [QUEUES.remediations]);
    const events = await eventsUntil(p, id!, (e) => e.type === 'escalation.fired');
    expect(events.map((e) => e.type)).toContain('remediation.outcome_unknown');
    expect(events.map((e) => e.type)).not.toContain('remediation.started');
    expect(started(marker)).toEqual([]);
    const incident = await p.deps.store.get(id!);
    expect(incident?.plan[0]?.state).toBe('outcome_unknown');
    expect(incident?.escalated).toBe(true);
  });

  for (const mode of ['global', 'runbook'] as const)
    it(`dry run (${mode}): nothing runs; the step is dry_run and the timeline shows the rendered command`, async () => {
      const { p, marker } = await setup(
        [{ id: 'dry', dryRun: mode === 'runbook' }],
        mode === 'global' ? { dryRun: true } : {},
      );
      await p.startWorkers(FAST_WORKERS);
      const [id] = await open(p, [['dry', 'db-7']]);
      const events = await eventsUntil(p, id!, (e) => e.type === 'remediation.dry_run');
      expect(events.find((e) => e.type === 'remediation.dry_run')?.data?.command).toEqual([
        'node',
        '-e',
        ACTION,
        marker,
        'db-7',
        '0',
      ]);
      expect(marks(marker)).toEqual([]);
      expect((await stepOf(p, id!))?.state).toBe('dry_run');
    });

  it('a dry run spends neither the hourly budget nor the cooldown of real actions on its target', async () => {
    const shared = { target: 'shared-db', maxPerHour: 1, cooldownMinutes: 10 };
    const { p, marker } = await setup([
      { id: 'rehearsal', dryRun: true, ...shared },
      { id: 'live', ...shared },
    ]);
    await p.startWorkers(FAST_WORKERS);
    const [dry] = await open(p, [['rehearsal', 'r']]);
    await eventsUntil(p, dry!, (e) => e.type === 'remediation.dry_run');
    const [live] = await open(p, [['live', 'l']]);
    const events = await eventsUntil(p, live!, settled);
    const outcome = events.find((e) => OUTCOMES.has(e.type) || e.type === 'remediation.skipped');
    expect(outcome?.type, events.map((e) => `${e.type}: ${e.message}`).join('\n')).toBe(
      'remediation.succeeded',
    );
    expect(started(marker)).toEqual(['l']);
  });

  it("cooldown: a retry of an idempotent action is not blocked by its own cooldown; another incident's run is", async () => {
    let calls = 0;
    const flakyOnce: ActionExecutor<RunScriptConfig> = {
      ...runScriptAction,
      async run(config, ctx) {
        if (++calls === 1) throw new AdapterError('run_script', 'connection reset', { retryable: true });
        return runScriptAction.run(config, ctx);
      },
    };
    const { p, marker } = await setup([{ id: 'cool', idempotent: true, cooldownMinutes: 10 }], {
      adapters: { actions: createActionRegistry([flakyOnce]) },
    });
    await p.startWorkers(FAST_WORKERS);
    const [first] = await open(p, [['cool', 'a']]);
    const events = await eventsUntil(p, first!, settled);
    expect(
      events.filter((e) => e.type.startsWith('remediation.')).map((e) => e.type),
      events.map((e) => `${e.type}: ${e.message}`).join('\n'),
    ).toEqual([
      'remediation.queued',
      'remediation.started',
      'remediation.failed',
      'remediation.started',
      'remediation.succeeded',
    ]);
    const [second] = await open(p, [['cool', 'b']]);
    await eventsUntil(p, second!, settled);
    expect((await stepOf(p, second!))?.detail).toMatch(
      /^cooling down \(ran on cool-service less than 10 min ago\)$/,
    );
    expect(started(marker)).toEqual(['a']);
  });

  it('kill switch: paused, a new incident is decided but its step stays queued; resumed, it runs', async () => {
    const { p, marker } = await setup([{ id: 'paused' }]);
    await p.startWorkers(FAST_WORKERS);
    expect(await setRemediationsPaused(p.deps, true)).toEqual({ paused: true });
    const [id] = await open(p, [['paused', 'a']]);
    await eventsUntil(p, id!, (e) => e.type === 'remediation.queued');
    // The update notification is queued after the remediation; once an idle worker has taken that
    // one, an idle remediation worker would have taken ours too, were the queue not paused.
    const update = jobIds.notify(id!, 'update', '#ops');
    await until(
      'the update notification handled',
      () => p.deps.queues.byName.notifications.getJob(update),
      (j) => !!j?.finishedOn,
    );
    expect(await (await jobOf(p, id!))?.getState()).toBe('waiting');
    expect((await stepOf(p, id!))?.state).toBe('queued');
    expect(marks(marker)).toEqual([]);

    expect(await setRemediationsPaused(p.deps, false)).toEqual({ paused: false });
    await eventsUntil(p, id!, (e) => e.type === 'remediation.succeeded');
    expect(started(marker)).toEqual(['a']);
  });
});
