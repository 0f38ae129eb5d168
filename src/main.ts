import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Connections, configuredConnections, loadConnections } from './adapters/connections.ts';
import { createAdapters } from './adapters/index.ts';
import { hasErrors, loadRunbooks } from './adapters/runbook-files.ts';
import { type Config, loadTokensFile, redactUrl } from './config.ts';
import { createCatalog } from './engine/catalog.ts';
import { formatIssue } from './engine/runbook-parse.ts';
import { ConfigError } from './errors.ts';
import { type HistoryDb, openHistoryDb } from './history/db.ts';
import type { Logger } from './logger.ts';
import { createPipeline, type Pipeline } from './process/pipeline.ts';
import { type AuthConfig, authEnabled, BULL_BOARD_PATH } from './producer/auth.ts';
import { QUEUE_NAMES, type QueueName } from './queues/catalog.ts';
import type { RedisTarget } from './redis/launcher.ts';
import { settleWithin } from './runtime/shutdown.ts';
import { startTelemetry } from './runtime/telemetry.ts';

/** How long one step of stop() may take (the pipeline gets the shutdown timeout on top). */
const STOP_STEP_MS = 5000;

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
  /** The API's URL when this process serves HTTP. */
  url?: string;
  /** The adapters' connections it loaded (environment and FIRELINE_CONFIG). */
  connections: Connections;
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

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Tokens from the environment and FIRELINE_TOKENS_FILE (read here; a bad line stops start-up);
 * without any, only a loopback address may be bound.
 */
export function authFrom(config: Config): AuthConfig {
  const auth: AuthConfig = {
    ...(config.FIRELINE_INGEST_TOKEN ? { ingestToken: config.FIRELINE_INGEST_TOKEN } : {}),
    ...(config.FIRELINE_OPERATOR_TOKEN ? { operatorToken: config.FIRELINE_OPERATOR_TOKEN } : {}),
    ...(config.FIRELINE_VIEWER_TOKEN ? { viewerToken: config.FIRELINE_VIEWER_TOKEN } : {}),
    ...(config.FIRELINE_TOKENS_FILE ? { namedTokens: loadTokensFile(config.FIRELINE_TOKENS_FILE) } : {}),
  };
  if (!authEnabled(auth) && !LOOPBACK.has(config.HOST))
    throw new ConfigError(
      `HOST=${config.HOST}: refusing to listen beyond loopback with authentication off; set FIRELINE_INGEST_TOKEN, FIRELINE_OPERATOR_TOKEN and FIRELINE_VIEWER_TOKEN (16+ characters each) or FIRELINE_TOKENS_FILE, or use HOST=127.0.0.1`,
    );
  return auth;
}

/**
 * The history database the configuration asks for (none when FIRELINE_HISTORY=off), its schema
 * brought up to date. Without DATABASE_URL it is the embedded PostgreSQL, which one process alone
 * may open: a process in the `api` or `worker` role refuses to start, saying why.
 */
export async function openHistory(config: Config, role: Role, logger: Logger): Promise<HistoryDb | null> {
  if (config.FIRELINE_HISTORY === 'off') return null;
  if (config.DATABASE_URL)
    return openHistoryDb({ url: config.DATABASE_URL }, (err) =>
      logger.warn({ err }, 'history database connection error'),
    );
  if (role !== 'all')
    throw new ConfigError(
      `role ${role} needs DATABASE_URL for the incident history: without it the history is an embedded PostgreSQL in ${config.FIRELINE_DATA_DIR}/history that only one process can open, and the API and the workers both use it. Set DATABASE_URL to a PostgreSQL every process reaches, or FIRELINE_HISTORY=off to run without history.`,
    );
  const dir = join(config.FIRELINE_DATA_DIR, 'history');
  if (!existsSync(dir)) logger.info({ dir }, 'creating the embedded history database (a few seconds, once)');
  const db = await openHistoryDb({ dir }, (err) => logger.warn({ err }, 'history database error'));
  logger.info({ dir }, 'incident history: embedded PostgreSQL (set DATABASE_URL to use a server)');
  return db;
}

/**
 * Starts Fireline in one role: loads and lints the runbooks (a bad set refuses to start), wires
 * the pipeline on Redis, starts the workers and, in the `api` and `all` roles, the HTTP API.
 * Stopping closes in reverse order: HTTP, metrics, workers, queues and connections, then Redis.
 */
