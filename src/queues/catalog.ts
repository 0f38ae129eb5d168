import { type Job, type JobsOptions, UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { NOTIFICATION_KINDS } from '../engine/types.ts';

/**
 * The queue catalog: the five queues, every job name with its payload schema and its policy
 * (attempts, backoff, removal), and the deterministic job ids. Every job Fireline adds takes its
 * options from here (src/queues/queues.ts `add`, and the flow built in
 * src/incidents/diagnosis.ts), so a job's policy is the same whoever adds it.
 */

/** The five queues (docs/ARCHITECTURE.md "Queues and jobs"). */
export const QUEUES = {
  triggers: 'triggers',
  diagnostics: 'diagnostics',
  decisions: 'decisions',
  remediations: 'remediations',
  notifications: 'notifications',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const QUEUE_NAMES: readonly QueueName[] = Object.values(QUEUES);

/** Failed jobs are what someone looks into: a week, at most 5,000 per queue. */
const FAILED_KEPT: JobsOptions = { removeOnFail: { age: 7 * 24 * 3600, count: 5000 } };
/**
 * Completed jobs: an hour, at most 100 per queue. A completed job is a copy of what its incident
 * record already holds (verdicts, decision, timeline) and nobody reads it but Bull Board, for a
 * glance at recent work (issue 13, Redis memory per incident). No Fireline code depends on a
 * completed job still existing: a re-run is guarded by the incident's state
 * (src/incidents/diagnosis.ts, src/incidents/escalation.ts), not by the job. This table is the one
 * place that sets removal.
 */
const KEPT: JobsOptions = { removeOnComplete: { age: 3600, count: 100 }, ...FAILED_KEPT };
/** Completed remediations are rare and an audit aid: a day, at most 1,000. */
const AUDITED: JobsOptions = { removeOnComplete: { age: 24 * 3600, count: 1000 }, ...FAILED_KEPT };
/** Infrastructure faults (Redis blips, a worker lost) are retried with backoff. */
const RETRIED: JobsOptions = { attempts: 3, backoff: { type: 'exponential', delay: 1000 } };

/** The policy of most jobs, and the queues' defaults for anything added outside the catalog. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = { ...RETRIED, ...KEPT };
/** An action that is not idempotent runs at most once: no retry (src/incidents/remediation.ts). */
const ONCE: JobsOptions = { attempts: 1, ...AUDITED };
/** An idempotent action is retried like the other jobs, and kept like a remediation. */
const RETRIED_REMEDIATION: JobsOptions = { ...RETRIED, ...AUDITED };

const IncidentRef = { incidentId: z.string().min(1) };

/**
 * Every job name: its queue, its payload schema (validated when a job is taken) and its policy.
 * `retryablePolicy`, where present, replaces `policy` for a job whose work is safe to repeat.
 */
export const JOBS = {
  /** Turns an opened incident into its diagnostic flow. */
  trigger: { queue: QUEUES.triggers, schema: z.object(IncidentRef), policy: DEFAULT_JOB_OPTIONS },
  /** The hourly retention sweep (a job scheduler). */
  sweep: { queue: QUEUES.triggers, schema: z.object({}), policy: DEFAULT_JOB_OPTIONS },
  /**
   * One pass of the history archive (a job scheduler, every second, only with the history on):
   * cheap when nothing changed, and the next pass picks up whatever this one did not finish.
   */
  archive: {
    queue: QUEUES.triggers,
    schema: z.object({}),
    policy: { attempts: 1, removeOnComplete: { count: 10 }, removeOnFail: { age: 24 * 3600, count: 100 } },
  },
  /** One poll of a `metric_threshold` trigger (a job scheduler): cheap, and the next comes soon. */
  threshold: {
    queue: QUEUES.triggers,
    schema: z.object({ runbookId: z.string().min(1), triggerIndex: z.number().int().nonnegative() }),
    policy: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  },
  /** One diagnostic step, a child of its incident's `evaluate` flow. */
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
      /** When the incident's alert started (ISO): where the step's chart window begins. */
      alertStartsAt: z.string().optional(),
    }),
    // A child that fails for good must not fail the flow: its parent judges it `error`.
    policy: { ...DEFAULT_JOB_OPTIONS, ignoreDependencyOnFailure: true },
  },
  /**
   * The chart of one diagnostic step (src/incidents/charts.ts), at diagnosis or after a verify: a
   * job of its own beside the check, so that neither the decision nor the verify waits for the
   * range query.
   */
  chart: {
    queue: QUEUES.diagnostics,
    schema: z.object({
      ...IncidentRef,
      runbookId: z.string(),
      stepId: z.string(),
      phase: z.enum(['diagnosis', 'verify']),
      /** The step's config rendered for the incident, as its check ran it. */
      config: z.unknown(),
      /** When the incident's alert started (ISO): where the chart's window begins. */
      alertStartsAt: z.string(),
    }),
    policy: DEFAULT_JOB_OPTIONS,
  },
  /** The flow parent: collects the verdicts, decides, dispatches the plan. */
  evaluate: {
    queue: QUEUES.decisions,
    schema: z.object({ ...IncidentRef, runbookId: z.string() }),
    policy: DEFAULT_JOB_OPTIONS,
  },
  /** A remediation's `verify`, delayed by its `afterSeconds`. */
  verify: {
    queue: QUEUES.decisions,
    schema: z.object({ ...IncidentRef, runbookId: z.string(), stepId: z.string() }),
    policy: DEFAULT_JOB_OPTIONS,
  },
  /** One automated action: retried only when the action is idempotent. */
  remediate: {
    queue: QUEUES.remediations,
    schema: z.object({ ...IncidentRef, runbookId: z.string(), stepId: z.string() }),
    policy: ONCE,
    retryablePolicy: RETRIED_REMEDIATION,
  },
  /** One notification to one channel. */
  notify: {
    queue: QUEUES.notifications,
    schema: z.object({
      ...IncidentRef,
      kind: z.enum(NOTIFICATION_KINDS),
      channel: z.string().min(1),
      stepId: z.string().optional(),
    }),
    policy: DEFAULT_JOB_OPTIONS,
  },
  /** The escalation timer, delayed by the runbook's `escalateAfterMinutes`. */
  escalate: { queue: QUEUES.notifications, schema: z.object(IncidentRef), policy: DEFAULT_JOB_OPTIONS },
} as const satisfies Record<
  string,
  { queue: QueueName; schema: z.ZodType; policy: JobsOptions; retryablePolicy?: JobsOptions }
