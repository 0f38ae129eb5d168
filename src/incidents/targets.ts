import type { PipelineDeps } from './deps.ts';

/**
 * One action at a time per remediation target: the lock and its waiters live in Redis
 * (src/store/safety.ts); a job that finds the target busy sleeps as a delayed job and the holder
 * wakes the oldest sleeper when it lets go.
 */

/** A job the remediation worker may wake: it waits, delayed, for a target. */
export interface Waiter {
  id?: string | undefined;
  promote(): Promise<void>;
}

/**
 * Moves a job waiting for a target from delayed to waiting. A job that is no longer delayed was
 * woken by someone else, which is all we wanted; any other failure leaves it to its fallback delay.
 */
export async function wake(deps: PipelineDeps, job: Waiter): Promise<void> {
  try {
    await job.promote();
  } catch (err) {
    deps.logger.debug({ err, jobId: job.id }, 'waiter not promoted (already awake?)');
  }
}

/** Releases the target and wakes its oldest waiter that is asleep (awake ones look for themselves). */
export async function release(deps: PipelineDeps, target: string, owner: string) {
  for (const id of await deps.safety.unlockTarget(target, owner)) {
    const waiter = await deps.queues.byName.remediations.getJob(id);
    const state = waiter ? await waiter.getState() : 'unknown';
    if (state === 'delayed') {
      await wake(deps, waiter!);
      return;
    }
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
    await deps.safety.dropWaiter(target, id);
  }
}

/** Whether the target is free now (a waiter that went to sleep just after it was released wakes itself). */
export async function targetIsFree(deps: PipelineDeps, target: string): Promise<boolean> {
  return !(await deps.safety.isLocked(target));
}
