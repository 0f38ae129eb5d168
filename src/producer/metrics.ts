import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { parseNotifyAddress } from '../engine/notify-address.ts';
import { type Incident, type TimelineEvent, VERDICT_STATUSES, type VerdictStatus } from '../engine/types.ts';
import { AdapterError, InvalidOperationError } from '../errors.ts';
import type { Core } from '../incidents/core.ts';
import type { Logger } from '../logger.ts';
import { type StreamEntry, storeKeys } from '../store/keys.ts';
import type { FollowHandle } from '../store/progress.ts';

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
  /** Stops following and finishes recording the events already received. Idempotent. */
  stop(): Promise<void>;
}

type QueueCounts = [queue: string, countsByState: Record<string, number>][];

type IncidentInfo = Pick<Incident, 'runbookId' | 'severity' | 'createdAt'>;

const INCIDENT_CACHE_SIZE = 10_000;

/** Events whose metrics need the incident's runbook or times (besides the remediation ones). */
const INCIDENT_EVENTS = new Set<TimelineEvent['type']>([
  'incident.opened',
  'decision.made',
  'diagnostic.finished',
]);

const REMEDIATION_OUTCOMES: Partial<Record<TimelineEvent['type'], string>> = {
  'remediation.succeeded': 'succeeded',
  'remediation.failed': 'failed',
  'remediation.dry_run': 'dry_run',
  'remediation.skipped': 'skipped',
  'remediation.outcome_unknown': 'outcome_unknown',
};

/**
 * The registry and how it is fed. Event-derived metrics come from the global events stream (via
 * the progress hub), so they count work done by every worker process on this Redis, not only
 * this one. Label values come from runbooks (ids, step and action types) and never from alert
 * labels: those are untrusted and unbounded.
 */
