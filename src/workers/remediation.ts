import { DelayedError, type Job } from 'bullmq';
import type { CompiledRunbook } from '../engine/compile.ts';
import { isIdempotent, type RemediationStep } from '../engine/runbook-schema.ts';
import { renderActionConfig, templateContext } from '../engine/template.ts';
import type { Incident, PlanStepState } from '../engine/types.ts';
import { AdapterError } from '../errors.ts';
import type { NewEvent, PipelineDeps } from '../incidents/deps.ts';
import { refreshStatus } from '../incidents/operations.ts';
import { jobIds, parseJob } from '../queues/queues.ts';
import { escalateIncident } from './decision.ts';

/** Longest an action may run; the per-target lock outlives it a little. */
export const ACTION_TIMEOUT_MS = 5 * 60_000;
const LOCK_TTL_MS = ACTION_TIMEOUT_MS + 60_000;
/**
 * How long a job waits for a busy target before looking again. It is normally woken sooner, when
 * the holder releases the target; this is the fallback should that wake-up be lost.
 */
const LOCK_WAIT_MS = 60_000;

const RUNNABLE: readonly PlanStepState[] = ['pending', 'queued', 'approved'];

interface Ctx {
  deps: PipelineDeps;
  incident: Incident;
  compiled: CompiledRunbook;
  def: RemediationStep;
  target: string;
}

/** Ends a step without acting, and hands the incident to a human. */
async function giveUp(c: Ctx, state: PlanStepState, detail: string, event: NewEvent) {
  await c.deps.store.updatePlanStep(c.incident.id, c.def.id, null, { state, detail }, event);
  await escalateIncident(c.deps, c.incident, c.compiled, `${c.def.name}: ${detail}`);
  await refreshStatus(c.deps, c.incident.id);
}

/**
 * `remediations` queue. The queue itself carries the kill switch (pause), the global rate limit
 * and the global concurrency; this processor adds one action at a time per target, the hourly
 * budget and cooldown (past them: escalate, do not act), dry run, at-most-once for actions that
 * are not idempotent (a job that comes back after a worker died mid-action records "outcome
 * unknown" and escalates), and `verify`.
 */
export function createRemediationProcessor(deps: PipelineDeps) {
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const { incidentId, stepId } = parseJob('remediate', job);
    const incident = await deps.store.get(incidentId);
    if (!incident) return { skipped: 'gone' };
    const compiled = deps.catalog.require(incident.runbookId);
    const def = compiled.runbook.remediations.find((r) => r.id === stepId);
    const step = incident.plan.find((s) => s.stepId === stepId);
    if (!def?.action || !step)
      throw new AdapterError('pipeline', `no automated step '${stepId}' in ${incident.id}`);
    const c: Ctx = { deps, incident, compiled, def, target: def.target ?? compiled.runbook.service };
    const owner = job.id ?? `${incidentId}-${stepId}`;
    if (!RUNNABLE.includes(step.state) && step.state !== 'running') {
      // An earlier run of this job may have died after the step ended but before it let go of the
      // target: let go now (a no-op unless this job holds it), or the target stays locked for the TTL.
      await release(deps, c.target, owner);
      return { skipped: step.state };
    }
    if (incident.status === 'resolved') {
      await deps.store.updatePlanStep(
        incidentId,
        stepId,
        RUNNABLE,
        { state: 'skipped', detail: 'incident resolved' },
        {
          type: 'remediation.skipped',
          actor: 'system',
          message: `${def.name}: skipped, the incident was resolved before it ran`,
          data: { stepId },
        },
      );
      await release(deps, c.target, owner);
      return { skipped: 'resolved' };
    }

    if (!(await deps.safety.lockTarget(c.target, owner, LOCK_TTL_MS))) {
      // Another action runs on this target: wait our turn without failing or using an attempt, and
      // without polling (each look would spend a start of the queue's global rate limit).
      await job.moveToDelayed(Date.now() + LOCK_WAIT_MS, token);
      // Released between our look and our sleep: its holder found us awake and did not wake us.
      if (!(await deps.safety.isLocked(c.target))) await wake(deps, job);
      throw new DelayedError();
    }
    try {
      return await act(c, job, signal);
    } finally {
      await release(deps, c.target, owner);
    }
  };
}

/**
 * Moves a job waiting for a target from delayed to waiting. A job that is no longer delayed was
 * woken by someone else, which is all we wanted; any other failure leaves it to its fallback delay.
 */
async function wake(deps: PipelineDeps, job: Job) {
  try {
    await job.promote();
  } catch (err) {
    deps.logger.debug({ err, jobId: job.id }, 'waiter not promoted (already awake?)');
  }
}

