import type { Logger } from '../logger.ts';

/** How often a failure that keeps happening is counted in the log. */
export const REPEAT_SUMMARY_MS = 60 * 60 * 1000;

/**
 * The log of a failure that repeats on a schedule (a metric_threshold poll while Prometheus is not
 * configured, or down): said once, with the error, when a source first fails with it; while it
 * goes on, counted, and the count logged at most once per `summaryMs`; said again when every source
 * that failed with it works again. Failures are grouped by their message, so one missing connection
 * is one line however many runbooks poll through it.
 */
export interface RepeatedFailures {
  /** `source` (e.g. a scheduler id) failed with `err`. */
  failed(source: string, err: Error, fields: Record<string, unknown>): void;
  /** `source` worked. */
  worked(source: string): void;
}

interface Failure {
  sources: Set<string>;
  /** Failures since the last line about this one. */
  unlogged: number;
  total: number;
  lastLoggedMs: number;
}

export function createRepeatedFailures(opts: {
  logger: Logger;
  /** What failed, for the lines: e.g. "metric_threshold poll". */
  what: string;
  now: () => Date;
  summaryMs?: number;
}): RepeatedFailures {
  const summaryMs = opts.summaryMs ?? REPEAT_SUMMARY_MS;
  const byMessage = new Map<string, Failure>();
  return {
    failed(source, err, fields) {
      const nowMs = opts.now().getTime();
      const known = byMessage.get(err.message);
      if (!known) {
        byMessage.set(err.message, {
          sources: new Set([source]),
          unlogged: 0,
          total: 1,
          lastLoggedMs: nowMs,
        });
        opts.logger.warn(
          { ...fields, err, repeats: `counted, logged every ${Math.round(summaryMs / 60_000)} min` },
          `${opts.what} failed`,
        );
        return;
      }
      known.sources.add(source);
      known.unlogged++;
      known.total++;
      if (nowMs - known.lastLoggedMs < summaryMs) return;
      opts.logger.warn(
        { failures: known.unlogged, total: known.total, sources: [...known.sources] },
        `${opts.what} still failing: ${err.message}`,
      );
      known.unlogged = 0;
      known.lastLoggedMs = nowMs;
    },
    worked(source) {
      for (const [message, failure] of byMessage) {
        if (!failure.sources.delete(source) || failure.sources.size > 0) continue;
        byMessage.delete(message);
        opts.logger.info({ total: failure.total }, `${opts.what} works again (was: ${message})`);
      }
    },
  };
}