export function createMetrics(deps: MetricsDeps, opts: MetricsOptions = {}): Metrics {
  const { pipeline, logger } = deps;
  const { catalog, queues, redis, store } = pipeline.deps;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fireline_' });
  const registers = [registry];

  const incidents = new Counter({
    name: 'fireline_incidents_total',
    help: 'Incidents opened, by runbook and severity.',
    labelNames: ['runbook', 'severity'] as const,
    registers,
  });
  const timeToEvidence = new Histogram({
    name: 'fireline_time_to_evidence_seconds',
    help: 'From the alert received (incident opened) to every verdict in (decision made).',
    buckets: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800],
    registers,
  });
  const diagnosticDuration = new Histogram({
    name: 'fireline_diagnostic_duration_seconds',
    help: 'How long a diagnostic step ran, by step type and verdict.',
    labelNames: ['type', 'verdict'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const remediations = new Counter({
    name: 'fireline_remediations_total',
    help: 'Remediation outcomes, by action type (retrying: an attempt failed and will be retried).',
    labelNames: ['action', 'outcome'] as const,
    registers,
  });
  const notifications = new Counter({
    name: 'fireline_notifications_total',
    help: 'Notifications sent or failed, by notifier channel (slack, pagerduty, webhook).',
    labelNames: ['channel', 'outcome'] as const,
    registers,
  });

  // Both gauges read one shared count per scrape: the registry collects metrics concurrently.
  let reading: Promise<QueueCounts | null> | null = null;
  const readCounts = () => {
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

  // Incident facts the labels need, looked up once per incident (events carry only its id).
  const cache = new Map<string, Promise<IncidentInfo | null>>();
  const incidentOf = (id: string): Promise<IncidentInfo | null> => {
    let found = cache.get(id);
    if (!found) {
      found = store
        .get(id)
        .then((i) => i && { runbookId: i.runbookId, severity: i.severity, createdAt: i.createdAt });
      found.catch(() => cache.delete(id)); // the caller logs it; the next event tries again
      cache.set(id, found);
      if (cache.size > INCIDENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    return found;
  };
  const runbookOf = (id: string) => catalog.get(id)?.runbook;
  const stringData = (event: TimelineEvent, key: string) => {
    const value = event.data?.[key];
    return typeof value === 'string' ? value : undefined;
  };

  async function record(event: TimelineEvent): Promise<void> {
    if (event.type === 'notification.sent' || event.type === 'notification.failed') {
      notifications.inc({
        channel: channelKind(stringData(event, 'channel')),
        outcome: event.type === 'notification.sent' ? 'sent' : 'failed',
      });
      return;
    }
    const outcome = REMEDIATION_OUTCOMES[event.type];
    if (!outcome && !INCIDENT_EVENTS.has(event.type)) return;
    const incident = await incidentOf(event.incidentId);
    if (!incident) return; // swept since: nothing to label it with
    const stepId = stringData(event, 'stepId');
    if (event.type === 'incident.opened') {
      incidents.inc({ runbook: incident.runbookId, severity: incident.severity });
    } else if (event.type === 'decision.made') {
      const seconds = (Date.parse(event.at) - Date.parse(incident.createdAt)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) timeToEvidence.observe(seconds);
    } else if (event.type === 'diagnostic.finished') {
      const durationMs = event.data?.durationMs;
      // A verdict made up for a lost child has no duration: there is nothing to time.
      if (typeof durationMs !== 'number') return;
      const status = stringData(event, 'status');
      const verdict = VERDICT_STATUSES.includes(status as VerdictStatus) ? (status as string) : 'unknown';
      const type = runbookOf(incident.runbookId)?.diagnostics.find((d) => d.id === stepId)?.type ?? 'unknown';
      diagnosticDuration.observe({ type, verdict }, durationMs / 1000);
    } else if (outcome) {
      const def = runbookOf(incident.runbookId)?.remediations.find((r) => r.id === stepId);
      const retrying = typeof event.data?.attemptsLeft === 'number' && event.data.attemptsLeft > 0;
      remediations.inc({ action: def?.action?.type ?? 'unknown', outcome: retrying ? 'retrying' : outcome });
    }
  }

  // Recorded one after another, so `stop` can wait for the last one.
  let recorded: Promise<void> = Promise.resolve();
  const enqueue = (event: TimelineEvent) => {
    recorded = recorded.then(() =>
      record(event).catch((err: unknown) =>
        logger.error(
          { err, eventType: event.type, incidentId: event.incidentId },
          'metrics: cannot record event',
        ),
      ),
    );
  };

  let cursor = '0';
  let handle: FollowHandle | null = null;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | null = null;

  async function follow(): Promise<void> {
    handle = await pipeline.progress.follow(
      null,
      cursor,
      (event, id) => {
        cursor = id;
        enqueue(event);
      },
      { onError: onFollowError },
    );
  }

  function onFollowError(err: unknown): void {
    handle = null;
    if (stopping) return;
    if (err instanceof InvalidOperationError) {
      logger.error({ err }, 'metrics: the progress hub is closed; event metrics stop here');
      return;
    }
    logger.error({ err }, 'metrics: following the events stream failed; following again shortly');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!stopping) follow().catch(onFollowError);
    }, opts.restartDelayMs ?? 5000);
    restartTimer.unref();
  }

  return {
    registry,
    async start() {
      if (handle || stopping) return;
      // The progress hub replays from an id; "from now" is after the newest entry of the stream.
      const events = storeKeys(queues.prefix).events;
      const [newest] = (await redis.xrevrange(events, '+', '-', 'COUNT', 1)) as StreamEntry[];
      cursor = newest?.[0] ?? '0';
      await follow();
    },
    stop() {
      stopping ??= (async () => {
        clearTimeout(restartTimer);
        await handle?.stop();
        handle = null;
        await recorded;
      })();
      return stopping;
    },
  };
}

/** The notifier channel of an address (`#ops` → slack, `pagerduty:payments` → pagerduty). */
function channelKind(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  try {
    return parseNotifyAddress(address).channel;
  } catch (err) {
    if (err instanceof AdapterError) return 'invalid';
    throw err;
  }
}
