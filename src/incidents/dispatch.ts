import type { CompiledRunbook } from '../engine/compile.ts';
import { channelsFor, escalateStepChannels } from '../engine/notification-policy.ts';
import type { RemediationStep, Runbook } from '../engine/runbook-schema.ts';
import type { Incident, PlanStep } from '../engine/types.ts';
import { jobIds } from '../queues/catalog.ts';
import type { PipelineDeps } from './deps.ts';
import { notifyChannels } from './notices.ts';
import { refreshStatus } from './status.ts';

/**
 * Adds the `remediate` job of a step (once: its id is deterministic). An idempotent action (as
 * rendered when the plan was made) may be retried; any other runs at most once
 * (src/queues/catalog.ts `remediate`).
 */
export async function enqueueRemediation(
  deps: PipelineDeps,
  incident: Pick<Incident, 'id' | 'runbookId'>,
  step: PlanStep,
): Promise<void> {
  await deps.queues.add(
    'remediate',
    { incidentId: incident.id, runbookId: incident.runbookId, stepId: step.stepId },
    { jobId: jobIds.remediate(incident.id, step.stepId), retryable: step.action?.idempotent ?? false },
  );
}

interface StepCtx {
  deps: PipelineDeps;
  incident: Incident;
  runbook: Runbook;
  step: PlanStep;
  def: RemediationStep;
}

/**
 * An automated step goes to the rate-limited `remediations` queue: `queued` first, then the job,
 * because the worker runs only a step it moves from `queued` (or `approved`) itself. A re-run
 * finds the step `queued` and adds the job again (a no-op when it exists).
 */
async function dispatchAutomated({ deps, incident, step, def }: StepCtx) {
  if (step.state === 'pending')
    await deps.store.updatePlanStep(
      incident.id,
      step.stepId,
      ['pending'],
      { state: 'queued' },
      {
        type: 'remediation.queued',
        actor: 'system',
        message: `${def.name}: queued`,
        data: { stepId: step.stepId },
      },
    );
  else if (step.state !== 'queued') return;
  await enqueueRemediation(deps, incident, step);
}

/**
 * A step that needs approval is announced on the timeline and to the primary channel. An approved
 * step whose job was lost (the approval was recorded, the enqueue failed) gets its job again.
 */
async function dispatchApproval({ deps, incident, runbook, step, def }: StepCtx) {
  if (step.state === 'approved') return enqueueRemediation(deps, incident, step);
  if (step.state !== 'awaiting_approval') return;
  if (!step.at)
    await deps.store.updatePlanStep(
      incident.id,
      step.stepId,
      ['awaiting_approval'],
      { at: deps.now().toISOString() },
      {
        type: 'remediation.awaiting_approval',
        actor: 'system',
        message: `${def.name}: waiting for approval`,
        data: { stepId: step.stepId },
      },
    );
  const channels = channelsFor('approval_needed', runbook, deps.notifications);
  await notifyChannels(deps, incident.id, 'approval_needed', channels, { stepId: step.stepId });
}

/** An `escalate` step pages its channel. */
async function dispatchEscalation({ deps, incident, runbook, step, def }: StepCtx) {
  if (step.state !== 'pending') return;
  const channels = escalateStepChannels(def.escalateTo, runbook, deps.notifications);
  await notifyChannels(deps, incident.id, 'escalation', channels, { stepId: step.stepId });
  await deps.store.updatePlanStep(
    incident.id,
    step.stepId,
    ['pending'],
    { state: 'escalated' },
    {
      type: 'escalation.fired',
      actor: 'system',
      message: `${def.name}: escalated to ${channels.join(', ') || 'no channel (the notification policy names none)'}`,
      data: { stepId: step.stepId, ...(channels[0] ? { channel: channels[0] } : {}), channels },
    },
  );
}

/** What starts each kind of plan step; manual steps wait on the responder's checklist. */
const DISPATCH: Record<PlanStep['kind'], ((c: StepCtx) => Promise<void>) | undefined> = {
  automated: dispatchAutomated,
  approval: dispatchApproval,
  escalate: dispatchEscalation,
  manual: undefined,
};

/**
 * Starts what the plan says: automated steps go to the rate-limited `remediations` queue, steps
 * that need approval and escalations become notifications, manual steps wait on the checklist.
 * Idempotent (deterministic job ids, compare-and-set on step states) so a re-run after a crash
 * neither doubles a job nor an event.
 */
export async function dispatchPlan(
  deps: PipelineDeps,
  incident: Incident,
  compiled: CompiledRunbook,
): Promise<void> {
  const { runbook } = compiled;
  for (const step of incident.plan) {
    const def = runbook.remediations.find((r) => r.id === step.stepId);
    if (def) await DISPATCH[step.kind]?.({ deps, incident, runbook, step, def });
  }
  await notifyChannels(deps, incident.id, 'update', channelsFor('diagnosed', runbook, deps.notifications));
  await refreshStatus(deps, incident.id);
}
