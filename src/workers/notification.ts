import type { Job } from 'bullmq';
import { DelayedError } from 'bullmq';
import { HttpStatusError } from '../adapters/notifiers/http.ts';
import { notificationText } from '../engine/notification-text.ts';
import { parseNotifyAddress } from '../engine/notify-address.ts';
import { AdapterError } from '../errors.ts';
import type { PipelineDeps } from '../incidents/deps.ts';
import { parseJob } from '../queues/queues.ts';
import { escalateIncident } from './decision.ts';

const SEND_TIMEOUT_MS = 10_000;

/** The escalation timer fired: page the next level unless a human has it or it is over. */
async function escalationDue(deps: PipelineDeps, job: Job) {
  const { incidentId } = parseJob('escalate', job);
  const incident = await deps.store.get(incidentId);
  if (!incident || incident.status === 'resolved' || incident.acknowledged)
    return { skipped: incident ? (incident.acknowledged ? 'acknowledged' : 'resolved') : 'gone' };
  const compiled = deps.catalog.require(incident.runbookId);
  const escalated = await escalateIncident(
    deps,
    incident,
    compiled,
    `not acknowledged within ${compiled.runbook.escalation.escalateAfterMinutes} min`,
    { unlessAttended: true },
  );
  if (!escalated) return { skipped: 'acknowledged or resolved meanwhile' };
  return { escalated: true };
}

/** A job put off by 429s this many times gives up: the remote is not coming back soon. */
const MAX_STARTS = 25;

/** The Redis key that holds back every notification to one address while its remote asks us to wait. */
const holdKey = (deps: PipelineDeps, channel: string) =>
  `${deps.queues.prefix}:notify-hold:${Buffer.from(channel).toString('base64url')}`;

/**
 * `notifications` queue: sends one notification through the channel's notifier, and runs the
 * escalation timers. Delivery never blocks the incident: a failure is a timeline event. 5xx and
 * network errors are retried with backoff (job attempts); other 4xx fail at once.
 *
 * A 429 holds back that address only, for the remote's Retry-After: the job is moved to
 * `delayed` (not an attempt), and a hold key in Redis makes every worker put off its jobs for the
 * same address until then. Not a queue-wide rate limit: a slow Slack webhook must not delay a
 * PagerDuty page or an escalation timer (and BullMQ's manual rate limit binds no other worker
 * unless the queue has a limiter).
 */
export function createNotificationProcessor(deps: PipelineDeps) {
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    if (job.name === 'escalate') return escalationDue(deps, job);
    const data = parseJob('notify', job);
    const incident = await deps.store.get(data.incidentId);
    if (!incident) return { skipped: 'gone' };
    const failed = (message: string, extra: Record<string, unknown> = {}) =>
      deps.store.appendEvent(incident.id, {
        type: 'notification.failed',
        actor: 'system',
        message: `Not delivered to ${data.channel}: ${message}`,
        data: { channel: data.channel, kind: data.kind, ...extra },
      });
    const address = parseNotifyAddress(data.channel);
    const notifier = deps.notifiers.get(address.channel);
    if (!notifier) {
      await failed(`no ${address.channel} notifier is configured`);
      return { delivered: false };
    }
    const heldMs = await deps.redis.pttl(holdKey(deps, data.channel));
    if (heldMs > 0 && token) {
      await job.moveToDelayed(Date.now() + heldMs, token);
      throw new DelayedError();
    }
    const { title, text } = notificationText(data.kind, incident, data.stepId);
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
        },
        { signal: signal ? AbortSignal.any([signal, timeout]) : timeout },
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
      if (err.retryAfterMs !== undefined && token && (job.attemptsStarted ?? 0) < MAX_STARTS) {
        await deps.redis.set(holdKey(deps, data.channel), '1', 'PX', err.retryAfterMs);
        await job.moveToDelayed(Date.now() + err.retryAfterMs, token);
        throw new DelayedError();
      }
      const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
      if (err.retryable && err.retryAfterMs === undefined && attemptsLeft > 0) throw err;
      await failed(err.message, http);
      return { delivered: false };
    }
  };
}