export async function startFireline(
  config: Config,
  logger: Logger,
  redis: RedisTarget,
  opts: StartOptions,
): Promise<Fireline> {
  const serveHttp = opts.role !== 'worker';
  const auth = serveHttp ? authFrom(config) : {};
  const loaded = await loadRunbooks([config.FIRELINE_RUNBOOKS]);
  for (const issue of loaded.issues)
    logger[issue.severity === 'error' ? 'error' : 'warn'](formatIssue(issue));
  if (hasErrors(loaded.issues))
    throw new ConfigError(`runbooks in ${config.FIRELINE_RUNBOOKS} have errors (listed above); not starting`);
  const connections = await loadConnections(process.env, config.FIRELINE_CONFIG);
  const history = await openHistory(config, opts.role, logger);
  // Before the pipeline, so its queues and workers are built with the tracer; stopped last.
  const telemetry = await startTelemetry(config, logger);
  const pipeline = createPipeline({
    adapters: createAdapters(connections),
    redisUrl: redis.url,
    prefix: config.FIRELINE_PREFIX,
    catalog: createCatalog(loaded.runbooks),
    logger,
    dryRun: config.FIRELINE_DRY_RUN,
    ...(config.FIRELINE_NOTIFICATIONS ? { notifications: config.FIRELINE_NOTIFICATIONS } : {}),
    telemetry: telemetry.bullmqTelemetry,
    ...(history ? { history } : {}),
    retentionDays: config.FIRELINE_RETENTION_DAYS,
    durability: {
      ...(config.FIRELINE_DURABILITY ? { mode: config.FIRELINE_DURABILITY } : {}),
      timeoutMs: config.FIRELINE_DURABILITY_TIMEOUT_MS,
    },
    publicUrl:
      config.FIRELINE_PUBLIC_URL ??
      `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`,
  });
  // What stop() undoes, in start order; each step is guarded and bounded, so one that fails or
  // hangs (Redis gone) neither stops the others nor keeps the process up.
  const stops: { step: string; ms: number; run: () => Promise<unknown> }[] = [
    { step: 'stop tracing', ms: STOP_STEP_MS, run: () => telemetry.shutdown() },
    { step: 'stop redis-server', ms: STOP_STEP_MS, run: () => redis.stop() },
    { step: 'close history database', ms: STOP_STEP_MS, run: async () => history?.close() },
    {
      step: 'close pipeline',
      // Workers get the whole shutdown timeout for active jobs; the pipeline's other steps are bounded too.
      ms: config.FIRELINE_SHUTDOWN_TIMEOUT_MS + 4 * STOP_STEP_MS,
      run: () => pipeline.close(config.FIRELINE_SHUTDOWN_TIMEOUT_MS),
    },
  ];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const { step, ms, run } of [...stops].reverse()) await settleWithin(run(), ms, logger, step);
    })();
    return stopping;
  };
  try {
    await pipeline.ready().catch((err: Error) => {
      throw new ConfigError(`cannot reach Redis at ${redactUrl(redis.url)}: ${err.message}`);
    });
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
    if (!serveHttp) return { pipeline, connections, stop };
    const { createMetrics } = await import('./producer/metrics.ts');
    const { listen } = await import('./producer/server.ts');
    const metrics = createMetrics({ pipeline, logger });
    await metrics.start();
    stops.push({ step: 'stop metrics', ms: STOP_STEP_MS, run: () => metrics.stop() });
    const http = await listen(
      {
        pipeline,
        auth,
        logger,
        runbookPaths: [config.FIRELINE_RUNBOOKS],
        ...(config.FIRELINE_GRAFANA_SECRET ? { grafanaSecret: config.FIRELINE_GRAFANA_SECRET } : {}),
        ...(connections.slack.signingSecret ? { slackSigningSecret: connections.slack.signingSecret } : {}),
        ...(connections.slack.approvers ? { slackApprovers: connections.slack.approvers } : {}),
      },
      metrics,
      config.HOST,
      config.PORT,
    );
    stops.push({ step: 'close HTTP server', ms: STOP_STEP_MS, run: () => http.close() });
    if (!authEnabled(auth))
      logger.warn(
        `AUTHENTICATION IS OFF: set FIRELINE_*_TOKEN to require tokens; listening on ${config.HOST} only`,
      );
    logger.info({ url: http.url, redis: redis.source, runbooks: loaded.runbooks.length }, 'API listening');
    return { pipeline, url: http.url, connections, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What `fireline start` prints for a human once it is up. */
export function banner(
  f: Fireline,
  role: Role,
  redis: RedisTarget,
  runbookIds: readonly string[],
  auth: boolean,
): string {
  const url = redactUrl(redis.url);
  const lines = [
    `Fireline is running (role ${role}; Redis: ${redis.source === 'private' ? `private redis-server at ${url}` : url})`,
  ];
  lines.push(`Runbooks loaded (${runbookIds.length}): ${runbookIds.join(', ') || 'none'}`);
  const connected = configuredConnections(f.connections);
  if (connected.length === 0) {
    lines.push('No connections configured: no Prometheus, Loki, databases, Kubernetes, Slack, PagerDuty or');
    lines.push('  webhooks (README "Connections"), so checks end "not configured" and nothing is notified.');
    lines.push('  See it work end to end:       npm run demo');
    lines.push('  See what each runbook needs:  npx fireline doctor');
  } else {
    lines.push(`Connections:    ${connected.join(', ')} (npx fireline doctor checks each runbook's needs)`);
  }
  if (f.url) {
    lines.push(`Console:        ${f.url}/`);
    lines.push(`Queues:         ${f.url}${BULL_BOARD_PATH}`);
    lines.push('Point Alertmanager at it (alertmanager.yml):');
    lines.push('  receivers:');
    lines.push('    - name: fireline');
    lines.push('      webhook_configs:');
    lines.push(`        - url: ${f.url}/api/v1/alerts/alertmanager`);
    if (auth)
      lines.push('          http_config: { authorization: { credentials: <FIRELINE_INGEST_TOKEN> } }');
    lines.push('          send_resolved: true');
  }
  lines.push('Stop with Ctrl-C.');
  return `${lines.join('\n')}\n`;
}
