import { afterEach, describe, expect, inject, it } from 'vitest';
import { approveStep } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { JOBS, jobIds } from '../../src/queues/catalog.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { until } from '../helpers/poll.ts';

const redisUrl = inject('redisUrl');

/**
 * One shell diagnostic whose `interpret` reads `now`, and two remediations of the same idempotent
 * action: `auto` runs at once, `gated` waits for approval. The action exits 0 without doing anything.
 */
const RUNBOOK = JSON.stringify({
  id: 'policy',
  name: 'Job policy',
  severity: 'P2',
  service: 'policy-service',
  triggers: [{ type: 'alert', alertName: 'Policy' }],
  diagnostics: [
    {
      id: 'clock',
      name: 'Clock',
      type: 'shell_command',
      config: { command: ['node', '-e', 'console.log(1)'] },
      interpret: {
        critical: 'now >= timestamp("2031-01-01T00:00:00Z")',
        healthy: 'now < timestamp("2031-01-01T00:00:00Z")',
      },
    },
  ],
  decisionTree: [{ otherwise: true, then: ['auto', 'gated'] }],
  remediations: ['auto', 'gated'].map((id) => ({
    id,
    name: `Step ${id}`,
    type: 'automated',
    ...(id === 'gated' ? { requiresApproval: true, target: 'other-target' } : {}),
    action: { type: 'run_script', config: { command: ['node', '-e', '0'], idempotent: true } },
  })),
  escalation: { primary: '#ops', escalateAfterMinutes: 30 },
});

/** A clock far from today's: a verdict that reads the wall clock instead of it is told apart. */
const INJECTED_NOW = new Date('2031-06-01T00:00:00Z');

describe('job policy and invariants', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('an idempotent step gets the same retry policy whether the decision or an approval queues it', async () => {
    pipeline = await testPipeline(redisUrl, [RUNBOOK], { now: () => INJECTED_NOW });
    const p = pipeline;
    await p.startWorkers(FAST_WORKERS);
    const [opened] = await p.intake(firingAlert({ alertname: 'Policy' }));
    const id = (opened as { incidentId: string }).incidentId;
    await eventsUntil(p, id, (e) => e.type === 'remediation.awaiting_approval');
    await approveStep(p.deps, id, 'gated', { user: 'alice' });
    const jobs = await Promise.all(
      ['auto', 'gated'].map((step) => p.deps.queues.byName.remediations.getJob(jobIds.remediate(id, step))),
    );
    const retryable = JOBS.remediate.retryablePolicy.attempts;
    expect(
      jobs.map((j) => j?.opts.attempts),
      'attempts of the decision-queued and the approval-queued remediate job',
    ).toEqual([retryable, retryable]);
    expect(retryable).toBeGreaterThan(1);
  });

  it('judges interpret expressions at the injected clock, not the wall clock', async () => {
    pipeline = await testPipeline(redisUrl, [RUNBOOK], { now: () => INJECTED_NOW });
    const p = pipeline;
    await p.startWorkers(FAST_WORKERS);
    const [opened] = await p.intake(firingAlert({ alertname: 'Policy' }));
    const id = (opened as { incidentId: string }).incidentId;
    await eventsUntil(p, id, (e) => e.type === 'decision.made');
    const verdict = (await p.deps.store.get(id))?.verdicts.clock;
    expect(verdict?.status, `verdict at ${INJECTED_NOW.toISOString()}: ${JSON.stringify(verdict)}`).toBe(
      'critical',
    );
  });

  it('fails a job whose step is missing from its runbook at once, without retries', async () => {
    pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    const p = pipeline;
    await p.startWorkers(FAST_WORKERS, ['diagnostics']);
    const job = await p.deps.queues.add(
      'diagnose',
      { incidentId: 'inc-x', runbookId: 'policy', stepId: 'no_such_step', config: {}, timeoutMs: 1000 },
      { jobId: 'inc-x-diag-no_such_step' },
    );
    expect(job.opts.attempts, 'the catalog gives diagnose jobs retries').toBeGreaterThan(1);
    const failed = await until(
      'the job failed',
      () => p.deps.queues.byName.diagnostics.getJob(job.id!),
      (j) => j?.finishedOn !== undefined,
    );
    expect(
      { attemptsMade: failed?.attemptsMade, reason: failed?.failedReason },
      'an invariant failure is not retried',
    ).toEqual({ attemptsMade: 1, reason: "runbook policy has no diagnostic 'no_such_step'" });
  });
});
