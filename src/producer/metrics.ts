import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Core } from '../incidents/core.ts';
import type { Logger } from '../logger.ts';
import type { RejectReason, WebhookSource } from './alert-payloads.ts';
import { defineEventMetrics, eventRecorder, rejectedAlertsCounter } from './metrics-events.ts';
import { EventFeed } from './metrics-feed.ts';

/** What the metrics need: the pipeline (its Redis, queues, catalog and progress hub) and a logger. */
export interface MetricsDeps {
  pipeline: Core;
  logger: Logger;
}

export interface MetricsOptions {
  /** Wait before following the events stream again after the follower failed (default 5 s). */
  restartDelayMs?: number;
}

/** Prometheus metrics of one app instance; `start` begins feeding them from the events stream. */
export interface Metrics {
  /** This instance's registry (never the global one, so several apps can live in one process). */
  readonly registry: Registry;
  /** Follows the global events stream from now on. Rejects when Redis cannot be read. */
  start(): Promise<void>;
  /** Counts one alert a webhook of this app rejected (nothing of it reached Redis). */
  alertRejected(source: WebhookSource, reason: RejectReason): void;
  /** Stops following and finishes recording the events already received. Idempotent. */
  stop(): Promise<void>;
}

type QueueCounts = [queue: string, countsByState: Record<string, number>][];

/**
 * The registry and how it is fed: the process's default metrics; the event-derived metrics
 * (metrics-events.ts), fed by metrics-feed.ts from the global events stream, so they count the
 * work of every worker process on this Redis; the alerts this app's webhooks rejected, counted in
 * process as they are; and the queue gauges, read from Redis at scrape time.
 */
export function createMetrics(deps: MetricsDeps, opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fireline_' });
  const record = eventRecorder(deps.pipeline.deps, defineEventMetrics(registry));
  const alertRejected = rejectedAlertsCounter(registry);
  defineQueueGauges(registry, sharedCountsReader(deps));
  const feed = new EventFeed(deps.pipeline, deps.logger, record, opts.restartDelayMs ?? 5000);
  return { registry, start: () => feed.start(), stop: () => feed.stop(), alertRejected };
}

/**
 * Reads the job counts of every queue, or null when Redis cannot be read. Calls made while a read
 * is running share it: the registry collects metrics concurrently, and both gauges need it.
 */
function sharedCountsReader({ pipeline, logger }: MetricsDeps): () => Promise<QueueCounts | null> {
  const { queues } = pipeline.deps;
  let reading: Promise<QueueCounts | null> | null = null;
  return () => {
    reading ??= (async () => {
      try {
        return await Promise.all(
          Object.entries(queues.byName).map(
            async ([name, queue]): Promise<QueueCounts[number]> => [name, await queue.getJobCounts()],
          ),
        );
      } catch (err) {
        logger.warn({ err }, 'metrics: cannot read queue job counts');
        return null;
      } finally {
        reading = null;
      }
    })();
    return reading;
  };
}

/** The gauges read at scrape time: jobs per queue and state, and whether Redis could be read. */
function defineQueueGauges(registry: Registry, readCounts: () => Promise<QueueCounts | null>): void {
  const registers = [registry];
  const queueJobs: Gauge<'queue' | 'state'> = new Gauge({
    name: 'fireline_queue_jobs',
    help: 'Jobs in each queue by state, read at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      const counts = await readCounts();
      queueJobs.reset();
      for (const [queue, byState] of counts ?? [])
        for (const [state, n] of Object.entries(byState)) queueJobs.set({ queue, state }, n);
    },
  });
  const redisUp: Gauge = new Gauge({
    name: 'fireline_redis_up',
    help: '1 when this scrape could read the queues from Redis, else 0.',
    registers,
    async collect() {
      redisUp.set((await readCounts()) ? 1 : 0);
    },
  });
}
