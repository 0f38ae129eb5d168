import type { CompiledRunbook } from '../engine/compile.ts';
import { type RemediationStep, stepSafety } from '../engine/runbook-schema.ts';
import type { Incident, PlanStep, PlanStepState, RenderedAction } from '../engine/types.ts';
import { AdapterError } from '../errors.ts';
import { jobIds } from '../queues/catalog.ts';
import type { NewEvent, PipelineDeps } from './deps.ts';
import { escalateIncident } from './escalation.ts';
import { refreshStatus } from './status.ts';

/** Longest an action may run; the per-target lock outlives it a little. */
export const ACTION_TIMEOUT_MS = 5 * 60_000;

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

/** A step about to act: the incident, its runbook and step as they are now, and the plan's rendering. */
export interface Ctx {
  deps: PipelineDeps;
  incident: Incident;
  compiled: CompiledRunbook;
  def: RemediationStep;
  step: PlanStep;
  target: string;
  /** Dry run if the incident, this process or the current runbook says so. */
  dryRun: boolean;
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

/** The checks before acting: at-most-once, cooldown, hourly budget (when the action type has one). */
async function refusal(c: Ctx, action: RenderedAction): Promise<Stop | { skipped: string } | undefined> {
  const { deps, incident, def } = c;
  if (!action.idempotent) {
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
  const ledger = c.dryRun ? `${c.target}:dry-run` : c.target;
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
  const { maxPerHour } = stepSafety(def, action.type);
  if (maxPerHour !== null && !(await deps.safety.takeBudget(action.type, ledger, maxPerHour, run)))
    return {
      marker: 'budget',
      state: 'skipped',
      detail: `hourly budget of ${maxPerHour} ${action.type} on ${c.target} is spent`,
      event: {
        type: 'remediation.skipped',
        actor: 'system',
        message: `${def.name}: not run, ${action.type} already ran ${maxPerHour}× on ${c.target} this hour; escalating`,
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

/**
 * Moves the step to `running` — from `queued` or `approved`, or from `running` when this same job
 * comes back after its worker died — and records `remediation.started`. False when the step has
 * moved on meanwhile: then nothing runs.
 */
async function start(c: Ctx, run: RemediationRun, action: RenderedAction): Promise<boolean> {
  const { deps, incident, def } = c;
  const resumes = c.step.state === 'running' && c.step.runner === run.owner;
  const res = await deps.store.updatePlanStep(
    incident.id,
    def.id,
    resumes ? ['running'] : ['queued', 'approved'],
    { state: 'running', runner: run.owner },
    {
      type: 'remediation.started',
      actor: 'system',
      message: `${def.name}: ${c.dryRun ? 'dry run of' : 'running'} ${action.type} on ${c.target}`,
      data: {
        stepId: def.id,
        action: action.type,
        config: action.config,
        hash: action.hash,
        dryRun: c.dryRun,
        attempt: run.attempt,
      },
    },
  );
  return res.ok;
}

/** Runs the step's action as rendered when the plan was made (the caller holds the target). */
export async function act(c: Ctx, run: RemediationRun): Promise<Record<string, string>> {
  const { deps, incident, def, step } = c;
  if (!step.action) return stop(c, failure(c, step.renderError ?? 'the action was not rendered'));
  const action = step.action;
  const refused = await refusal(c, action);
  if (refused) return 'state' in refused ? stop(c, refused) : refused;
  const hasExecutor = deps.actions.get(action.type) !== undefined;
  if (!hasExecutor && !c.dryRun)
    return stop(c, failure(c, `no executor for action '${action.type}' in this build`));
  if (!(await start(c, run, action))) return { skipped: 'the step moved on before it started' };
  // FIRELINE_DURABILITY=replica: act only once a replica holds the start, so a failover cannot
  // bring back a primary that forgot it and run the action a second time.
  const durable = c.dryRun ? { ok: true as const } : await deps.durability.confirm();
  if (!durable.ok)
    return stop(c, {
      marker: 'not_run',
      state: 'skipped',
      detail: `not run: no replica confirmed its start (${durable.reason})`,
      event: {
        type: 'remediation.skipped',
        actor: 'system',
        message: `${def.name}: not run, no Redis replica confirmed its start (${durable.reason}); escalating`,
        data: { stepId: def.id, reason: 'durability' },
      },
      result: { skipped: 'durability' },
    });

  const timeout = AbortSignal.timeout(ACTION_TIMEOUT_MS);
  try {
    const outcome = hasExecutor
      ? await deps.actions.run(action.type, action.config, {
          signal: run.signal ? AbortSignal.any([run.signal, timeout]) : timeout,
          dryRun: c.dryRun,
          incident,
        })
      : { summary: `dry run: would run ${action.type} ${JSON.stringify(action.config)}`, dryRun: true };
    return await succeeded(c, outcome);
  } catch (err) {
    if (run.signal?.aborted && !(err instanceof AdapterError)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const retryable = !(err instanceof AdapterError && !err.retryable);
    if (action.idempotent && run.attemptsLeft > 0 && retryable) {
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
  if (c.step.action && !c.step.action.idempotent)
    await c.deps.safety.markFinished(c.incident.id, c.def.id, outcome);
}
