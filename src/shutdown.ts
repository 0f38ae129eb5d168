import type { Logger } from './logger.ts';

/**
 * Resolves once the first of `signals` has arrived and `handler` has finished; a second signal
 * while the handler runs forces the exit. Only entry points call this (it may end the process).
 */
export function untilShutdown(
  signals: readonly NodeJS.Signals[],
  logger: Logger,
  handler: (signal: string) => Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let shuttingDown = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (shuttingDown) {
        logger.warn({ signal }, 'second signal: exiting now');
        logger.flush();
        process.exit(1);
      }
      shuttingDown = true;
      logger.info({ signal }, 'shutting down');
      handler(signal).then(() => {
        for (const s of signals) process.off(s, onSignal);
        logger.info('stopped cleanly');
        resolve();
      }, reject);
    };
    for (const signal of signals) process.on(signal, onSignal);
  });
}
