import type { CommandContext } from './cli.ts';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { createLogger } from './logger.ts';
import { parseQueues, type Role, startFireline } from './main.ts';
import { untilShutdown } from './shutdown.ts';

/** `fireline start`: runs until SIGINT/SIGTERM, then shuts down gracefully; resolves to the exit code. */
export async function runStart({ values, io }: CommandContext): Promise<number> {
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
  const logger = createLogger({ level: config.LOG_LEVEL });
  const redisUrl = config.REDIS_URL ?? 'redis://127.0.0.1:6379';
  try {
    const fireline = await startFireline(config, logger, redisUrl, {
      role: (values.role as Role) ?? 'all',
      queues,
    });
    await untilShutdown(['SIGINT', 'SIGTERM'], logger, () => fireline.stop());
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`fireline start: ${err.message}\n`);
    return 1;
  } finally {
    logger.flush();
  }
}
