import { channelsFor } from '../engine/notification-policy.ts';
import type { NotificationKind } from '../engine/types.ts';
import { jobIds } from '../queues/catalog.ts';
import type { PipelineDeps } from './deps.ts';

/**
 * Queues one `kind` notification per channel (the channels come from the notification policy,
 * src/engine/notification-policy.ts). Job ids are deterministic per channel and `key` (a step id,
 * or what makes a repeat distinct), so a re-run adds nothing.
 */
export async function notifyChannels(
  deps: PipelineDeps,
  incidentId: string,
  kind: NotificationKind,
  channels: readonly string[],
  opts: { stepId?: string; key?: string } = {},
): Promise<void> {
  for (const channel of channels)
    await deps.queues.add(
      'notify',
      { incidentId, kind, channel, ...(opts.stepId ? { stepId: opts.stepId } : {}) },
      { jobId: jobIds.notify(incidentId, kind, channel, opts.key ?? opts.stepId) },
    );
}

/**
 * Queues an `acknowledged` or `resolved` notification for the channels the policy names for it:
 * by default every channel told about the incident (`channelsTold`). Job ids are deterministic,
 * so a repeat (a retried API call) adds nothing.
 */
export async function notifyChannelsTold(
  deps: PipelineDeps,
  incidentId: string,
  kind: 'acknowledged' | 'resolved',
): Promise<void> {
  const incident = await deps.store.get(incidentId);
  if (!incident) return;
  const compiled = deps.catalog.get(incident.runbookId);
  if (!compiled) {
    // The runbook was removed by a reload: its channels are unknown, so there is nobody to tell.
    deps.logger.warn({ incidentId, runbookId: incident.runbookId }, `runbook gone: no ${kind} notification`);
    return;
  }
  await notifyChannels(
    deps,
    incidentId,
    kind,
    channelsFor(kind, compiled.runbook, deps.notifications, incident),
  );
}
