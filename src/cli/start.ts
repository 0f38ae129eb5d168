import { join } from 'node:path';
import { loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { createLogger, type Logger, logFormatFor } from '../logger.ts';
import { banner, type Fireline, parseQueues, type Role, startFireline } from '../main.ts';
import { EventFeed } from '../producer/metrics-feed.ts';
import { resolveRedis } from '../redis/launcher.ts';
import { untilShutdown } from '../runtime/shutdown.ts';
import type { CommandContext } from './context.ts';

/** `fireline start`: runs until SIGINT/SIGTERM, then shuts down gracefully; resolves to the exit code. */
export async function runStart({ values, io }: CommandContext): Promise<number> {
  const role = (values.role as Role | undefined) ?? 'all';
  let config: ReturnType<typeof loadConfig>;
  let queues: ReturnType<typeof parseQueues>;
  try {
    config = loadConfig();
    queues = parseQueues(values.queues as string | undefined);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`fireline start: ${err.message}\n`);
    return 1;
  }
  const format = logFormatFor(config.FIRELINE_LOG_FORMAT, Boolean(process.stdout.isTTY));
  const logger = createLogger({ level: config.LOG_LEVEL, format });
  let story: EventFeed | undefined;
  try {
    const redis = await resolveRedis(config, join(config.FIRELINE_DATA_DIR, 'redis'), logger);
    const starting = startFireline(config, logger, redis, { role, queues }).catch(async (err: unknown) => {
      await redis.stop();
      throw err;
    });
    // Listen for signals before starting: a SIGTERM during start-up waits for it, then stops.
    // A start that failed has nothing to stop; its error is reported below, where it is awaited.
    const started = starting.then(
      (f) => f,
      () => undefined,
    );
    const stopped = untilShutdown(['SIGINT', 'SIGTERM'], logger, async () => {
      await story?.stop();
      await (await started)?.stop();
    });
    const fireline = await starting;
    const ids = fireline.pipeline.deps.catalog.all().map((c) => c.runbook.id);
    const tokens = Boolean(
      config.FIRELINE_INGEST_TOKEN ||
        config.FIRELINE_OPERATOR_TOKEN ||
        config.FIRELINE_VIEWER_TOKEN ||
        config.FIRELINE_TOKENS_FILE,
    );
    io.stdout.write(banner(fireline, role, redis, ids, tokens));
    if (format === 'pretty' && role !== 'worker') story = await tellIncidents(fireline, logger);
    await stopped;
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`fireline start: ${err.message}\n`);
    return 1;
  } finally {
    logger.flush();
  }
}

/** Events the story leaves out: the `incident.status` line before them says the same. */
const QUIET_EVENTS = new Set(['diagnostic.started']);

/**
 * On a terminal, the incidents' story as it happens: one log line per timeline event of every
 * incident (`incident.opened`, `diagnostic.finished`, …), from the global events stream, so the
 * person who ran `npm start` sees what Fireline does without opening the console. Failures
 * (`*.failed`, `escalation.fired`) are warnings.
 */
async function tellIncidents(fireline: Fireline, logger: Logger): Promise<EventFeed> {
  const feed = new EventFeed(
    fireline.pipeline,
    logger,
    async (event) => {
      if (QUIET_EVENTS.has(event.type)) return;
      const level = event.type.endsWith('.failed') || event.type === 'escalation.fired' ? 'warn' : 'info';
      // The id leads the line (not a trailing field): one incident's lines line up under each other.
      logger[level](`${event.incidentId}  ${event.type}  ${event.message}`);
    },
    5000,
  );
  await feed.start();
  return feed;
}
