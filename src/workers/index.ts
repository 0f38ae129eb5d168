import { hostname } from 'node:os';
import { trace } from '@opentelemetry/api';
import { type Telemetry, Worker, type WorkerOptions } from 'bullmq';
import type { PipelineDeps } from '../incidents/deps.ts';
import { recordFinalFailure } from '../incidents/failures.ts';
import { upsertThresholdSchedulers } from '../incidents/threshold.ts';
import { QUEUES, type QueueName } from '../queues/catalog.ts';
import type { RedisClient } from '../redis/client.ts';
import { settleWithin } from '../runtime/shutdown.ts';
import { SPAN_ATTRIBUTES } from '../runtime/telemetry.ts';
import { createCoordinatorProcessor } from './coordinator.ts';
import { createDecisionProcessor } from './decision.ts';
import { createDiagnosticProcessor } from './diagnostic.ts';
import { createNotificationProcessor } from './notification.ts';
import type { Processor } from './processor.ts';
import { createRemediationProcessor } from './remediation.ts';

export interface WorkerSettings {
  diagnosticConcurrency: number;
  /** Remediations started per minute across every worker (a Redis-held limit). */
  remediationRatePerMinute: number;
  /** Remediations running at once across every worker (a Redis-held limit). */
  remediationConcurrency: number;
  /** How soon a dead worker's job is handed to another (BullMQ defaults: 30 s each). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

const PROCESSORS: Record<QueueName, (deps: PipelineDeps) => Processor> = {
  triggers: createCoordinatorProcessor,
  diagnostics: createDiagnosticProcessor,
  decisions: createDecisionProcessor,
  remediations: createRemediationProcessor,
  notifications: createNotificationProcessor,
};

/**
 * How many times a job may lose its worker (SIGKILL, OOM, a node gone) and still be retried.
 * BullMQ's default (1) fails a job for good on its second loss, with nothing on the incident: a
 * trigger lost twice leaves an incident never diagnosed nor escalated, a diagnostic becomes an
 * `error` verdict. Every Fireline job is safe to run again (deterministic job ids, compare-and-set
 * on steps, the at-most-once marker of non-idempotent actions); the limit only stops a job that
 * kills every worker that takes it.
 */
export const MAX_STALLED_COUNT = 5;

const ARCHIVE_SCHEDULER = 'history-archive';
/** How often the history archive looks for changed incidents (src/incidents/archive.ts). */
const ARCHIVE_EVERY_MS = 1000;

/**
 * Puts the job's incident, runbook and step ids on the `process` span BullMQ made for it (active
 * while the processor runs). Ids only: the rest of the payload stays out of traces.
 */
function withSpanIds(processor: Processor): Processor {
  return (job, token, signal) => {
    const span = trace.getActiveSpan();
    const data = (job.data ?? {}) as Record<string, unknown>;
    const ids = [
      [SPAN_ATTRIBUTES.incidentId, data.incidentId],
      [SPAN_ATTRIBUTES.runbookId, data.runbookId],
      [SPAN_ATTRIBUTES.stepId, data.stepId],
    ] as const;
    for (const [key, value] of ids) if (typeof value === 'string') span?.setAttribute(key, value);
    return processor(job, token, signal);
  };
}

/** How long cancelled jobs get to wind down before shutdown stops waiting for them. */
const CANCEL_GRACE_MS = 3000;

export interface RunningWorkers {
  workers: Worker[];
  /** Waits for active jobs up to `deadlineMs`, then forces; idempotent. */
  close(deadlineMs: number): Promise<void>;
}

/**
 * Starts one BullMQ worker per named queue, each on its own blocking connection. Sets the
 * remediation queue's global rate limit and concurrency (held in Redis, so they bind every worker
 * process) and the retention sweep scheduler. With `telemetry`, each job is processed in a span
 * that continues the trace of whoever added it.
 */
export async function startWorkers(
  deps: PipelineDeps,
  connection: () => RedisClient,
  queues: readonly QueueName[],
  settings: WorkerSettings,
  telemetry?: Telemetry,
): Promise<RunningWorkers> {
  const remediations = deps.queues.byName.remediations;
  if (queues.includes(QUEUES.remediations)) {
    await remediations.setGlobalConcurrency(settings.remediationConcurrency);
    await remediations.setGlobalRateLimit(settings.remediationRatePerMinute, 60_000);
  }
  if (queues.includes(QUEUES.triggers)) {
    await deps.queues.byName.triggers.upsertJobScheduler(
      'retention-sweep',
      { every: 3600_000 },
      { name: 'sweep', data: {} },
    );
    await upsertThresholdSchedulers(deps);
    // The history archive: a pass a second; with the history off, none (and none left behind).
    if (deps.history)
      await deps.queues.byName.triggers.upsertJobScheduler(
        ARCHIVE_SCHEDULER,
        { every: ARCHIVE_EVERY_MS },
        { name: 'archive', data: {} },
      );
    else await deps.queues.byName.triggers.removeJobScheduler(ARCHIVE_SCHEDULER);
  }

  // BullMQ stores the worker's name on each job it takes (`job.processedBy`): which process did
  // the work, for operators and the scale-out test, without an entry on the timeline.
  const workerName = `${hostname()}-${process.pid}`;
  const connections: RedisClient[] = [];
  const workers = queues.map((name) => {
    const conn = connection();
    connections.push(conn);
    const opts: WorkerOptions = {
      connection: conn,
      prefix: deps.queues.prefix,
      name: workerName,
      concurrency:
        name === QUEUES.diagnostics
          ? settings.diagnosticConcurrency
          : name === QUEUES.remediations
            ? settings.remediationConcurrency
            : 10,
      maxStalledCount: MAX_STALLED_COUNT,
      ...(settings.lockDurationMs ? { lockDuration: settings.lockDurationMs } : {}),
      ...(settings.stalledIntervalMs ? { stalledInterval: settings.stalledIntervalMs } : {}),
      telemetry,
    };
    const processor = PROCESSORS[name](deps);
    const worker = new Worker(name, telemetry ? withSpanIds(processor) : processor, opts);
    const log = deps.logger.child({ queue: name });
    worker.on('failed', (job, err) => {
      log.warn({ jobId: job?.id, err }, 'job failed');
      if (job)
        recordFinalFailure(deps, job, err, log).catch((recordErr: unknown) =>
          log.error({ jobId: job.id, err: recordErr }, 'could not record a failed job on its incident'),
        );
    });
    worker.on('error', (err) => log.error({ err }, 'worker error'));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  let closing: Promise<void> | undefined;
  return {
    workers,
    close(deadlineMs) {
      closing ??= (async () => {
        const log = deps.logger;
        const graceful = Promise.all(workers.map((w) => w.close()));
        if ((await settleWithin(graceful, deadlineMs, log, 'finish active jobs')) === 'late') {
          // Abort the signals of active jobs: executors kill their processes and sockets, and the
          // jobs go back to the queue for another worker.
          for (const w of workers) w.cancelAllJobs('shutdown');
          if ((await settleWithin(graceful, CANCEL_GRACE_MS, log, 'cancel active jobs')) === 'late') {
            // Nothing more to wait for (Redis is gone, say): drop the connections so the process
            // can exit; stalled jobs move to another worker once their locks expire.
            await settleWithin(
              Promise.all(workers.map((w) => w.disconnect())),
              CANCEL_GRACE_MS,
              log,
              'disconnect workers',
            );
            for (const c of connections) c.disconnect();
            return;
          }
        }
        await Promise.all(connections.map((c) => (c.status === 'ready' ? c.quit() : c.disconnect())));
      })();
      return closing;
    },
  };
}
