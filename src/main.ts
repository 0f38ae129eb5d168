import { createCatalog } from './catalog.ts';
import type { Config } from './config.ts';
import { formatIssue } from './engine/runbook-parse.ts';
import { ConfigError } from './errors.ts';
import type { Logger } from './logger.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';
import { QUEUE_NAMES, type QueueName } from './queues.ts';
import { hasErrors, loadRunbooks } from './runbooks.ts';

export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

export interface StartOptions {
  role: Role;
  /** For `worker`: the queues to work on (all by default). */
  queues?: readonly QueueName[];
}

/** A running Fireline process; `stop` is what SIGTERM does. */
export interface Fireline {
  pipeline: Pipeline;
  stop(): Promise<void>;
}

/** Parses `--queues a,b`, naming an unknown queue. */
export function parseQueues(list: string | undefined): QueueName[] {
  if (!list) return [...QUEUE_NAMES];
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(QUEUE_NAMES as readonly string[]).includes(n));
  if (unknown.length)
    throw new ConfigError(
      `--queues: unknown queue ${unknown.join(', ')}; expected some of ${QUEUE_NAMES.join(', ')}`,
    );
  return names as QueueName[];
}

/**
 * Starts Fireline in one role: loads and lints the runbooks (a bad set refuses to start), wires
 * the pipeline on Redis and starts the workers. The HTTP API joins in the `api` and `all` roles.
 */
export async function startFireline(
  config: Config,
  logger: Logger,
  redisUrl: string,
  opts: StartOptions,
): Promise<Fireline> {
  const loaded = await loadRunbooks([config.FIRELINE_RUNBOOKS]);
  for (const issue of loaded.issues)
    logger[issue.severity === 'error' ? 'error' : 'warn'](formatIssue(issue));
  if (hasErrors(loaded.issues))
    throw new ConfigError(`runbooks in ${config.FIRELINE_RUNBOOKS} have errors (see above); not starting`);
  const pipeline = createPipeline({
    redisUrl,
    prefix: config.FIRELINE_PREFIX,
    catalog: createCatalog(loaded.runbooks),
    logger,
    dryRun: config.FIRELINE_DRY_RUN,
    retentionDays: config.FIRELINE_RETENTION_DAYS,
  });
  await pipeline.ready();
  if (opts.role !== 'api') {
    const queues = opts.queues ?? QUEUE_NAMES;
    await pipeline.startWorkers(
      {
        diagnosticConcurrency: config.FIRELINE_DIAGNOSTIC_CONCURRENCY,
        remediationRatePerMinute: config.FIRELINE_REMEDIATION_RATE_PER_MINUTE,
        remediationConcurrency: config.FIRELINE_REMEDIATION_CONCURRENCY,
        lockDurationMs: config.FIRELINE_LOCK_DURATION_MS,
        stalledIntervalMs: config.FIRELINE_STALLED_INTERVAL_MS,
      },
      queues,
    );
    logger.info({ queues, runbooks: loaded.runbooks.map((r) => r.runbook.id) }, 'workers started');
  }
  return {
    pipeline,
    stop: () => pipeline.close(config.FIRELINE_SHUTDOWN_TIMEOUT_MS),
  };
}
