import type { Job } from 'bullmq';
import { renderDiagnosticConfig, templateContext } from '../engine/template.ts';
import type { PipelineDeps } from '../incidents/deps.ts';
import { DEFAULT_JOB_OPTIONS, JOBS, jobIds, parseJob, QUEUES } from '../queues/queues.ts';
import { pollThreshold } from './threshold.ts';

/**
 * A FlowProducer ignores its queues' default job options: without these, flow jobs would never be
 * removed (Redis grows by every diagnostic ever run) and diagnostics would get a single attempt.
 */
const FLOW_OPTIONS = {
  queuesOptions: {
    [QUEUES.decisions]: { defaultJobOptions: DEFAULT_JOB_OPTIONS },
    [QUEUES.diagnostics]: { defaultJobOptions: DEFAULT_JOB_OPTIONS },
  },
};

/**
 * `triggers` queue: turns an opened incident into ONE flow — parent `evaluate` on `decisions`,
 * one `diagnose` child per diagnostic — and starts the escalation timer. Safe to run again after
 * a crash: the flow is added only when its parent does not exist yet (BullMQ would otherwise add
 * children again, #1793), and every other job id is deterministic.
 */
export function createCoordinatorProcessor(deps: PipelineDeps) {
  return async (job: Job): Promise<unknown> => {
    if (job.name === 'sweep') {
      const cutoff = new Date(deps.now().getTime() - deps.retentionDays * 24 * 3600 * 1000);
      return { removed: await deps.store.sweep(cutoff) };
    }
    if (job.name === 'threshold') return pollThreshold(deps, job);
    const { incidentId } = parseJob('trigger', job);
    const incident = await deps.store.get(incidentId);
    if (!incident || incident.status === 'resolved') return { skipped: incident ? 'resolved' : 'gone' };
    const { runbook } = deps.catalog.require(incident.runbookId);
    const log = deps.logger.child({ incidentId, runbookId: runbook.id, jobId: job.id });

    // Status first: fast diagnostics may finish before this job does, and the decision worker
    // moves the incident on from `diagnosing`.
    await deps.store.setStatus(incidentId, ['triggered'], 'diagnosing', {
      type: 'incident.status',
      actor: 'system',
      message: `Running ${runbook.diagnostics.length} diagnostics in parallel`,
      data: { from: 'triggered', to: 'diagnosing', diagnostics: runbook.diagnostics.map((d) => d.id) },
    });

    const existing = await deps.queues.byName.decisions.getJob(jobIds.evaluate(incidentId));
    if (!existing) {
      const ctx = templateContext(incident.alert, {
        id: incident.id,
        severity: incident.severity,
        service: incident.service,
        runbookId: runbook.id,
      });
      await deps.queues.flows.add(
        {
          name: 'evaluate',
          queueName: QUEUES.decisions,
          data: { incidentId, runbookId: runbook.id },
          opts: { jobId: jobIds.evaluate(incidentId) },
          children: runbook.diagnostics.map((step) => {
            const rendered = renderDiagnosticConfig(step, ctx);
            return {
              name: 'diagnose',
              queueName: JOBS.diagnose.queue,
              data: {
                incidentId,
                runbookId: runbook.id,
                stepId: step.id,
                config: rendered.ok ? rendered.config : step.config,
                ...(rendered.ok ? {} : { renderError: `${rendered.path.join('.')}: ${rendered.reason}` }),
                timeoutMs: step.timeout * 1000,
              },
              opts: { jobId: jobIds.diagnose(incidentId, step.id), ignoreDependencyOnFailure: true },
            };
          }),
        },
        FLOW_OPTIONS,
      );
      log.info({ diagnostics: runbook.diagnostics.length }, 'diagnostic flow added');
    }
    const escalateAfterMs = runbook.escalation.escalateAfterMinutes * 60_000;
    const timer = await deps.queues.byName.notifications.getJob(jobIds.escalate(incidentId));
    if (!timer && !incident.acknowledged) {
      await deps.queues.add(
        'escalate',
        { incidentId },
        { jobId: jobIds.escalate(incidentId), delay: escalateAfterMs, attempts: 3 },
      );
      await deps.store.appendEvent(incidentId, {
        type: 'escalation.scheduled',
        actor: 'system',
        message: `Escalates to ${runbook.escalation.secondary ?? runbook.escalation.primary} in ${runbook.escalation.escalateAfterMinutes} min unless acknowledged`,
        data: { dueAt: new Date(deps.now().getTime() + escalateAfterMs).toISOString() },
      });
    }
    await deps.queues.add(
      'notify',
      { incidentId, kind: 'opened', channel: runbook.escalation.primary },
      { jobId: jobIds.notify(incidentId, 'opened', runbook.escalation.primary) },
    );
    return { flow: existing ? 'existed' : 'added' };
  };
}
