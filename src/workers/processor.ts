import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { InvariantError } from '../errors.ts';
import type { PipelineDeps } from '../incidents/deps.ts';
import type { JobName } from '../queues/catalog.ts';
import { isRedisUnavailable } from '../redis/client.ts';

/** What BullMQ calls for each job of a queue. */
export type Processor = (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>;

/** One job name's handler: parse the job, call the incident layer, return its result. */
export type Handler = (
  deps: PipelineDeps,
  job: Job,
  token?: string,
  signal?: AbortSignal,
) => Promise<unknown>;

/** A queue's handlers by job name (src/queues/catalog.ts says which names each queue carries). */
export type Handlers = Partial<Record<JobName, Handler>>;

/** How long a job put off because Redis went away waits before it runs again. */
export const REDIS_DOWN_RETRY_MS = 1000;

/**
 * The processor of one queue: picks the handler by job name. A job no handler knows, or one
 * whose work breaks an invariant of Fireline's own data (InvariantError), cannot succeed on
 * another attempt, so it fails at once (UnrecoverableError) instead of being retried.
 *
 * A job that failed because Redis went away (the store's connection fails fast: a failover, a
 * restart; on a Cluster, a slot whose master is gone) has not failed: it is put off (`delayed`, no attempt spent) and runs again once Redis is
 * back. Otherwise a failover would use up the single attempt of an action that is not idempotent,
 * leaving its step `running` and its target locked. Running a job again is safe: every handler is
 * idempotent or guarded (the at-most-once marker of src/incidents/remediation-act.ts).
 */
export function processorFor(handlers: Handlers): (deps: PipelineDeps) => Processor {
  return (deps) => async (job, token, signal) => {
    const handler = handlers[job.name as JobName];
    if (!handler) throw new UnrecoverableError(`no handler for job '${job.name}' (${job.id})`);
    try {
      return await handler(deps, job, token, signal);
    } catch (err) {
      if (err instanceof InvariantError) throw new UnrecoverableError(err.message);
      if (err instanceof DelayedError || token === undefined || !isRedisUnavailable(err, deps.redis))
        throw err;
      deps.logger.warn(
        { jobId: job.id, job: job.name, err },
        `Redis is unavailable mid-job (connection ${deps.redis.status}); the job runs again once it is back`,
      );
      await putOff(job, token, deps);
      throw new DelayedError();
    }
  };
}

/** How long a job tries to put itself off while Redis is still away before it gives up (fails). */
const PUT_OFF_DEADLINE_MS = 60_000;

/**
 * `moveToDelayed`, tried again while it too finds Redis away (the worker's connection is on the
 * same Redis): a job that failed instead would spend its attempt after all.
 */
async function putOff(job: Job, token: string, deps: PipelineDeps): Promise<void> {
  const deadline = Date.now() + PUT_OFF_DEADLINE_MS;
  for (;;) {
    try {
      await job.moveToDelayed(Date.now() + REDIS_DOWN_RETRY_MS, token);
      return;
    } catch (err) {
      if (Date.now() > deadline || !isRedisUnavailable(err, deps.redis)) throw err;
      await new Promise((resolve) => setTimeout(resolve, REDIS_DOWN_RETRY_MS));
    }
  }
}
