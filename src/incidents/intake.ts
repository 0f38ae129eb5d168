import { randomBytes } from 'node:crypto';
import type { CompiledRunbook } from '../engine/compile.ts';
import { channelsFor } from '../engine/notification-policy.ts';
import type { Runbook } from '../engine/runbook-schema.ts';
import { incidentKey, matchTriggers } from '../engine/triggers.ts';
import type { Alert, Incident } from '../engine/types.ts';
import { jobIds } from '../queues/catalog.ts';
import type { NewEvent, PipelineDeps } from './deps.ts';
import { cancelEscalation } from './escalation.ts';
import { notifyChannels } from './notices.ts';
import { resolveIncident } from './operations.ts';

/** What happened to one alert for one runbook (or to an alert no runbook matched). */
export type IntakeOutcome =
  | { outcome: 'opened'; runbookId: string; incidentId: string }
  | { outcome: 'attached'; runbookId: string; incidentId: string }
  | { outcome: 'resolved_event'; runbookId: string; incidentId: string; autoResolved: boolean }
  | { outcome: 'no_open_incident'; runbookId: string }
  | { outcome: 'no_runbook' };

/** Sortable by time, unique, and safe as a BullMQ job id part (no ':', never all digits). */
export function newIncidentId(now: Date): string {
  return `inc-${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The incident a firing alert opens for a runbook (not stored yet). */
export function newIncident(
  runbook: Runbook,
  alert: Alert,
  key: string,
  now: Date,
  dryRun: boolean,
): Incident {
  return {
    id: newIncidentId(now),
    key,
    runbookId: runbook.id,
    runbookName: runbook.name,
    service: runbook.service,
    severity: runbook.severity,
    status: 'triggered',
    acknowledged: false,
    escalated: false,
    dryRun,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    alert,
    verdicts: {},
    plan: [],
  };
}

/** The `incident.opened` event of that incident. */
export function openedEvent(runbook: Runbook, alert: Alert, actor: string): NewEvent {
  return {
    type: 'incident.opened',
    actor,
    message: `Runbook "${runbook.name}" triggered by ${alert.labels.alertname ?? alert.source}`,
    data: { fingerprint: alert.fingerprint, labels: alert.labels },
  };
}

export type Intake = (
  alert: Alert,
  opts?: { runbookId?: string; actor?: string },
) => Promise<IntakeOutcome[]>;

/**
 * Trigger intake: every runbook whose trigger matches gets the alert. A firing alert opens an
 * incident, or attaches to the open one with the same key (atomic in Redis, so concurrent
 * duplicates make one incident); the trigger job is added with a deterministic id. A resolved
 * alert adds an event, cancels the escalation timer and never triggers a remediation.
 * Resolves only once everything is in Redis: the HTTP layer may then answer 2xx.
 */
export function createIntake(deps: PipelineDeps): Intake {
  // The catalog's runbooks, listed again only when the catalog's list changes (a reload).
  let listed: readonly CompiledRunbook[] | undefined;
  let runbookList: Runbook[] = [];
  const allRunbooks = (): Runbook[] => {
    const all = deps.catalog.all();
    if (all !== listed) {
      listed = all;
      runbookList = all.map((c) => c.runbook);
    }
    return runbookList;
  };
  return async (alert, opts = {}) => {
    const runbooks = opts.runbookId
      ? [deps.catalog.require(opts.runbookId).runbook]
      : matchTriggers(allRunbooks(), alert);
    if (runbooks.length === 0) {
      // Kept for the history's coverage report: where the next runbook is needed.
      if (deps.history && alert.status === 'firing') await deps.feed.recordUnmatched(alert, deps.now());
      return [{ outcome: 'no_runbook' }];
    }
    const actor = opts.actor ?? `alert:${alert.source}`;
    return Promise.all(
      runbooks.map(async (runbook): Promise<IntakeOutcome> => {
        const key = incidentKey(runbook, alert);
        if (alert.status === 'resolved') {
          const incidentId = await deps.store.findOpenByKey(key);
          if (!incidentId) return { outcome: 'no_open_incident', runbookId: runbook.id };
          await deps.store.appendEvent(incidentId, {
            type: 'alert.resolved',
            actor,
            message: `Alert ${alert.labels.alertname ?? ''} resolved at the source`,
            data: { fingerprint: alert.fingerprint, endsAt: alert.endsAt },
          });
          const stillFiring = await deps.store.stopFiring(incidentId, alert.fingerprint);
          if (stillFiring > 0)
            return { outcome: 'resolved_event', runbookId: runbook.id, incidentId, autoResolved: false };
          await cancelEscalation(deps, incidentId, 'every alert of the incident resolved');
          if (!runbook.autoResolve) await announceResolvedToApprovers(deps, incidentId, runbook);
          if (runbook.autoResolve)
            await resolveIncident(deps, incidentId, actor, 'alert resolved (autoResolve)');
          return {
            outcome: 'resolved_event',
            runbookId: runbook.id,
            incidentId,
            autoResolved: runbook.autoResolve,
          };
        }
        const incident = newIncident(runbook, alert, key, deps.now(), deps.dryRun || runbook.dryRun);
        const opened = await deps.store.openIncident(incident, openedEvent(runbook, alert, actor));
        if (opened.created) {
          await deps.queues.add(
            'trigger',
            { incidentId: incident.id },
            { jobId: jobIds.trigger(incident.id) },
          );
          return { outcome: 'opened', runbookId: runbook.id, incidentId: incident.id };
        }
        // A re-sent notification (repeat_interval, an HA twin) is not news: only a new firing
        // (another pod of a groupBy incident, or the alert firing again) goes on the timeline.
        if (!opened.repeat)
          await deps.store.appendEvent(opened.incidentId, {
            type: 'alert.refired',
            actor,
            message: `Alert fired again (fingerprint ${alert.fingerprint})`,
            data: { fingerprint: alert.fingerprint, startsAt: alert.startsAt },
          });
        // An earlier delivery may have opened the incident and then failed to add its trigger job
        // (we answered 503, the sender retried): adding it again heals that; the id makes it a no-op.
        if (opened.status === 'triggered')
          await deps.queues.add(
            'trigger',
            { incidentId: opened.incidentId },
            { jobId: jobIds.trigger(opened.incidentId) },
          );
        return { outcome: 'attached', runbookId: runbook.id, incidentId: opened.incidentId };
      }),
    );
  };
}

/**
 * The alert resolved while steps wait for approval: the approvers hear it again, with the note
 * that an approval would now skip the step (src/engine/notification-text.ts).
 */
async function announceResolvedToApprovers(deps: PipelineDeps, incidentId: string, runbook: Runbook) {
  const incident = await deps.store.get(incidentId);
  const channels = channelsFor('approval_needed', runbook, deps.notifications);
  for (const step of incident?.plan ?? []) {
    if (step.state !== 'awaiting_approval') continue;
    await notifyChannels(deps, incidentId, 'approval_needed', channels, {
      stepId: step.stepId,
      key: `${step.stepId}-alert-resolved`,
    });
  }
}
