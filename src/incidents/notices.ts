import type { Runbook } from '../engine/runbook-schema.ts';
import type { Incident } from '../engine/types.ts';
import { jobIds } from '../queues/catalog.ts';
import type { PipelineDeps } from './deps.ts';

/**
 * Every channel that was told about an incident: the runbook's primary, its escalation channel
 * once the incident escalated, and each channel an `escalate` step paged. These are the channels
 * that must hear the incident was acknowledged or resolved (a PagerDuty page left open pages on).
 */
export function channelsTold(incident: Incident, runbook: Runbook): string[] {
  const { primary, secondary } = runbook.escalation;
  const channels = [primary];
  if (incident.escalated) channels.push(secondary ?? primary);
  for (const step of incident.plan) {
    if (step.kind !== 'escalate' || step.state !== 'escalated') continue;
    const def = runbook.remediations.find((r) => r.id === step.stepId);
    channels.push(def?.escalateTo ?? secondary ?? primary);
  }
  return [...new Set(channels)];
}

/**
 * Queues an `acknowledged` or `resolved` notification for every channel told about the incident.
 * Job ids are deterministic, so a repeat (a retried API call) adds nothing.
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
  for (const channel of channelsTold(incident, compiled.runbook))
    await deps.queues.add(
      'notify',
      { incidentId, kind, channel },
      { jobId: jobIds.notify(incidentId, kind, channel) },
    );
}
