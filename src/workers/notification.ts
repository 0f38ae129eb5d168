import { DelayedError } from 'bullmq';
import { escalationDue } from '../incidents/escalation.ts';
import { deliver } from '../incidents/notification.ts';
import { parseJob } from '../queues/catalog.ts';
import { processorFor } from './processor.ts';

/**
 * `notifications` queue: `notify` sends one notification (src/incidents/notification.ts); a held
 * address puts the job off as `delayed`, which spends no attempt. `escalate` is the escalation
 * timer (src/incidents/escalation.ts).
 */
export const createNotificationProcessor = processorFor({
  escalate: (deps, job) => escalationDue(deps, parseJob('escalate', job).incidentId),
  notify: async (deps, job, token, signal) => {
    const result = await deliver(deps, parseJob('notify', job), {
      starts: job.attemptsStarted ?? 0,
      attemptsLeft: (job.opts.attempts ?? 1) - job.attemptsMade - 1,
      canWait: token !== undefined,
      signal,
    });
    if (!('waitMs' in result)) return result;
    await job.moveToDelayed(Date.now() + result.waitMs, token);
    throw new DelayedError();
  },
});
