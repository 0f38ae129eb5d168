import type { Job } from 'bullmq';
import { RateLimitError } from 'bullmq';
import { parseNotifyAddress } from '../adapters/notifiers/registry.ts';
import { notificationText } from '../engine/notification-text.ts';
import { AdapterError } from '../errors.ts';
import { parseJob } from '../queues.ts';
import { escalateIncident } from './decision.ts';
import type { PipelineDeps } from './deps.ts';

const SEND_TIMEOUT_MS = 10_000;

/** The escalation timer fired: page the next level unless a human has it or it is over. */
async function escalationDue(deps: PipelineDeps, job: Job) {
  const { incidentId } = parseJob('escalate', job);
  const incident = await deps.store.get(incidentId);
  if (!incident || incident.status === 'resolved' || incident.acknowledged)
    return { skipped: incident ? (incident.acknowledged ? 'acknowledged' : 'resolved') : 'gone' };
  const compiled = deps.catalog.require(incident.runbookId);
  await escalateIncident(
    deps,
    incident,
    compiled,
    `not acknowledged within ${compiled.runbook.escalation.escalateAfterMinutes} min`,
  );
  return { escalated: true };
}

/**
 * `notifications` queue: sends one notification through the channel's notifier, and runs the
 * escalation timers. Delivery never blocks the incident: a failure is a timeline event. 5xx and
 * network errors are retried with backoff (job attempts); a 429 rate-limits the whole queue for
 * the remote's Retry-After; other 4xx fail at once.
 */
export function createNotificationProcessor(deps: PipelineDeps) {
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<unknown> => {
    if (job.name === 'escalate') return escalationDue(deps, job);
    const data = parseJob('notify', job);
    const incident = await deps.store.get(data.incidentId);
    if (!incident) return { skipped: 'gone' };
    const address = parseNotifyAddress(data.channel);
    const notifier = deps.notifiers.get(address.channel);
    if (!notifier) {
      await deps.store.appendEvent(incident.id, {
        type: 'notification.failed',
        actor: 'system',
        message: `Not delivered to ${data.channel}: no ${address.channel} notifier is configured`,
        data: { channel: data.channel, kind: data.kind },
      });
      return { delivered: false };
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
        },
        { signal: signal ? AbortSignal.any([signal, timeout]) : timeout },
      );
      await deps.store.appendEvent(incident.id, {
        type: 'notification.sent',
        actor: 'system',
        message: `Notified ${data.channel}: ${outcome.summary}`,
        data: { channel: data.channel, kind: data.kind, externalId: outcome.externalId },
      });
      return { delivered: true };
    } catch (err) {
      if (!(err instanceof AdapterError)) throw err;
      if (err.retryAfterMs !== undefined) {
        await deps.queues.byName.notifications.rateLimit(err.retryAfterMs);
        throw new RateLimitError();
      }
      const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
      if (err.retryable && attemptsLeft > 0) throw err;
      await deps.store.appendEvent(incident.id, {
        type: 'notification.failed',
        actor: 'system',
        message: `Not delivered to ${data.channel}: ${err.message}`,
        data: { channel: data.channel, kind: data.kind },
      });
      return { delivered: false };
    }
  };
}
