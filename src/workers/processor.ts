import { type Job, UnrecoverableError } from 'bullmq';
import { InvariantError } from '../errors.ts';
import type { PipelineDeps } from '../incidents/deps.ts';
import type { JobName } from '../queues/catalog.ts';

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

/**
 * The processor of one queue: picks the handler by job name. A job no handler knows, or one
 * whose work breaks an invariant of Fireline's own data (InvariantError), cannot succeed on
 * another attempt, so it fails at once (UnrecoverableError) instead of being retried.
 */
export function processorFor(handlers: Handlers): (deps: PipelineDeps) => Processor {
  return (deps) => async (job, token, signal) => {
    const handler = handlers[job.name as JobName];
    if (!handler) throw new UnrecoverableError(`no handler for job '${job.name}' (${job.id})`);
    try {
      return await handler(deps, job, token, signal);
    } catch (err) {
      if (err instanceof InvariantError) throw new UnrecoverableError(err.message);
      throw err;
    }
  };
}
