import { FlowProducer, type Job, Queue, type Telemetry } from 'bullmq';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis/client.ts';
import {
  type AddOptions,
  DEFAULT_JOB_OPTIONS,
  JOBS,
  type JobData,
  type JobName,
  jobOptions,
  QUEUE_NAMES,
  type QueueName,
} from './catalog.ts';

/** One job of a flow: its catalog name, payload and id (its queue and policy come from the catalog). */
export interface FlowJob<N extends JobName> {
  name: N;
  data: JobData<N>;
  jobId: string;
}

export interface Queues {
  readonly prefix: string;
  readonly byName: Readonly<Record<QueueName, Queue>>;
  /** Adds a job by catalog name with its catalog policy; the payload is typed from its schema. */
  add<N extends JobName>(name: N, data: JobData<N>, opts: AddOptions): Promise<Job>;
  /** Adds a parent and its children as ONE flow, each job with its catalog policy. */
  addFlow<P extends JobName, C extends JobName>(parent: FlowJob<P>, children: FlowJob<C>[]): Promise<void>;
  /** BullMQ's key of a job (how a flow parent names its children's results). */
  jobKey(name: JobName, jobId: string): string;
  close(): Promise<void>;
}

function flowNode<N extends JobName>(job: FlowJob<N>) {
  return {
    name: job.name,
    queueName: JOBS[job.name].queue,
    data: job.data,
    opts: jobOptions(job.name, { jobId: job.jobId }),
  };
}

/**
 * Queues and the flow producer on one producer connection (BullMQ duplicates it where it must).
 * With `telemetry`, each add is a span and the job carries its trace context to the worker.
 */
export function createQueues(
  connection: RedisClient,
  prefix: string,
  logger: Logger,
  telemetry?: Telemetry,
): Queues {
  const byName = Object.fromEntries(
    QUEUE_NAMES.map((name) => [
      name,
      new Queue(name, {
        connection,
        prefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
        telemetry,
        // BullMQ's per-queue event stream feeds QueueEvents, which Fireline does not use for
        // incidents (its own timeline does that): keep it short.
        streams: { events: { maxLen: 1000 } },
      }),
    ]),
  ) as Record<QueueName, Queue>;
  const flows = new FlowProducer({ connection, prefix, telemetry });
  // Without a listener BullMQ prints connection errors with console.error, outside the log.
  const onError = (err: Error) => logger.warn({ err, prefix }, 'queue connection error');
  for (const queue of Object.values(byName)) queue.on('error', onError);
  flows.on('error', onError);
  let closing: Promise<void> | undefined;
  return {
    prefix,
    byName,
    add(name, data, opts) {
      return byName[JOBS[name].queue].add(name, data, jobOptions(name, opts));
    },
    async addFlow(parent, children) {
      await flows.add({ ...flowNode(parent), children: children.map(flowNode) });
    },
    jobKey(name, jobId) {
      return byName[JOBS[name].queue].toKey(jobId);
    },
    close() {
      closing ??= Promise.allSettled([...Object.values(byName).map((q) => q.close()), flows.close()]).then(
        (rs) => {
          const failed = rs.find((r) => r.status === 'rejected');
          if (failed) throw (failed as PromiseRejectedResult).reason;
        },
      );
      return closing;
    },
  };
}
