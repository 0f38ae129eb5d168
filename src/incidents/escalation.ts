import type { CompiledRunbook } from '../engine/compile.ts';
import { channelsFor } from '../engine/notification-policy.ts';
import type { Incident } from '../engine/types.ts';
import { jobIds } from '../queues/catalog.ts';
import type { PipelineDeps } from './deps.ts';
import { notifyChannels } from './notices.ts';

/**
 * The escalation timer of an incident and the act of escalating: a delayed `escalate` job started
 * with the diagnosis, cancelled by an acknowledgement or a resolve, and a page to the runbook's
 * escalation channel when it fires or when automation hands the incident to a human.
 */

/**
 * Starts the incident's escalation timer once, unless it is no longer needed. On the diagnosis's
 * first run (`firstRun`: it moved the incident to `diagnosing`, so no run before it got this far)
 * the timer is simply added, unless `incident` (read by that run) is acknowledged or escalated.
 * On a re-run: not while its job is in the queue, and not once it has fired (the incident is
 * escalated then) or was cancelled (acknowledged, resolved) — its job may be gone by then,
 * removed with the other completed jobs (src/queues/catalog.ts). The job is looked up before the incident is read: the
 * timer marks the incident escalated before it completes, so when the job is missing, a read after
 * that is current.
 */
export async function scheduleEscalation(
  deps: PipelineDeps,
  incident: Incident,
  compiled: CompiledRunbook,
  firstRun: boolean,
): Promise<void> {
  const { escalation } = compiled.runbook;
  if (firstRun) {
    if (incident.acknowledged || incident.escalated) return;
  } else {
    if (await deps.queues.byName.notifications.getJob(jobIds.escalate(incident.id))) return;
    const current = await deps.store.get(incident.id);
    if (!current || current.escalated || current.acknowledged || current.status === 'resolved') return;
  }
  const escalateAfterMs = escalation.escalateAfterMinutes * 60_000;
  await deps.queues.add(
    'escalate',
    { incidentId: incident.id },
    { jobId: jobIds.escalate(incident.id), delay: escalateAfterMs },
  );
  await deps.store.appendEvent(incident.id, {
    type: 'escalation.scheduled',
    actor: 'system',
    message: `Escalates to ${channelsFor('escalated', compiled.runbook, deps.notifications).join(', ') || 'no channel'} in ${escalation.escalateAfterMinutes} min unless acknowledged`,
    data: { dueAt: new Date(deps.now().getTime() + escalateAfterMs).toISOString() },
  });
}

/** The escalation timer fired: page the next level unless a human has it or it is over. */
export async function escalationDue(deps: PipelineDeps, incidentId: string) {
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

/** Marks the incident escalated and pages the escalation channel (once per reason). */
export async function escalateIncident(
  deps: PipelineDeps,
  incident: Incident,
  compiled: CompiledRunbook,
  reason: string,
  opts: { unlessAttended?: boolean } = {},
): Promise<boolean> {
  const channels = channelsFor('escalated', compiled.runbook, deps.notifications);
  const event = {
    type: 'escalation.fired' as const,
    actor: 'system',
    message: `Escalated to ${channels.join(', ') || 'no channel (the notification policy names none)'}: ${reason}`,
    // `channel` (the first) is what subscribers read before a policy could name several.
    data: { ...(channels[0] ? { channel: channels[0] } : {}), channels, reason },
  };
  const res = await deps.store.setFlag(incident.id, 'escalated', true, event, opts);
  if (!res.changed) {
    // The timer lost the race with an ack or a resolve: nobody is paged.
    if (opts.unlessAttended) return false;
    // Already escalated once: this new reason still goes on the timeline and to the channel.
    await deps.store.appendEvent(incident.id, event);
  }
  await notifyChannels(deps, incident.id, 'escalation', channels, { key: `${deps.now().getTime()}` });
  return true;
}

/** Removes a pending escalation timer; a timer already running re-checks the incident itself. */
export async function cancelEscalation(
  deps: PipelineDeps,
  incidentId: string,
  reason: string,
): Promise<boolean> {
  // Queue.remove answers 1 for a job that does not exist, so look first; a job already running
  // re-checks the incident itself (escalateIncident with unlessAttended).
  const job = await deps.queues.byName.notifications.getJob(jobIds.escalate(incidentId));
  if (!job || !(await job.isDelayed())) return false;
  const removed = await deps.queues.byName.notifications.remove(job.id!);
  if (removed !== 1) return false;
  await deps.store.appendEvent(incidentId, {
    type: 'escalation.cancelled',
    actor: 'system',
    message: `Escalation cancelled: ${reason}`,
  });
  return true;
}
