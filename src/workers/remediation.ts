import { DelayedError } from 'bullmq';
import { remediate } from '../incidents/remediation.ts';
import { targetIsFree, wake } from '../incidents/targets.ts';
import { parseJob } from '../queues/catalog.ts';
import { processorFor } from './processor.ts';

/**
 * How long a job waits for a busy target before looking again. It is normally woken sooner, when
 * the holder releases the target; this is the fallback should that wake-up be lost.
 */
const LOCK_WAIT_MS = 60_000;

/**
 * `remediations` queue: one automated step (src/incidents/remediation.ts). A busy target puts the
 * job off as `delayed` — no attempt spent, and no polling (each look would spend a start of the
 * queue's global rate limit) — until the holder wakes it.
 */
export const createRemediationProcessor = processorFor({
  remediate: async (deps, job, token, signal) => {
    const { incidentId, stepId } = parseJob('remediate', job);
    const result = await remediate(deps, {
      incidentId,
      stepId,
      owner: job.id ?? `${incidentId}-${stepId}`,
      attempt: job.attemptsMade + 1,
      attemptsLeft: (job.opts.attempts ?? 1) - job.attemptsMade - 1,
      signal,
    });
    if (!('busy' in result)) return result;
    await job.moveToDelayed(Date.now() + LOCK_WAIT_MS, token);
    // Released between our look and our sleep: its holder found us awake and did not wake us.
    if (await targetIsFree(deps, result.busy)) await wake(deps, job);
    throw new DelayedError();
  },
});
