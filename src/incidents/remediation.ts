import type { CompiledRunbook } from '../engine/compile.ts';
import { isIdempotent, type RemediationStep } from '../engine/runbook-schema.ts';
import { renderActionConfig, templateContext } from '../engine/template.ts';
import type { Incident, PlanStepState } from '../engine/types.ts';
import { AdapterError, InvariantError } from '../errors.ts';
import { jobIds } from '../queues/catalog.ts';
import type { NewEvent, PipelineDeps } from './deps.ts';
import { escalateIncident } from './escalation.ts';
import { refreshStatus } from './status.ts';
import { release } from './targets.ts';

/**
 * One automated remediation step. The `remediations` queue itself carries the kill switch
 * (pause), the global rate limit and the global concurrency; this adds one action at a time per
 * target, the hourly budget and cooldown (past them: escalate, do not act), dry run, at-most-once
 * for actions that are not idempotent (a run that finds its own `started` marker records "outcome
 * unknown" and escalates), and `verify`.
 */

/** Longest an action may run; the per-target lock outlives it a little. */
export const ACTION_TIMEOUT_MS = 5 * 60_000;
const LOCK_TTL_MS = ACTION_TIMEOUT_MS + 60_000;

const RUNNABLE: readonly PlanStepState[] = ['pending', 'queued', 'approved'];

/** One run of a `remediate` job, as its worker sees it. */
export interface RemediationRun {
  incidentId: string;
  stepId: string;
  /** Who holds the target while acting: the job id. */
  owner: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Attempts BullMQ still has for this job after this one. */
  attemptsLeft: number;
  signal: AbortSignal | undefined;
}

/** The target is busy: the caller waits (without spending an attempt) until it is woken. */
export interface TargetBusy {
  busy: string;
}

interface Ctx {
  deps: PipelineDeps;
  incident: Incident;
  compiled: CompiledRunbook;
  def: RemediationStep;
  target: string;
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
  const c: Ctx = { deps, incident, compiled, def, target: def.target ?? compiled.runbook.service };
  if (!RUNNABLE.includes(step.state) && step.state !== 'running') {
    // An earlier run of this job may have died after the step ended but before it let go of the
    // target: let go now (a no-op unless this job holds it), or the target stays locked for the TTL.
    await release(deps, c.target, run.owner);
    return { skipped: step.state };
  }
  if (incident.status === 'resolved') {
    await skipResolved(c);
    await release(deps, c.target, run.owner);
    return { skipped: 'resolved' };
  }
  if (!(await deps.safety.lockTarget(c.target, run.owner, LOCK_TTL_MS))) return { busy: c.target };
  try {
    return await act(c, run);
  } finally {
    await release(deps, c.target, run.owner);
  }
}

async function skipResolved({ deps, incident, def }: Ctx) {
  await deps.store.updatePlanStep(
    incident.id,
    def.id,
    RUNNABLE,
    { state: 'skipped', detail: 'incident resolved' },
    {
      type: 'remediation.skipped',
      actor: 'system',
      message: `${def.name}: skipped, the incident was resolved before it ran`,
      data: { stepId: def.id },
    },
  );
}

/** Why a step ends without its action having run (or without it finishing): recorded, then a human is paged. */
interface Stop {
  /** The action's at-most-once marker, when the step got that far. */
  marker?: string;
  state: PlanStepState;
  detail: string;
  event: NewEvent;
  result: Record<string, string>;
}

/** Ends a step without acting (or after a failure), and hands the incident to a human. */
async function stop(c: Ctx, s: Stop) {
  if (s.marker) await finish(c, s.marker);
  await c.deps.store.updatePlanStep(
    c.incident.id,
    c.def.id,
    null,
    { state: s.state, detail: s.detail },
    s.event,
  );
  await escalateIncident(c.deps, c.incident, c.compiled, `${c.def.name}: ${s.detail}`);
  await refreshStatus(c.deps, c.incident.id);
  return s.result;
}

/** The checks before acting: at-most-once, cooldown, hourly budget, a rendered config and an executor. */
async function refusal(c: Ctx): Promise<Stop | { skipped: string } | undefined> {
  const { deps, incident, def } = c;
  const action = def.action!;
  if (!isIdempotent(action)) {
    const previous = await deps.safety.markStarted(incident.id, def.id);
    if (previous === 'started')
      return {
        state: 'outcome_unknown',
        detail: 'a worker stopped in the middle of this action; it was not run again',
        event: {
          type: 'remediation.outcome_unknown',
          actor: 'system',
          message: `${def.name}: outcome unknown (a worker stopped mid-action); not retried, escalating`,
          data: { stepId: def.id },
        },
        result: { outcome: 'outcome_unknown' },
      };
    if (previous) return { skipped: `already ${previous}` };
  }
  const run = `${incident.id}-${def.id}`;
  // A dry run keeps its own ledger: it mirrors the limits without spending those of real actions.
  const ledger = incident.dryRun ? `${c.target}:dry-run` : c.target;
  if (!(await deps.safety.startCooldown(def.id, ledger, def.cooldownMinutes * 60_000, run)))
    return {
      marker: 'cooldown',
      state: 'skipped',
      detail: `cooling down (ran on ${c.target} less than ${def.cooldownMinutes} min ago)`,
      event: {
        type: 'remediation.skipped',
        actor: 'system',
        message: `${def.name}: not run, it ran on ${c.target} less than ${def.cooldownMinutes} min ago; escalating`,
        data: { stepId: def.id, reason: 'cooldown' },
      },
      result: { skipped: 'cooldown' },
    };
  if (!(await deps.safety.takeBudget(action.type, ledger, def.maxPerHour, run)))
    return {
      marker: 'budget',
      state: 'skipped',
      detail: `hourly budget of ${def.maxPerHour} ${action.type} on ${c.target} is spent`,
      event: {
        type: 'remediation.skipped',
        actor: 'system',
        message: `${def.name}: not run, ${action.type} already ran ${def.maxPerHour}× on ${c.target} this hour; escalating`,
        data: { stepId: def.id, reason: 'budget' },
      },
      result: { skipped: 'budget' },
    };
  return undefined;
}

