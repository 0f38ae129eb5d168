import type { Telemetry } from 'bullmq';
import { ConnectionsSchema } from '../adapters/connections.ts';
import { type Adapters, createAdapters } from '../adapters/index.ts';
import type { RunbookCatalog } from '../engine/catalog.ts';
import type { NotificationPolicy } from '../engine/notification-policy.ts';
import type { HistoryDb } from '../history/db.ts';
import { createHistoryStore } from '../history/history-store.ts';
import type { Core } from '../incidents/core.ts';
import type { PipelineDeps } from '../incidents/deps.ts';
import { createIntake } from '../incidents/intake.ts';
import type { Logger } from '../logger.ts';
import { QUEUE_NAMES, type QueueName } from '../queues/catalog.ts';
import { createQueues } from '../queues/queues.ts';
import { createRedis, type RedisClient, waitReady } from '../redis/client.ts';
import { createDurability, type DurabilityMode } from '../redis/durability.ts';
import { effectivePrefix, isSentinelUrl } from '../redis/url.ts';
import { settleWithin } from '../runtime/shutdown.ts';
import { createArchiveFeed } from '../store/archive-feed.ts';
import { createChartLinks } from '../store/chart-links.ts';
import { createIncidentStore } from '../store/incident-store.ts';
import { storeKeys } from '../store/keys.ts';
import { createNotifyHolds } from '../store/notify-holds.ts';
import { createProgressHub } from '../store/progress.ts';
import { createSafety } from '../store/safety.ts';
import { createThresholdState } from '../store/threshold-state.ts';
import { type RunningWorkers, startWorkers, type WorkerSettings } from '../workers/index.ts';

export interface PipelineOptions {
  redisUrl: string;
  prefix: string;
  catalog: RunbookCatalog;
  logger: Logger;
  dryRun: boolean;
  /** The global notification policy (FIRELINE_NOTIFICATIONS); none: the built-in one. */
  notifications?: NotificationPolicy;
  retentionDays?: number;
  publicUrl?: string;
  /** The adapters (any left out: those needing no connection); the pipeline closes them. */
  adapters?: Partial<Adapters>;
  now?: () => Date;
  /**
   * The history database (src/history/db.ts), opened by the caller, who also closes it after the
   * pipeline: with it, incidents are archived and read back once swept. None: the history is off.
   */
  history?: HistoryDb;
  /** BullMQ telemetry (see telemetry.ts) for every queue, flow producer and worker; none when off. */
  telemetry?: Telemetry;
  /**
   * What a 2xx to an alert and an action's start wait for (src/redis/durability.ts). Default mode:
   * `replica` on a redis+sentinel:// URL, else `primary`; default timeout 2000 ms.
   */
  durability?: { mode?: DurabilityMode; timeoutMs?: number };
}

/** Everything one process needs to take alerts, run workers and follow progress, on one Redis. */
export interface Pipeline extends Core {
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
/** How long each closing step may take before shutdown goes on without it. */
const CLOSE_STEP_MS = 3000;

export function createPipeline(options: PipelineOptions): Pipeline {
  // On a Redis Cluster every key, store and BullMQ alike, must share one hash slot.
  const { prefix, wrapped } = effectivePrefix(options.redisUrl, options.prefix);
  if (wrapped)
    options.logger.info(
      { prefix, configured: options.prefix },
      'Redis Cluster: using the prefix as a hash tag so every Fireline key is in one slot',
    );
  const opts = { ...options, prefix };
  const redis = createRedis(opts.redisUrl, 'producer');
  const queueConnection = createRedis(opts.redisUrl, 'producer');
  const owned: RedisClient[] = [redis, queueConnection];
  const durabilityMode = opts.durability?.mode ?? (isSentinelUrl(opts.redisUrl) ? 'replica' : 'primary');
  // WAIT blocks its connection: the replica mode gets one of its own.
  const waitConnection = durabilityMode === 'replica' ? createRedis(opts.redisUrl, 'producer') : undefined;
  if (waitConnection) owned.push(waitConnection);
  for (const c of owned) c.on('error', (err) => opts.logger.warn({ err }, 'redis connection error'));
  const now = opts.now ?? (() => new Date());
  const adapters: Adapters = { ...createAdapters(ConnectionsSchema.parse({})), ...opts.adapters };
  const deps: PipelineDeps = {
    // The global stream serves live views and SSE resumes (minutes); each incident keeps its own
    // full timeline, so 10k events here bound Redis without losing history.
    store: createIncidentStore({ redis, prefix: opts.prefix, now, eventsMaxLen: 10_000 }),
    safety: createSafety(redis, opts.prefix, () => now().getTime()),
    thresholds: createThresholdState(redis, opts.prefix),
    holds: createNotifyHolds(redis, opts.prefix),
    chartLinks: createChartLinks(redis, opts.prefix),
    queues: createQueues(queueConnection, opts.prefix, opts.logger, opts.telemetry),
    feed: createArchiveFeed(redis, storeKeys(opts.prefix)),
    durability: createDurability({
      mode: durabilityMode,
      timeoutMs: opts.durability?.timeoutMs ?? 2000,
      ...(waitConnection ? { connection: waitConnection } : {}),
      sequenceKey: storeKeys(opts.prefix).marker('durability'),
    }),
    ...(opts.history ? { history: createHistoryStore(opts.history, opts.prefix) } : {}),
    catalog: opts.catalog,
    connections: adapters.connections,
    diagnostics: adapters.diagnostics,
    actions: adapters.actions,
    notifiers: adapters.notifiers,
    logger: opts.logger,
    redis,
    dryRun: opts.dryRun,
    ...(opts.notifications ? { notifications: opts.notifications } : {}),
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
      const workers = await startWorkers(
        deps,
        () => createRedis(opts.redisUrl, 'worker'),
        queues,
        settings,
        opts.telemetry,
      );
      running.push(workers);
      return workers;
    },
    close(deadlineMs = 10_000) {
      closing ??= (async () => {
        await Promise.all(running.map((w) => w.close(deadlineMs)));
        // Each step is bounded: with Redis gone, a close may wait forever for a reply.
        const log = options.logger;
        await settleWithin(progress.close(), CLOSE_STEP_MS, log, 'close progress hub');
        await settleWithin(deps.queues.close(), CLOSE_STEP_MS, log, 'close queues');
        await settleWithin(adapters.close(), CLOSE_STEP_MS, log, 'close adapters');
        // QUIT needs a live connection; with Redis gone, just stop reconnecting.
        await Promise.all(owned.map((c) => (c.status === 'ready' ? c.quit() : c.disconnect())));
      })();
      return closing;
    },
  };
}
