import type { Logger } from '../logger.ts';

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

/**
 * Waits for `promise` at most `ms`: 'done' when it settled (a rejection is logged, shutdown goes
 * on), 'late' when it did not. Shutdown steps use it so one hung close cannot keep a process up.
 */
export async function settleWithin(
  promise: Promise<unknown>,
  ms: number,
  logger: Logger,
  step: string,
): Promise<'done' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), ms);
  });
  const settled = promise.then(
    () => 'done' as const,
    (err: unknown) => {
      logger.warn({ err, step }, 'shutdown step failed; going on');
      return 'done' as const;
    },
  );
  try {
    const result = await Promise.race([settled, late]);
    if (result === 'late') logger.warn({ step, ms }, 'shutdown step did not finish in time; going on');
    return result;
  } finally {
    clearTimeout(timer);
  }
}
