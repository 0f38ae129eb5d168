import { type Job, Worker } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { recordFinalFailure } from '../../src/incidents/failures.ts';
import { createLogger } from '../../src/logger.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { jobIds, QUEUES } from '../../src/queues/catalog.ts';
import { createRedis } from '../../src/redis/client.ts';
import { eventsUntil, firingAlert, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

const runbook = `
id: lost-jobs
name: Lost jobs
severity: P2
service: lost
triggers: [{ type: alert, alertName: LostJobs }]
diagnostics: []
decisionTree: []
remediations: []
escalation: { primary: "#lost", secondary: "pagerduty:oncall", escalateAfterMinutes: 30 }
`;

/**
 * A job that fails for good must not leave its incident stuck in silence. The failing processor is
 * a real BullMQ worker throwing, as an infrastructure fault would; the handler under test is the
 * one every Fireline worker calls on `failed`.
 */
describe('a job that fails for good', () => {
  let pipeline: Pipeline | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await pipeline?.close(2000);
  });

  it('escalates a lost trigger and records a lost notification, each on the incident', async () => {
    pipeline = await testPipeline(redisUrl, [runbook]);
    const p = pipeline;
    const [opened] = await p.intake(firingAlert({ alertname: 'LostJobs' }));
    const id = (opened as { incidentId: string }).incidentId;
    // One attempt (not the catalog's three), so the broken worker below fails it for good at once.
    await p.deps.queues.byName.notifications.add(
      'notify',
      { incidentId: id, kind: 'opened', channel: '#lost' },
      { jobId: `${id}-n`, attempts: 1 },
    );
    const log = createLogger({ level: 'silent' });
    for (const queue of [QUEUES.triggers, QUEUES.notifications]) {
      const connection = createRedis(redisUrl, 'worker');
      const worker = new Worker(
        queue,
        async () => {
          throw new Error('Redis went away mid-job');
        },
        { connection, prefix: p.deps.queues.prefix },
      );
      worker.on('failed', (job: Job | undefined, err: Error) => {
        if (job) void recordFinalFailure(p.deps, job, err, log);
      });
      cleanups.push(async () => {
        await worker.close();
        await connection.quit();
      });
    }
    const trigger = await p.deps.queues.byName.triggers.getJob(jobIds.trigger(id));
    expect(trigger?.opts.attempts).toBe(3);

    const events = await eventsUntil(p, id, (_e, seen) =>
      ['escalation.fired', 'notification.failed'].every((t) => seen.some((e) => e.type === t)),
    );
    const fired = events.find((e) => e.type === 'escalation.fired');
    expect(fired?.message).toMatch(/could not run trigger after 3 attempt\(s\): Redis went away mid-job/);
    expect(events.find((e) => e.type === 'notification.failed')?.message).toMatch(
      /could not run notify after 1 attempt/,
    );
    expect((await p.deps.store.get(id))?.escalated).toBe(true);
  });
});
