import { HttpStatusError } from '../adapters/notifiers/http.ts';
import { notificationText } from '../engine/notification-text.ts';
import { parseNotifyAddress } from '../engine/notify-address.ts';
import { AdapterError } from '../errors.ts';
import type { JobData } from '../queues/catalog.ts';
import { notificationImages } from './charts.ts';
import type { PipelineDeps } from './deps.ts';

const SEND_TIMEOUT_MS = 10_000;
/** A notification put off by 429s this many times gives up: the remote is not coming back soon. */
const MAX_STARTS = 25;

/** One delivery attempt of a `notify` job, as its worker sees it. */
export interface Delivery {
  /** How many times the job was started so far, this one included. */
  starts: number;
  /** Attempts BullMQ still has for this job after this one. */
  attemptsLeft: number;
  /** Whether the worker can put the job off (it holds the job's lock token). */
  canWait: boolean;
  signal: AbortSignal | undefined;
}

/** The address is held back (a 429): the caller puts the job off for `waitMs`, not as an attempt. */
export interface PutOff {
  waitMs: number;
}

/**
 * Sends one notification through its channel's notifier. Delivery never blocks the incident: a
 * failure is a timeline event. 5xx and network errors are thrown for BullMQ to retry with backoff
 * while attempts are left; other 4xx fail at once.
 *
 * A 429 holds back that address only, for the remote's Retry-After: every worker puts off its
 * jobs for the same address until then (src/store/notify-holds.ts). Not a queue-wide rate limit: a
 * slow Slack webhook must not delay a PagerDuty page or an escalation timer.
 */
export async function deliver(
  deps: PipelineDeps,
  data: JobData<'notify'>,
  run: Delivery,
): Promise<{ delivered: boolean } | { skipped: string } | PutOff> {
  const incident = await deps.store.get(data.incidentId);
  if (!incident) return { skipped: 'gone' };
  const failed = async (message: string, extra: Record<string, unknown> = {}) => {
    await deps.store.appendEvent(incident.id, {
      type: 'notification.failed',
      actor: 'system',
      message: `Not delivered to ${data.channel}: ${message}`,
      data: { channel: data.channel, kind: data.kind, ...extra },
    });
    return { delivered: false };
  };
  const address = parseNotifyAddress(data.channel);
  const notifier = deps.notifiers.get(address.channel);
  if (!notifier) return failed(`no ${address.channel} notifier is configured`);
  const heldMs = await deps.holds.remainingMs(data.channel);
  if (heldMs > 0 && run.canWait) return { waitMs: heldMs };
  const { title, text } = notificationText(data.kind, incident, data.stepId);
  const images = await notificationImages(deps, incident, data.kind);
  const timeout = AbortSignal.timeout(SEND_TIMEOUT_MS);
  try {
    const outcome = await notifier.send(
      address.target,
      {
        kind: data.kind,
        incidentId: incident.id,
        title,
        text,
        severity: incident.severity,
        ...(deps.publicUrl ? { link: `${deps.publicUrl}/incidents/${incident.id}` } : {}),
        incident,
        runbookName: incident.runbookName,
        ...(data.stepId ? { stepId: data.stepId } : {}),
        ...(images.length > 0 ? { images } : {}),
      },
      { signal: run.signal ? AbortSignal.any([run.signal, timeout]) : timeout },
    );
    await deps.store.appendEvent(
      incident.id,
      outcome.skipped
        ? {
            type: 'note',
            actor: 'system',
            message: `Not sent to ${data.channel}: ${outcome.skipped}`,
            data: { channel: data.channel, kind: data.kind, skipped: true },
          }
        : {
            type: 'notification.sent',
            actor: 'system',
            message: `Notified ${data.channel}: ${outcome.summary}`,
            data: { channel: data.channel, kind: data.kind, externalId: outcome.externalId },
          },
    );
    return { delivered: !outcome.skipped };
  } catch (err) {
    if (!(err instanceof AdapterError)) throw err;
    const http = err instanceof HttpStatusError ? { status: err.status, body: err.body.slice(0, 300) } : {};
    if (err.retryAfterMs !== undefined && run.canWait && run.starts < MAX_STARTS) {
      await deps.holds.hold(data.channel, err.retryAfterMs);
      return { waitMs: err.retryAfterMs };
    }
    if (err.retryable && err.retryAfterMs === undefined && run.attemptsLeft > 0) throw err;
    return failed(err.message, http);
  }
}
