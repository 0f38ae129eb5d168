import type { Logger } from '../logger.ts';
import type { PipelineDeps } from './deps.ts';
import { escalateIncident } from './escalation.ts';

/** What is read of a failed BullMQ job. */
export interface FailedJob {
  id?: string | undefined;
  name: string;
  data: unknown;
  opts: { attempts?: number | undefined };
  attemptsMade: number;
  finishedOn?: number | undefined;
}

/** Jobs whose loss leaves an incident without its next step: a human must take over. */
const ESCALATE_ON_LOSS = new Set(['trigger', 'evaluate', 'verify', 'remediate', 'escalate']);

/**
 * A job failed for good (out of attempts, or lost to dead workers too often). Diagnostics are
 * already covered (their parent judges them `error`); for the others the incident would otherwise
 * be stuck in silence, so the failure goes on its timeline and, where a step is lost, a human is
 * paged.
 */
export async function recordFinalFailure(
  deps: PipelineDeps,
  job: FailedJob,
  err: Error,
  log: Logger,
): Promise<void> {
  const attempts = job.opts.attempts ?? 1;
  const final = job.attemptsMade >= attempts || job.finishedOn !== undefined;
  const incidentId = (job.data as { incidentId?: unknown })?.incidentId;
  if (!final || typeof incidentId !== 'string' || job.name === 'diagnose') return;
  const incident = await deps.store.get(incidentId);
  if (!incident) return;
  const reason = `Fireline could not run ${job.name} after ${job.attemptsMade} attempt(s): ${err.message}`;
  if (job.name === 'notify') {
    await deps.store.appendEvent(incidentId, {
      type: 'notification.failed',
      actor: 'system',
      message: reason,
      data: { jobId: job.id },
    });
    return;
  }
  if (!ESCALATE_ON_LOSS.has(job.name) || incident.status === 'resolved') return;
  const compiled = deps.catalog.get(incident.runbookId);
  if (!compiled) {
    log.error({ incidentId, jobId: job.id }, 'runbook gone; cannot escalate a failed job');
    return;
  }
  await escalateIncident(deps, incident, compiled, reason);
}