>;
export type JobName = keyof typeof JOBS;
export type JobData<N extends JobName> = z.infer<(typeof JOBS)[N]['schema']>;

/** What varies per job beside its policy: its id, a delay, and whether its work may be repeated. */
export interface AddOptions {
  jobId: string;
  delay?: number;
  /** Picks the job's `retryablePolicy` (remediate: the action is idempotent). */
  retryable?: boolean;
}

/** The options a job is added with: its catalog policy plus what varies per job. */
export function jobOptions(name: JobName, opts: AddOptions): JobsOptions {
  const entry: { policy: JobsOptions; retryablePolicy?: JobsOptions } = JOBS[name];
  const policy = opts.retryable && entry.retryablePolicy ? entry.retryablePolicy : entry.policy;
  return { ...policy, jobId: opts.jobId, ...(opts.delay !== undefined ? { delay: opts.delay } : {}) };
}

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

/**
 * Deterministic job ids (no ':' and never all digits, per BullMQ): re-adding a job is a no-op
 * while it exists (waiting, delayed, active, or kept after it finished). Once a finished job is
 * removed, the same id adds it again, so what must happen once is guarded by the incident's state.
 */
export const jobIds = {
  trigger: (incidentId: string) => `${incidentId}-trigger`,
  diagnose: (incidentId: string, stepId: string) => `${incidentId}-diag-${stepId}`,
  evaluate: (incidentId: string) => `${incidentId}-evaluate`,
  /** `after`: the remediation whose verify drew it (empty at diagnosis). */
  chart: (incidentId: string, stepId: string, after = '') => `${incidentId}-chart-${stepId}-${after}`,
  verify: (incidentId: string, stepId: string) => `${incidentId}-verify-${stepId}`,
  remediate: (incidentId: string, stepId: string) => `${incidentId}-fix-${stepId}`,
  notify: (incidentId: string, kind: string, channel: string, stepId = '') =>
    `${incidentId}-notify-${kind}-${stepId}-${Buffer.from(channel).toString('base64url')}`,
  escalate: (incidentId: string) => `${incidentId}-escalate`,
};