/** Releases the target and wakes its oldest waiter that is asleep (awake ones look for themselves). */
async function release(deps: PipelineDeps, target: string, owner: string) {
  for (const id of await deps.safety.unlockTarget(target, owner)) {
    const waiter = await deps.queues.byName.remediations.getJob(id);
    const state = waiter ? await waiter.getState() : 'unknown';
    if (state === 'delayed') {
      await wake(deps, waiter!);
      return;
    }
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
    await deps.safety.dropWaiter(target, id);
  }
}

async function act(c: Ctx, job: Job, signal: AbortSignal | undefined) {
  const { deps, incident, def } = c;
  const action = def.action!;
  const idempotent = isIdempotent(action);
  if (!idempotent) {
    const previous = await deps.safety.markStarted(incident.id, def.id);
    if (previous === 'started') {
      await giveUp(
        c,
        'outcome_unknown',
        'a worker stopped in the middle of this action; it was not run again',
        {
          type: 'remediation.outcome_unknown',
          actor: 'system',
          message: `${def.name}: outcome unknown (a worker stopped mid-action); not retried, escalating`,
          data: { stepId: def.id },
        },
      );
      return { outcome: 'outcome_unknown' };
    }
    if (previous) return { skipped: `already ${previous}` };
  }
  const run = `${incident.id}-${def.id}`;
  // A dry run keeps its own ledger: it mirrors the limits without spending those of real actions.
  const ledger = incident.dryRun ? `${c.target}:dry-run` : c.target;
  if (!(await deps.safety.startCooldown(def.id, ledger, def.cooldownMinutes * 60_000, run))) {
    await finish(c, 'cooldown');
    await giveUp(c, 'skipped', `cooling down (ran on ${c.target} less than ${def.cooldownMinutes} min ago)`, {
      type: 'remediation.skipped',
      actor: 'system',
      message: `${def.name}: not run, it ran on ${c.target} less than ${def.cooldownMinutes} min ago; escalating`,
      data: { stepId: def.id, reason: 'cooldown' },
    });
    return { skipped: 'cooldown' };
  }
  if (!(await deps.safety.takeBudget(action.type, ledger, def.maxPerHour, run))) {
    await finish(c, 'budget');
    await giveUp(c, 'skipped', `hourly budget of ${def.maxPerHour} ${action.type} on ${c.target} is spent`, {
      type: 'remediation.skipped',
      actor: 'system',
      message: `${def.name}: not run, ${action.type} already ran ${def.maxPerHour}× on ${c.target} this hour; escalating`,
      data: { stepId: def.id, reason: 'budget' },
    });
    return { skipped: 'budget' };
  }

  const ctx = templateContext(incident.alert, { ...incident, runbookId: incident.runbookId });
  const rendered = renderActionConfig(action, ctx);
  const hasExecutor = deps.actions.get(action.type) !== undefined;
  if (!rendered.ok || (!hasExecutor && !incident.dryRun)) {
    const detail = rendered.ok
      ? `no executor for action '${action.type}' in this build`
      : `template: ${rendered.reason}`;
    await finish(c, 'failed');
    await giveUp(c, 'failed', detail, {
      type: 'remediation.failed',
      actor: 'system',
      message: `${def.name}: ${detail}`,
      data: { stepId: def.id },
    });
    return { outcome: 'failed' };
  }
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
        attempt: job.attemptsMade + 1,
      },
    },
  );

  const timeout = AbortSignal.timeout(ACTION_TIMEOUT_MS);
  try {
    const outcome = hasExecutor
      ? await deps.actions.run(action.type, rendered.config, {
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          dryRun: incident.dryRun,
          incident,
        })
      : { summary: `dry run: would run ${action.type} ${JSON.stringify(rendered.config)}`, dryRun: true };
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
  } catch (err) {
    if (signal?.aborted && !(err instanceof AdapterError)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
    if (idempotent && attemptsLeft > 0 && !(err instanceof AdapterError && !err.retryable)) {
      await deps.store.appendEvent(incident.id, {
        type: 'remediation.failed',
        actor: 'system',
        message: `${def.name}: attempt ${job.attemptsMade + 1} failed (${message}); retrying`,
        data: { stepId: def.id, attemptsLeft },
      });
      throw err;
    }
    await finish(c, 'failed');
    await giveUp(c, 'failed', message, {
      type: 'remediation.failed',
      actor: 'system',
      message: `${def.name}: failed: ${message}; escalating`,
      data: { stepId: def.id },
    });
    return { outcome: 'failed' };
  }
}

async function finish(c: Ctx, outcome: string) {
  if (!isIdempotent(c.def.action!)) await c.deps.safety.markFinished(c.incident.id, c.def.id, outcome);
}
