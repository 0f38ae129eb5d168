import { FlowProducer, type Job, type JobsOptions, Queue, type Telemetry, UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { NOTIFICATION_KINDS } from '../engine/types.ts';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis/client.ts';

/** The five queues of DESIGN.md "Shape". */
export const QUEUES = {
  triggers: 'triggers',
  diagnostics: 'diagnostics',
  decisions: 'decisions',
  remediations: 'remediations',
  notifications: 'notifications',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const QUEUE_NAMES: readonly QueueName[] = Object.values(QUEUES);

const IncidentRef = { incidentId: z.string().min(1) };

/** Every job name with its payload schema; payloads are validated when a job is taken. */
export const JOBS = {
  trigger: { queue: QUEUES.triggers, schema: z.object(IncidentRef) },
  sweep: { queue: QUEUES.triggers, schema: z.object({}) },
  /** One poll of a `metric_threshold` trigger (added by its job scheduler). */
  threshold: {
    queue: QUEUES.triggers,
    schema: z.object({ runbookId: z.string().min(1), triggerIndex: z.number().int().nonnegative() }),
  },
  diagnose: {
    queue: QUEUES.diagnostics,
    schema: z.object({
      ...IncidentRef,
      runbookId: z.string(),
      stepId: z.string(),
      /** The step's config with templates rendered for this incident. */
      config: z.unknown(),
      /** Set when rendering failed: the step is judged `error` without running. */
      renderError: z.string().optional(),
      timeoutMs: z.number().positive(),
    }),
  },
  evaluate: { queue: QUEUES.decisions, schema: z.object({ ...IncidentRef, runbookId: z.string() }) },
  verify: {
    queue: QUEUES.decisions,
    schema: z.object({ ...IncidentRef, runbookId: z.string(), stepId: z.string() }),
  },
  remediate: {
    queue: QUEUES.remediations,
    schema: z.object({ ...IncidentRef, runbookId: z.string(), stepId: z.string() }),
  },
  notify: {
    queue: QUEUES.notifications,
    schema: z.object({
      ...IncidentRef,
      kind: z.enum(NOTIFICATION_KINDS),
      channel: z.string().min(1),
      stepId: z.string().optional(),
    }),
  },
  escalate: { queue: QUEUES.notifications, schema: z.object(IncidentRef) },
} as const;
export type JobName = keyof typeof JOBS;
export type JobData<N extends JobName> = z.infer<(typeof JOBS)[N]['schema']>;

/**
 * Validates a taken job against its catalog entry. A bad payload will never get better on retry,
 * so it fails the job at once (UnrecoverableError) with the field paths.
 */
export function parseJob<N extends JobName>(name: N, job: Job): JobData<N> {
  const parsed = JOBS[name].schema.safeParse(job.data);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UnrecoverableError(`bad ${name} payload in job ${job.id}: ${where}`);
  }
  return parsed.data as JobData<N>;
}

/** Deterministic job ids (no ':' and never all digits, per BullMQ) so re-adding is a no-op. */
export const jobIds = {
  trigger: (incidentId: string) => `${incidentId}-trigger`,
  diagnose: (incidentId: string, stepId: string) => `${incidentId}-diag-${stepId}`,
  evaluate: (incidentId: string) => `${incidentId}-evaluate`,
  verify: (incidentId: string, stepId: string) => `${incidentId}-verify-${stepId}`,
  remediate: (incidentId: string, stepId: string) => `${incidentId}-fix-${stepId}`,
  notify: (incidentId: string, kind: string, channel: string, stepId = '') =>
    `${incidentId}-notify-${kind}-${stepId}-${Buffer.from(channel).toString('base64url')}`,
  escalate: (incidentId: string) => `${incidentId}-escalate`,
};

/** Finished jobs are kept briefly for Bull Board and debugging, bounded in count. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
};

export interface Queues {
  readonly prefix: string;
  readonly byName: Readonly<Record<QueueName, Queue>>;
  readonly flows: FlowProducer;
  /** Adds a job by catalog name; the payload is typed from its schema. */
  add<N extends JobName>(name: N, data: JobData<N>, opts: JobsOptions & { jobId: string }): Promise<Job>;
  close(): Promise<void>;
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
    flows,
    add(name, data, opts) {
      return byName[JOBS[name].queue].add(name, data, opts);
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
