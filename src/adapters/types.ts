import type { z } from 'zod';
import type { ActionType, DiagnosticType, Severity } from '../engine/runbook-schema.ts';
import type { Facts, Incident, NotificationKind } from '../engine/types.ts';

export type { NotificationKind };

import { AdapterError } from '../errors.ts';

/**
 * The small interfaces every adapter implements, and the table that holds them. Adding a kind is
 * adding a file that implements one interface and a line in its registry.
 */

/** What a diagnostic executor gets besides its config. */
export interface DiagnosticContext {
  /** Aborted on job cancel or step timeout; executors stop at once and clean up. */
  signal: AbortSignal;
  /**
   * The step's timeout, for executors that can also hand it to the remote (a database's
   * statement_timeout), so that the work stops there even if Fireline is gone.
   */
  timeoutMs?: number;
}

/**
 * Runs one kind of diagnostic step. `run` resolves facts whenever the check ran, even when the
 * checked thing is unhealthy (an HTTP 500 or a non-zero exit is a fact); it throws `AdapterError`
 * only when the check itself could not run (bad URL, command not found, timeout, abort).
 */
export interface DiagnosticExecutor<C> {
  readonly type: DiagnosticType;
  /** Validates the rendered config and applies defaults. */
  readonly configSchema: z.ZodType<C>;
  run(config: C, ctx: DiagnosticContext): Promise<Facts>;
  /**
   * The series behind the step over a window, for its chart (src/engine/chart.ts): only the types
   * that have one (a metric's range query, a log search's per-minute counts); null when this
   * config draws none. Throws as `run` does.
   */
  series?(config: C, window: SeriesWindow, ctx: DiagnosticContext): Promise<RangeSeries[] | null>;
}

/** A chart's window: unix ms from `from` to `to`, a point every `step` ms. */
export interface SeriesWindow {
  from: number;
  to: number;
  step: number;
}

/** One series of a range query: its labels and its samples (unix seconds, value). */
export interface RangeSeries {
  labels: Record<string, string>;
  values: [seconds: number, value: number][];
}

/** What an action gets besides its config. */
export interface ActionContext {
  signal: AbortSignal;
  /** Record what would run, run nothing. */
  dryRun: boolean;
  /** The incident the action runs for (the notify action addresses its message with it). */
  incident?: Incident;
}

/** What an action did (or, in a dry run, would have done), for the incident timeline. */
export interface ActionOutcome {
  /** One human sentence. */
  summary: string;
  /** The argv that ran (or would run). */
  command?: string[];
  /** The request sent (or that would be sent) to an API. */
  request?: unknown;
  /** Output worth keeping, already capped. */
  output?: string;
  dryRun: boolean;
}

/**
 * Runs one kind of remediation action. `run` resolves when the action succeeded (or was only
 * described, in a dry run) and throws `AdapterError` when it failed.
 */
export interface ActionExecutor<C> {
  readonly type: ActionType;
  readonly configSchema: z.ZodType<C>;
  run(config: C, ctx: ActionContext): Promise<ActionOutcome>;
}

/**
 * A table of adapters keyed by their type. `require` turns a type this build does not implement
 * into a clear, non-retryable error rather than an `undefined` call.
 */
export interface Registry<K extends string, V> {
  get(key: string): V | undefined;
  /** @throws AdapterError (not retryable) naming the missing type. */
  require(key: string): V;
  /** The registered keys, in registration order. */
  types(): K[];
}

/**
 * Builds a registry from a list of adapters. `what` names the table in errors, e.g.
 * `diagnostic type` gives "no executor for diagnostic type 'x' in this build".
 *
 * @throws Error when two adapters claim the same key (a programming error).
 */
export function createRegistry<K extends string, V>(
  what: string,
  entries: readonly V[],
  keyOf: (entry: V) => K,
): Registry<K, V> {
  const table = new Map<string, V>();
  for (const entry of entries) {
    const key = keyOf(entry);
    if (table.has(key)) throw new Error(`two adapters registered for ${what} '${key}'`);
    table.set(key, entry);
  }
  return {
    get: (key) => table.get(key),
    require(key) {
      const entry = table.get(key);
      if (entry === undefined)
        throw new AdapterError('registry', `no executor for ${what} '${key}' in this build`, {
          retryable: false,
        });
      return entry;
    },
    types: () => [...table.keys()] as K[],
  };
}

/**
 * Validates an adapter config with its schema. A rendered config that does not fit is a runbook
 * problem that another attempt will not cure, hence not retryable.
 */
export function parseAdapterConfig<C>(adapter: string, schema: z.ZodType<C>, config: unknown): C {
  const result = schema.safeParse(config);
  if (result.success) return result.data;
  const detail = result.error.issues
    .map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`)
    .join('; ');
  throw new AdapterError(adapter, `invalid config: ${detail}`, { retryable: false, cause: result.error });
}

/**
 * The error an adapter rejects with when its signal aborts: "timed out after 2.0s" when the
 * reason is a timeout (`AbortSignal.timeout`), else "cancelled after 2.0s". Not retryable: the
 * worker records the step as `error`, it does not run it again.
 */
export function abortError(adapter: string, signal: AbortSignal, elapsedMs: number): AdapterError {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  const after = `${(elapsedMs / 1000).toFixed(1)}s`;
  return new AdapterError(adapter, timedOut ? `timed out after ${after}` : `cancelled after ${after}`, {
    retryable: false,
    cause: reason,
  });
}

/** What every notifier sends, whatever the channel; each renders it its own way. */
export interface Notification {
  kind: NotificationKind;
  incidentId: string;
  /** One line, e.g. "P1 payment-service: PaymentHighErrorRate". */
  title: string;
  /** A few lines for a human; never a raw payload. */
  text: string;
  severity?: Severity;
  /** The incident page in the console. */
  link?: string;
  /** The incident document as it is now, for channels that show verdicts, rationale and plan. */
  incident?: Incident;
  runbookName?: string;
  /** The plan step the notification is about (`approval_needed`, an `escalate` step). */
  stepId?: string;
  /**
   * Charts of the critical metrics, as public image links the receiver fetches itself (signed,
   * expiring: src/store/chart-links.ts). Only when Fireline's public URL is not a loopback address.
   */
  images?: NotificationImage[];
}

/** A chart image a notification shows. */
export interface NotificationImage {
  url: string;
  /** The chart in words (alt text). */
  alt: string;
  title: string;
}

export interface NotifierContext {
  signal: AbortSignal;
}

/** What a notifier did, for the timeline. */
export interface NotifyOutcome {
  summary: string;
  /** The remote's id (Slack message ts, PagerDuty dedup key), to update or resolve it later. */
  externalId?: string;
  /** Set when the notifier chose not to send, with the reason (e.g. a trigger for a resolved incident). */
  skipped?: string;
}

/**
 * Sends notifications on one channel kind (`slack`, `pagerduty`, `webhook`). Credentials and
 * endpoints are deployment config, given to the notifier's factory, so a call needs only the
 * target (`#ops`, a PagerDuty service, a webhook name) and the message.
 *
 * @throws AdapterError on failure; a 429 sets `retryAfterMs`.
 */
export interface Notifier {
  readonly channel: string;
  send(target: string, notification: Notification, ctx: NotifierContext): Promise<NotifyOutcome>;
}
