import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { FirelineProcess } from '../../scripts/harness/fireline-process.ts';
import { freePort } from '../../scripts/harness/redis-server.ts';
import type { Alert, TimelineEvent } from '../../src/engine/types.ts';
import type { PipelineDeps } from '../../src/incidents/deps.ts';
import { approveStep } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { jobIds, QUEUES } from '../../src/queues/catalog.ts';
import { createRedis } from '../../src/redis/client.ts';
import { createRemediationProcessor } from '../../src/workers/remediation.ts';
import { killAll, type Scratch, scratchDir, startRole } from '../chaos/helpers.ts';
import { latencyGroup, postJson } from '../helpers/alert-webhooks.ts';
import { call } from '../helpers/api.ts';
import { startApi } from '../helpers/api-server.ts';
import { compileYaml, eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { until } from '../helpers/poll.ts';

const redisUrl = inject('redisUrl');

interface Opts {
  approval?: boolean;
  dryRun?: boolean;
  runWhenResolved?: boolean;
  /** What the action writes to the marker file: tells one rendering from another. */
  word?: string;
}

/**
 * One automated step `fix` (no diagnostics, the `otherwise` rule) whose real child process appends
 * `word` and the alert's instance to `marker`: what ran, and whether anything ran, is in the file.
 */
function runbook(marker: string, o: Opts = {}): string {
  return JSON.stringify({
    id: 'trust',
    name: 'Trust',
    severity: 'P2',
    service: 'trust-service',
    ...(o.dryRun ? { dryRun: true } : {}),
    triggers: [{ type: 'alert', alertName: 'PaymentServiceHighLatency' }],
    diagnostics: [],
    decisionTree: [{ otherwise: true, then: ['fix'] }],
    remediations: [
      {
        id: 'fix',
        name: 'Fix it',
        type: 'automated',
        maxPerHour: 100,
        ...(o.approval ? { requiresApproval: true } : {}),
        ...(o.runWhenResolved ? { runWhenResolved: true } : {}),
        action: {
          type: 'run_script',
          config: {
            command: [
              'sh',
              '-c',
              'printf "%s %s\\n" "$1" "$2" >> "$3"',
              'sh',
              o.word ?? 'old',
              '{{ alert.labels.instance }}',
              marker,
            ],
          },
        },
      },
    ],
    escalation: { primary: '#ops', escalateAfterMinutes: 30 },
  });
}

const ran = (marker: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').trim().split('\n') : []);

function alert(status: Alert['status']): Alert {
  return { ...firingAlert({ alertname: 'PaymentServiceHighLatency', instance: 'a' }, 'fp-trust'), status };
}

const stepOf = async (p: Pipeline, id: string) => (await p.deps.store.get(id))?.plan[0];
const describeEvents = (events: TimelineEvent[]) => events.map((e) => `${e.type}: ${e.message}`).join('\n');
/** The last remediation event seen (events of other kinds may follow it in the same batch). */
const lastRemediation = (events: TimelineEvent[]) =>
  events.filter((e) => e.type.startsWith('remediation.')).at(-1);

describe('remediation you can trust', () => {
  let pipeline: Pipeline | undefined;
  let scratch: Scratch | undefined;
  const procs: FirelineProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await killAll(procs);
    await pipeline?.close(5000);
    pipeline = undefined;
    scratch?.remove();
    scratch = undefined;
  });

  /** An in-process pipeline on the trust runbook, with the kill switch on so steps wait in the queue. */
  async function paused(o: Opts = {}) {
    scratch = scratchDir('trust', () => ({}));
    const marker = join(scratch.dir, 'ran.log');
    pipeline = await testPipeline(redisUrl, [runbook(marker, o)]);
    await pipeline.deps.queues.byName.remediations.pause();
    await pipeline.startWorkers(FAST_WORKERS);
    const [opened] = await pipeline.intake(alert('firing'));
    const id = (opened as { incidentId: string }).incidentId;
    return { p: pipeline, id, marker };
  }

  describe('dry run holds wherever the action runs (separate API and worker processes)', () => {
    async function split(apiDryRun: boolean, workerDryRun: boolean) {
      scratch = scratchDir('dry-split', (dir) => ({ 'trust.yaml': runbook(join(dir, 'ran.log')) }));
      const marker = join(scratch.dir, 'ran.log');
      pipeline = await testPipeline(redisUrl, [runbook(marker)]);
      const port = await freePort();
      const env = {
        REDIS_URL: redisUrl,
        FIRELINE_PREFIX: pipeline.deps.queues.prefix,
        FIRELINE_RUNBOOKS: scratch.runbooks,
        HOST: '127.0.0.1',
        PORT: String(port),
      };
      await Promise.all([
        startRole('api', { ...env, FIRELINE_DRY_RUN: String(apiDryRun) }, procs),
        startRole('worker', { ...env, FIRELINE_DRY_RUN: String(workerDryRun) }, procs),
      ]);
      const answer = await postJson(
        `http://127.0.0.1:${port}/api/v1/alerts/alertmanager`,
        latencyGroup(['a']),
      );
      expect(answer.status).toBe(202);
      const id = answer.body.results[0].outcomes[0].incidentId as string;
      const events = await eventsUntil(
        pipeline,
        id,
        (e) =>
          e.type.startsWith('remediation.') &&
          e.type !== 'remediation.queued' &&
          e.type !== 'remediation.started',
        60_000,
      );
      return { events, marker };
    }

    it('FIRELINE_DRY_RUN on the worker only: the webhook incident is dry-run', async () => {
      const { events, marker } = await split(false, true);
      expect(lastRemediation(events)?.type, describeEvents(events)).toBe('remediation.dry_run');
      expect(ran(marker), 'the action ran for real').toEqual([]);
    }, 90_000);

    it('FIRELINE_DRY_RUN on the API only: the incident it opened is dry-run by the worker', async () => {
      const { events, marker } = await split(true, false);
      expect(lastRemediation(events)?.type, describeEvents(events)).toBe('remediation.dry_run');
      expect(ran(marker), 'the action ran for real').toEqual([]);
    }, 90_000);
  });

  it('dry run turned on in the runbook after the plan was made protects the waiting step', async () => {
    const { p, id, marker } = await paused();
    await eventsUntil(p, id, (e) => e.type === 'remediation.queued');
    p.deps.catalog.replace(compileYaml(runbook(marker, { dryRun: true })));
    await p.deps.queues.byName.remediations.resume();
    const events = await eventsUntil(
      p,
      id,
      (e) => e.type === 'remediation.dry_run' || e.type === 'remediation.succeeded',
    );
    expect(lastRemediation(events)?.type, describeEvents(events)).toBe('remediation.dry_run');
    expect(ran(marker)).toEqual([]);
  });

  it('an alert that resolved while its step waited is not remediated, and says why', async () => {
    const { p, id, marker } = await paused();
    await eventsUntil(p, id, (e) => e.type === 'remediation.queued');
    await p.intake(alert('resolved'));
    expect((await p.deps.store.get(id))?.alertResolved, 'the incident says its alert resolved').toBe(true);
    await p.deps.queues.byName.remediations.resume();
    const events = await eventsUntil(
      p,
      id,
      (e) => e.type === 'remediation.skipped' || e.type === 'remediation.started',
    );
    expect(lastRemediation(events)?.type, describeEvents(events)).toBe('remediation.skipped');
    expect(lastRemediation(events)?.message).toMatch(/resolved at the source/);
    expect(await stepOf(p, id)).toMatchObject({ state: 'skipped', detail: 'alert resolved' });
    expect(ran(marker)).toEqual([]);
    // Added just after the skip event: wait for it rather than race it.
    const notice = await until(
      'the update notification of the skipped step',
      () => p.deps.queues.byName.notifications.getJob(jobIds.notify(id, 'update', '#ops', 'fix')),
      (j) => Boolean(j),
    );
    expect(notice?.data, 'the channel hears that the step was skipped').toMatchObject({
      kind: 'update',
      stepId: 'fix',
    });
  });

  it('runWhenResolved: true acts although the alert resolved', async () => {
    const { p, id, marker } = await paused({ runWhenResolved: true });
    await eventsUntil(p, id, (e) => e.type === 'remediation.queued');
    await p.intake(alert('resolved'));
    await p.deps.queues.byName.remediations.resume();
    await eventsUntil(p, id, (e) => e.type === 'remediation.succeeded');
    expect(ran(marker)).toEqual(['old a']);
  });

  it('a step awaiting approval shows that its alert resolved, and the approvers hear it again', async () => {
    const { p, id } = await paused({ approval: true });
    await eventsUntil(p, id, (e) => e.type === 'remediation.awaiting_approval');
    await p.intake(alert('resolved'));
    const incident = await p.deps.store.get(id);
    expect(incident?.alertResolved).toBe(true);
    const again = await p.deps.queues.byName.notifications.getJob(
      jobIds.notify(id, 'approval_needed', '#ops', 'fix-alert-resolved'),
    );
    expect(again?.data).toMatchObject({ kind: 'approval_needed', stepId: 'fix' });
  });

  it('what was approved is what runs, even after the runbook changed', async () => {
    const { p, id, marker } = await paused({ approval: true });
    await eventsUntil(p, id, (e) => e.type === 'remediation.awaiting_approval');
    const shown = (await stepOf(p, id))?.action;
    expect(shown?.hash, 'the approval shows a rendering').toMatch(/^[0-9a-f]{12}$/);
    p.deps.catalog.replace(compileYaml(runbook(marker, { approval: true, word: 'new' })));
    await expect(
      approveStep(p.deps, id, 'fix', { user: 'alice', hash: 'ffffffffffff' }),
      'an approval of another rendering',
    ).rejects.toThrow(/its action is [0-9a-f]{12}, not ffffffffffff/);
    await approveStep(p.deps, id, 'fix', { user: 'alice', hash: shown!.hash });
    await p.deps.queues.byName.remediations.resume();
    await eventsUntil(p, id, (e) => e.type === 'remediation.succeeded');
    expect(ran(marker), 'the approved rendering ran, not the reloaded runbook').toEqual(['old a']);
  });

  it('a step the reloaded runbook now guards with an approval waits for one instead of running', async () => {
    const { p, id, marker } = await paused();
    await eventsUntil(p, id, (e) => e.type === 'remediation.queued');
    p.deps.catalog.replace(compileYaml(runbook(marker, { approval: true })));
    await p.deps.queues.byName.remediations.resume();
    const events = await eventsUntil(
      p,
      id,
      (e) => e.type === 'remediation.awaiting_approval' || e.type === 'remediation.started',
    );
    expect(lastRemediation(events)?.type, describeEvents(events)).toBe('remediation.awaiting_approval');
    expect(await stepOf(p, id)).toMatchObject({ state: 'awaiting_approval', kind: 'approval' });
    expect(ran(marker)).toEqual([]);
  });

  it('an approval whose job was lost is healed by approving again, which says it is approved', async () => {
    const { p, id, marker } = await paused({ approval: true });
    await eventsUntil(p, id, (e) => e.type === 'remediation.awaiting_approval');
    await approveStep(p.deps, id, 'fix', { user: 'alice' });
    const job = await p.deps.queues.byName.remediations.getJob(jobIds.remediate(id, 'fix'));
    await job!.remove(); // what an enqueue that failed after the approval was recorded leaves
    await expect(approveStep(p.deps, id, 'fix', { user: 'bob' })).rejects.toThrow(
      /cannot approve fix: it is approved$/,
    );
    expect(
      await p.deps.queues.byName.remediations.getJob(jobIds.remediate(id, 'fix')),
      'the job is back',
    ).toBeDefined();
    await p.deps.queues.byName.remediations.resume();
    await eventsUntil(p, id, (e) => e.type === 'remediation.succeeded');
    expect(ran(marker)).toEqual(['old a']);
  });

  it('two approvers clicking at the same moment: one wins, the other is told so, and it runs once', async () => {
    const { p, id, marker } = await paused({ approval: true });
    await eventsUntil(p, id, (e) => e.type === 'remediation.awaiting_approval');
    const hash = (await stepOf(p, id))?.action?.hash;
    const api = await startApi(p, [incidentRoutes]);
    cleanups.push(() => api.close());
    const path = `/api/v1/incidents/${id}/approvals/fix`;
    // Both requests are on the wire before either is answered.
    const answers = await Promise.all(
      ['alice', 'bob'].map((who) =>
        call(api.url, 'POST', path, { body: { decision: 'approve', comment: who, hash } }),
      ),
    );
    expect(answers.map((a) => a.status).sort(), JSON.stringify(answers.map((a) => a.body))).toEqual([
      200, 409,
    ]);
    expect(answers.find((a) => a.status === 409)?.body.detail).toBe('cannot approve fix: it is approved');
    await p.deps.queues.byName.remediations.resume();
    await eventsUntil(p, id, (e) => e.type === 'remediation.succeeded');
    const timeline = await p.deps.store.timeline(id);
    expect(timeline.filter((e) => e.type === 'remediation.approved')).toHaveLength(1);
    expect(ran(marker)).toEqual(['old a']);
  });

  it('the worker runs nothing when the step moved on between its read and its start', async () => {
    scratch = scratchDir('trust-race', () => ({}));
    const marker = join(scratch.dir, 'ran.log');
    pipeline = await testPipeline(redisUrl, [runbook(marker)]);
    const p = pipeline;
    await p.startWorkers(FAST_WORKERS, ['triggers', 'decisions', 'notifications']);
    const [opened] = await p.intake(alert('firing'));
    const id = (opened as { incidentId: string }).incidentId;
    await eventsUntil(p, id, (e) => e.type === 'remediation.queued');
    // A store that, as the worker moves the step to `running`, lets a responder skip it first.
    const racing: PipelineDeps = {
      ...p.deps,
      store: {
        ...p.deps.store,
        async updatePlanStep(incidentId, stepId, from, patch, event) {
          if (patch.state === 'running')
            await p.deps.store.updatePlanStep(
              incidentId,
              stepId,
              null,
              { state: 'skipped', detail: 'by hand' },
              {
                type: 'remediation.skipped',
                actor: 'bob',
                message: 'skipped by hand',
              },
            );
          return p.deps.store.updatePlanStep(incidentId, stepId, from, patch, event);
        },
      },
    };
    const connection = createRedis(redisUrl, 'worker');
    const worker = new Worker(QUEUES.remediations, createRemediationProcessor(racing), {
      connection,
      prefix: p.deps.queues.prefix,
    });
    cleanups.push(async () => {
      await worker.close();
      await connection.quit();
    });
    const done = await until(
      'the remediate job finished',
      () => p.deps.queues.byName.remediations.getJob(jobIds.remediate(id, 'fix')),
      (j) => j?.finishedOn !== undefined,
    );
    expect(done?.returnvalue, 'what the worker did').toEqual({
      skipped: 'the step moved on before it started',
    });
    expect(ran(marker), 'the action ran although the step was skipped').toEqual([]);
    expect(await stepOf(p, id)).toMatchObject({ state: 'skipped' });
  });
});
