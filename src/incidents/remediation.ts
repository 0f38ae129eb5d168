import { channelsFor } from '../engine/notification-policy.ts';
import { stepSafety } from '../engine/runbook-schema.ts';
import type { PlanStepState } from '../engine/types.ts';
import { InvariantError } from '../errors.ts';
import type { PipelineDeps } from './deps.ts';
import { notifyChannels } from './notices.ts';
import { ACTION_TIMEOUT_MS, act, type Ctx, type RemediationRun } from './remediation-act.ts';
import { refreshStatus } from './status.ts';
import { release } from './targets.ts';

export { ACTION_TIMEOUT_MS, type RemediationRun } from './remediation-act.ts';

/**
 * One automated remediation step. The `remediations` queue itself carries the kill switch
 * (pause), the global rate limit and the global concurrency; this adds, before anything runs:
 * the incident or its alert has resolved (skip), the current runbook now wants an approval the
 * step does not have (wait for it), one action at a time per target (for the action types that
 * change a system); then
 * src/incidents/remediation-act.ts runs the action exactly as rendered when the plan was made,
 * under the hourly budget and cooldown, dry run and at-most-once rules.
 */

const LOCK_TTL_MS = ACTION_TIMEOUT_MS + 60_000;

/** States from which a step may still run (`running`: this job came back after its worker died). */
const LIVE: readonly PlanStepState[] = ['queued', 'approved', 'running'];

/** The target is busy: the caller waits (without spending an attempt) until it is woken. */
export interface TargetBusy {
  busy: string;
}

/** Runs one remediation step, or says that its target is busy. */
export async function remediate(
  deps: PipelineDeps,
  run: RemediationRun,
): Promise<TargetBusy | Record<string, string>> {
  const incident = await deps.store.get(run.incidentId);
  if (!incident) return { skipped: 'gone' };
  const compiled = deps.catalog.require(incident.runbookId);
  const def = compiled.runbook.remediations.find((r) => r.id === run.stepId);
  const step = incident.plan.find((s) => s.stepId === run.stepId);
  if (!def?.action || !step) throw new InvariantError(`no automated step '${run.stepId}' in ${incident.id}`);
  const c: Ctx = {
    deps,
    incident,
    compiled,
    def,
    step,
    target: step.action?.target ?? def.target ?? compiled.runbook.service,
    dryRun: incident.dryRun || deps.dryRun || compiled.runbook.dryRun,
  };
  const why = await notNow(c, run);
  if (why) {
    // An earlier run of this job may have died after the step ended but before it let go of the
    // target: let go now (a no-op unless this job holds it), or the target stays locked for the TTL.
    await release(deps, c.target, run.owner);
    return { skipped: why };
  }
  // A message (`notify`) takes no lock: it changes nothing on the target (stepSafety).
  if (!stepSafety(def, step.action?.type ?? def.action.type).lockTarget) return act(c, run);
  if (!(await deps.safety.lockTarget(c.target, run.owner, LOCK_TTL_MS))) return { busy: c.target };
  try {
    return await act(c, run);
  } finally {
    await release(deps, c.target, run.owner);
  }
}

/** Why the step does not run now (recorded where it changes the step), or undefined when it may. */
async function notNow(c: Ctx, run: RemediationRun): Promise<string | undefined> {
  const { step, incident, def } = c;
  if (!LIVE.includes(step.state) || (step.state === 'running' && step.runner !== run.owner))
    return step.state;
  if (incident.status === 'resolved') {
    await skip(c, 'incident resolved', 'the incident was resolved before it ran');
    return 'resolved';
  }
  if (incident.alertResolved && !def.runWhenResolved) {
    await skip(c, 'alert resolved', 'every alert of the incident resolved at the source before it ran');
    await notifyUpdate(c);
    return 'alert resolved';
  }
  if (def.requiresApproval && step.state === 'queued') {
    await requireApproval(c);
    return 'needs approval';
  }
  return undefined;
}

/** Ends a step that was never started, with the reason on the timeline. */
async function skip({ deps, incident, def }: Ctx, detail: string, why: string) {
  await deps.store.updatePlanStep(
    incident.id,
    def.id,
    ['queued', 'approved'],
    { state: 'skipped', detail },
    {
      type: 'remediation.skipped',
      actor: 'system',
      message: `${def.name}: skipped, ${why}`,
      data: { stepId: def.id, reason: detail },
    },
  );
  await refreshStatus(deps, incident.id);
}

/** The policy's `updated` channels hear of the change (the update lists each step with its state and detail). */
async function notifyUpdate({ deps, incident, compiled, def }: Ctx) {
  const channels = channelsFor('updated', compiled.runbook, deps.notifications);
  await notifyChannels(deps, incident.id, 'update', channels, { stepId: def.id });
}

/**
 * The runbook was changed after the plan was made and this step now needs an approval: it waits
 * for one, like any step that needs approval, instead of running without it.
 */
async function requireApproval({ deps, incident, compiled, def }: Ctx) {
  const moved = await deps.store.updatePlanStep(
    incident.id,
    def.id,
    ['queued'],
    { state: 'awaiting_approval', kind: 'approval', at: deps.now().toISOString() },
    {
      type: 'remediation.awaiting_approval',
      actor: 'system',
      message: `${def.name}: waiting for approval (the runbook now requires it)`,
      data: { stepId: def.id },
    },
  );
  if (!moved.ok) return;
  const channels = channelsFor('approval_needed', compiled.runbook, deps.notifications);
  await notifyChannels(deps, incident.id, 'approval_needed', channels, { stepId: def.id });
  await refreshStatus(deps, incident.id);
}