/** A failed step: `failed` with the reason, and a human paged. */
function failure(c: Ctx, detail: string, message = `${c.def.name}: ${detail}`): Stop {
  return {
    marker: 'failed',
    state: 'failed',
    detail,
    event: { type: 'remediation.failed', actor: 'system', message, data: { stepId: c.def.id } },
    result: { outcome: 'failed' },
  };
}

async function act(c: Ctx, run: RemediationRun): Promise<Record<string, string>> {
  const { deps, incident, def } = c;
  const action = def.action!;
  const refused = await refusal(c);
  if (refused) return 'state' in refused ? stop(c, refused) : refused;

  const ctx = templateContext(incident.alert, { ...incident, runbookId: incident.runbookId });
  const rendered = renderActionConfig(action, ctx);
  const hasExecutor = deps.actions.get(action.type) !== undefined;
  if (!rendered.ok) return stop(c, failure(c, `template: ${rendered.reason}`));
  if (!hasExecutor && !incident.dryRun)
    return stop(c, failure(c, `no executor for action '${action.type}' in this build`));
  await deps.store.updatePlanStep(
    incident.id,
    def.id,
    [...RUNNABLE, 'running'],
    { state: 'running' },
    {
      type: 'remediation.started',
      actor: 'system',
      message: `${def.name}: ${incident.dryRun ? 'dry run of' : 'running'} ${action.type} on ${c.target}`,
      data: {
        stepId: def.id,
        action: action.type,
        config: rendered.config,
        dryRun: incident.dryRun,
        attempt: run.attempt,
      },
    },
  );

  const timeout = AbortSignal.timeout(ACTION_TIMEOUT_MS);
  try {
    const outcome = hasExecutor
      ? await deps.actions.run(action.type, rendered.config, {
          signal: run.signal ? AbortSignal.any([run.signal, timeout]) : timeout,
          dryRun: incident.dryRun,
          incident,
        })
      : { summary: `dry run: would run ${action.type} ${JSON.stringify(rendered.config)}`, dryRun: true };
    return await succeeded(c, outcome);
  } catch (err) {
    if (run.signal?.aborted && !(err instanceof AdapterError)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const retryable = !(err instanceof AdapterError && !err.retryable);
    if (isIdempotent(action) && run.attemptsLeft > 0 && retryable) {
      await deps.store.appendEvent(incident.id, {
        type: 'remediation.failed',
        actor: 'system',
        message: `${def.name}: attempt ${run.attempt} failed (${message}); retrying`,
        data: { stepId: def.id, attemptsLeft: run.attemptsLeft },
      });
      throw err;
    }
    return stop(c, failure(c, message, `${def.name}: failed: ${message}; escalating`));
  }
}

/** The action ran (or was dry-run): record it, start its `verify`, move the incident on. */
async function succeeded(c: Ctx, outcome: { summary: string; dryRun?: boolean; command?: unknown }) {
  const { deps, incident, def } = c;
  const state = outcome.dryRun ? 'dry_run' : 'succeeded';
  await deps.store.updatePlanStep(
    incident.id,
    def.id,
    ['running'],
    { state, detail: outcome.summary },
    {
      type: outcome.dryRun ? 'remediation.dry_run' : 'remediation.succeeded',
      actor: 'system',
      message: `${def.name}: ${outcome.summary}`,
      data: { stepId: def.id, command: 'command' in outcome ? outcome.command : undefined },
    },
  );
  await finish(c, state);
  if (def.verify && !outcome.dryRun)
    await deps.queues.add(
      'verify',
      { incidentId: incident.id, runbookId: incident.runbookId, stepId: def.id },
      { jobId: jobIds.verify(incident.id, def.id), delay: def.verify.afterSeconds * 1000 },
    );
  await refreshStatus(deps, incident.id);
  return { outcome: state };
}

/** Records the final outcome in the at-most-once marker of an action that is not idempotent. */
async function finish(c: Ctx, outcome: string) {
  if (!isIdempotent(c.def.action!)) await c.deps.safety.markFinished(c.incident.id, c.def.id, outcome);
}
