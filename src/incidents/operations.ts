import { INCIDENT_STATUSES, type Incident, type IncidentStatus, type PlanStep } from '../engine/types.ts';
import { InvalidOperationError, NotFoundError } from '../errors.ts';
import type { PipelineDeps } from './deps.ts';
import { enqueueRemediation } from './dispatch.ts';
import { cancelEscalation } from './escalation.ts';
import { notifyChannelsTold } from './notices.ts';
import { refreshStatus, requireIncident } from './status.ts';

/**
 * The operations a responder (API, CLI, Slack button) or a worker performs on an incident. Each
 * is one compare-and-set in the store plus a timeline event naming who did it; an operation the
 * incident's state does not allow throws InvalidOperationError with the reason.
 */

const OPEN: readonly IncidentStatus[] = INCIDENT_STATUSES.filter((s) => s !== 'resolved');

function requireStep(incident: Incident, stepId: string): PlanStep {
  const step = incident.plan.find((s) => s.stepId === stepId);
  if (!step) throw new NotFoundError(`step '${stepId}' in the plan of incident '${incident.id}'`);
  return step;
}

function requireOpen(incident: Incident, verb: string): void {
  if (incident.status === 'resolved')
    throw new InvalidOperationError(`cannot ${verb}: incident ${incident.id} is resolved`);
}

export interface Approval {
  user: string;
  comment?: string;
  /**
   * The hash of the rendered action the approver was shown (`PlanStep.action.hash`): an approval
   * of anything else is refused. Optional: surfaces that show the action send it.
   */
  hash?: string;
}

interface StepChange {
  verb: 'approve' | 'reject' | 'complete';
  from: PlanStep['state'];
  to: PlanStep['state'];
  event: 'remediation.approved' | 'remediation.rejected' | 'step.completed';
  past: string;
}

const CHANGES = {
  approve: {
    verb: 'approve',
    from: 'awaiting_approval',
    to: 'approved',
    event: 'remediation.approved',
    past: 'approved',
  },
  reject: {
    verb: 'reject',
    from: 'awaiting_approval',
    to: 'rejected',
    event: 'remediation.rejected',
    past: 'rejected',
  },
  complete: { verb: 'complete', from: 'pending', to: 'done', event: 'step.completed', past: 'completed' },
} as const satisfies Record<string, StepChange>;

/** One responder decision on one plan step: compare-and-set of its state, with who, when and why. */
async function changeStep(
  deps: PipelineDeps,
  incidentId: string,
  stepId: string,
  who: Approval,
  change: StepChange,
) {
  const incident = await requireIncident(deps, incidentId);
  requireOpen(incident, change.verb === 'complete' ? 'complete a step' : change.verb);
  const step = requireStep(incident, stepId);
  if (change.verb === 'complete' && step.kind !== 'manual')
    throw new InvalidOperationError(`cannot complete ${stepId}: it is ${step.kind}, not manual`);
  if (who.hash !== undefined && who.hash !== step.action?.hash)
    throw new InvalidOperationError(
      `cannot ${change.verb} ${stepId}: its action is ${step.action?.hash ?? 'not rendered'}, not ${who.hash}`,
    );
  const comment = who.comment ? { comment: who.comment } : {};
  const res = await deps.store.updatePlanStep(
    incidentId,
    stepId,
    [change.from],
    { state: change.to, by: who.user, at: deps.now().toISOString(), ...comment },
    {
      type: change.event,
      actor: who.user,
      message: `${who.user} ${change.past} ${stepId}${who.comment ? `: ${who.comment}` : ''}`,
      data: { stepId, comment: who.comment },
    },
  );
  if (!res.ok) {
    // Approving what is already approved heals an approval whose job was lost, then says it is approved.
    if (change.verb === 'approve' && res.current?.state === 'approved')
      await enqueueRemediation(deps, incident, res.current);
    throw new InvalidOperationError(
      `cannot ${change.verb} ${stepId}: it is ${res.current?.state ?? 'missing'}`,
    );
  }
  return { incident, step: res.step };
}

/** Approves a step waiting for approval and queues its remediation (once). */
export async function approveStep(
  deps: PipelineDeps,
  incidentId: string,
  stepId: string,
  who: Approval,
): Promise<PlanStep> {
  const { incident, step } = await changeStep(deps, incidentId, stepId, who, CHANGES.approve);
  await enqueueRemediation(deps, incident, step);
  await refreshStatus(deps, incidentId);
  return step;
}

/** Rejects a step waiting for approval: it never runs. */
export async function rejectStep(
  deps: PipelineDeps,
  incidentId: string,
  stepId: string,
  who: Approval,
): Promise<PlanStep> {
  const { step } = await changeStep(deps, incidentId, stepId, who, CHANGES.reject);
  await refreshStatus(deps, incidentId);
  return step;
}

/** Ticks a manual step off the responder's checklist. */
export async function completeStep(
  deps: PipelineDeps,
  incidentId: string,
  stepId: string,
  who: Approval,
): Promise<PlanStep> {
  const { step } = await changeStep(deps, incidentId, stepId, who, CHANGES.complete);
  await refreshStatus(deps, incidentId);
  return step;
}

/** A responder has it: the escalation timer stops. Acknowledging twice is allowed and says so. */
export async function acknowledge(
  deps: PipelineDeps,
  incidentId: string,
  user: string,
): Promise<{ changed: boolean }> {
  const incident = await requireIncident(deps, incidentId);
  requireOpen(incident, 'acknowledge');
  const res = await deps.store.setFlag(incidentId, 'acknowledged', true, {
    type: 'incident.acknowledged',
    actor: user,
    message: `${user} acknowledged the incident`,
  });
  if (res.changed) {
    await cancelEscalation(deps, incidentId, `acknowledged by ${user}`);
    await notifyChannelsTold(deps, incidentId, 'acknowledged');
  }
  return res;
}

/** Resolves an open incident: escalation cancelled, dedup key freed (a new alert opens a new one). */
export async function resolveIncident(
  deps: PipelineDeps,
  incidentId: string,
  user: string,
  comment?: string,
): Promise<void> {
  const incident = await requireIncident(deps, incidentId);
  requireOpen(incident, 'resolve');
  const res = await deps.store.setStatus(incidentId, OPEN, 'resolved', {
    type: 'incident.resolved',
    actor: user,
    message: `${user} resolved the incident${comment ? `: ${comment}` : ''}`,
    data: { comment },
  });
  if (!res.ok)
    throw new InvalidOperationError(`cannot resolve: incident ${incidentId} is ${res.current ?? 'gone'}`);
  await cancelEscalation(deps, incidentId, 'the incident was resolved');
  await notifyChannelsTold(deps, incidentId, 'resolved');
}

/** The kill switch: pausing the remediations queue stops every worker from taking an action. */
export async function setRemediationsPaused(
  deps: PipelineDeps,
  paused: boolean,
): Promise<{ paused: boolean }> {
  const queue = deps.queues.byName.remediations;
  if (paused) await queue.pause();
  else await queue.resume();
  return { paused: await queue.isPaused() };
}
