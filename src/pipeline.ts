import type { Redis } from 'ioredis';
import { type ActionRegistry, createActionRegistry } from './adapters/actions/registry.ts';
import { createDiagnosticRegistry, type DiagnosticRegistry } from './adapters/diagnostics/registry.ts';
import { createNotifierRegistry, type NotifierRegistry } from './adapters/notifiers/registry.ts';
import type { RunbookCatalog } from './catalog.ts';
import type { Logger } from './logger.ts';
import { createIntake, type Intake } from './producer/intake.ts';
import { createQueues, QUEUE_NAMES, type QueueName } from './queues.ts';
import { createRedis, waitReady } from './redis.ts';
import { createIncidentStore } from './store/incident-store.ts';
import { createProgressHub, type ProgressHub } from './store/progress.ts';
import { createSafety } from './store/safety.ts';
import type { PipelineDeps } from './workers/deps.ts';
import { type RunningWorkers, startWorkers, type WorkerSettings } from './workers/index.ts';

export interface PipelineOptions {
  redisUrl: string;
  prefix: string;
  catalog: RunbookCatalog;
  logger: Logger;
  dryRun: boolean;
  retentionDays?: number;
  publicUrl?: string;
  diagnostics?: DiagnosticRegistry;
  actions?: ActionRegistry;
  notifiers?: NotifierRegistry;
  now?: () => Date;
}

/** Everything one process needs to take alerts, run workers and follow progress, on one Redis. */
export interface Pipeline {
  deps: PipelineDeps;
  intake: Intake;
  progress: ProgressHub;
  /** Resolves once the request connections are up (they fail fast, never queue commands). */
  ready(): Promise<void>;
  /** Starts workers on the given queues (all by default). */
  startWorkers(settings: WorkerSettings, queues?: readonly QueueName[]): Promise<RunningWorkers>;
  /** Stops workers (within the deadline), the progress hub, queues and connections, in that order. */
  close(deadlineMs?: number): Promise<void>;
}

/**
 * Wires store, queues, registries and processors on one Redis. Two connections for requests (the
 * producer role fails fast so the API can answer 503), one per worker, one subscriber.
 */
export function createPipeline(opts: PipelineOptions): Pipeline {
  const redis = createRedis(opts.redisUrl, 'producer');
  const queueConnection = createRedis(opts.redisUrl, 'producer');
  const owned: Redis[] = [redis, queueConnection];
  const now = opts.now ?? (() => new Date());
  const deps: PipelineDeps = {
    store: createIncidentStore({ redis, prefix: opts.prefix, now }),
    safety: createSafety(redis, opts.prefix, () => now().getTime()),
    queues: createQueues(queueConnection, opts.prefix),
    catalog: opts.catalog,
    diagnostics: opts.diagnostics ?? createDiagnosticRegistry(),
    actions: opts.actions ?? createActionRegistry(),
    notifiers: opts.notifiers ?? createNotifierRegistry(),
    logger: opts.logger,
    redis,
    dryRun: opts.dryRun,
    retentionDays: opts.retentionDays ?? 90,
    now,
    ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
  };
  const progress = createProgressHub({
    redis,
    createSubscriber: () => createRedis(opts.redisUrl, 'subscriber'),
    prefix: opts.prefix,
    onError: (err) => opts.logger.error({ err }, 'progress channel error'),
  });
  const running: RunningWorkers[] = [];
  let closing: Promise<void> | undefined;
  return {
    deps,
    intake: createIntake(deps),
    progress,
    async ready() {
      await Promise.all(owned.map(waitReady));
    },
    async startWorkers(settings, queues = QUEUE_NAMES) {
      const workers = await startWorkers(deps, () => createRedis(opts.redisUrl, 'worker'), queues, settings);
      running.push(workers);
      return workers;
    },
    close(deadlineMs = 10_000) {
      closing ??= (async () => {
        await Promise.all(running.map((w) => w.close(deadlineMs)));
        await progress.close();
        await deps.queues.close();
        await Promise.all(owned.map((c) => c.quit()));
      })();
      return closing;
    },
  };
}
