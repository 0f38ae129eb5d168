import type { Job } from 'bullmq';
import type { CompiledRunbook } from '../engine/compile.ts';
import { decide, planRemediations } from '../engine/decide.ts';
import { errorVerdict, overallStatus } from '../engine/judge.ts';
import { isIdempotent } from '../engine/runbook-schema.ts';
import { renderDiagnosticConfig, templateContext } from '../engine/template.ts';
import type { Incident, Verdict } from '../engine/types.ts';
import type { PipelineDeps } from '../incidents/deps.ts';
import { refreshStatus, resolveIncident } from '../incidents/operations.ts';
import { jobIds, parseJob, QUEUES } from '../queues/queues.ts';
import { describeVerdict, runDiagnostic } from './diagnostic.ts';

/** Verdicts of a flow's children: completed values, plus `error` for children lost to failures. */
async function collectVerdicts(deps: PipelineDeps, job: Job, incident: Incident, compiled: CompiledRunbook) {
  const values = (await job.getChildrenValues()) as Record<string, Verdict>;
  const failures = await job.getIgnoredChildrenFailures();
  const verdicts: Record<string, Verdict> = {};
  for (const step of compiled.runbook.diagnostics) {
    const key = `${deps.queues.prefix}:${QUEUES.diagnostics}:${jobIds.diagnose(incident.id, step.id)}`;
    const value = values[key];
    if (value) {
      verdicts[step.id] = value;
      continue;
    }
    const reason = failures[key];
    const verdict = errorVerdict(
      step.id,
      reason ? `the check could not run: ${reason}` : 'no result was recorded',
    );
    verdicts[step.id] = verdict;
    await deps.store.setVerdict(incident.id, verdict, {
      type: 'diagnostic.finished',
      actor: 'system',
      message: describeVerdict(step, verdict),
      data: { stepId: step.id, status: verdict.status },
    });
  }
  return verdicts;
}

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
    if (!def) continue;
    if (step.kind === 'automated' && (step.state === 'pending' || step.state === 'queued')) {
      const retryable = def.action ? isIdempotent(def.action) : false;
      await deps.queues.add(
        'remediate',
        { incidentId: incident.id, runbookId: runbook.id, stepId: step.stepId },
        { jobId: jobIds.remediate(incident.id, step.stepId), attempts: retryable ? 3 : 1 },
      );
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
    } else if (step.kind === 'approval' && step.state === 'awaiting_approval') {
      const channel = runbook.escalation.primary;
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
      await deps.queues.add(
        'notify',
        { incidentId: incident.id, kind: 'approval_needed', channel, stepId: step.stepId },
        { jobId: jobIds.notify(incident.id, 'approval_needed', channel, step.stepId) },
      );
    } else if (step.kind === 'escalate' && step.state === 'pending') {
      const channel = def.escalateTo ?? runbook.escalation.secondary ?? runbook.escalation.primary;
      await deps.queues.add(
        'notify',
        { incidentId: incident.id, kind: 'escalation', channel, stepId: step.stepId },
        { jobId: jobIds.notify(incident.id, 'escalation', channel, step.stepId) },
      );
      await deps.store.updatePlanStep(
        incident.id,
        step.stepId,
        ['pending'],
        { state: 'escalated' },
        {
          type: 'escalation.fired',
          actor: 'system',
          message: `${def.name}: escalated to ${channel}`,
          data: { stepId: step.stepId, channel },
        },
      );
    }
  }
  const channel = runbook.escalation.primary;
  await deps.queues.add(
    'notify',
    { incidentId: incident.id, kind: 'update', channel },
    { jobId: jobIds.notify(incident.id, 'update', channel) },
  );
  await refreshStatus(deps, incident.id);
}

async function evaluate(deps: PipelineDeps, job: Job) {
  const { incidentId } = parseJob('evaluate', job);
  const incident = await deps.store.get(incidentId);
  if (!incident) return { skipped: 'gone' };
  const compiled = deps.catalog.require(incident.runbookId);
  if (incident.decision) {
    // A re-run after a crash: the decision stands; make sure its plan was dispatched.
    await dispatchPlan(deps, incident, compiled);
    return { decision: 'existed' };
  }
  const verdicts = await collectVerdicts(deps, job, incident, compiled);
  const decision = decide(compiled, {
    verdicts,
    alert: incident.alert,
    incident: {
      id: incident.id,
      severity: incident.severity,
      service: incident.service,
      createdAt: incident.createdAt,
    },
    now: deps.now(),
  });
  const plan = planRemediations(compiled.runbook, decision);
  const overall = overallStatus(Object.values(verdicts));
  const moved = await deps.store.setStatus(incidentId, ['triggered', 'diagnosing'], 'diagnosed', {
    type: 'incident.status',
    actor: 'system',
    message: `Diagnosed: overall ${overall}`,
    data: { from: incident.status, to: 'diagnosed', overall },
  });
  const held = decision.rationale.filter((r) => r.matched).map((r) => r.description || r.condition);
  await deps.store.setDecision(incidentId, decision, overall, plan, {
    type: 'decision.made',
    actor: 'system',
    message: held.length
      ? `Decided: ${held.join('; ')} → ${decision.remediations.join(', ') || 'no remediation'}`
      : 'No rule matched: nothing to remediate',
    data: { remediations: decision.remediations, overall },
  });
  // Resolved while diagnosing: the evidence is kept, nothing is started.
  if (!moved.ok && moved.current === 'resolved') return { decision: 'recorded', dispatched: false };
  const updated = await deps.store.get(incidentId);
  if (updated) await dispatchPlan(deps, updated, compiled);
  return { decision: 'made', remediations: decision.remediations };
}

/** After a remediation's `verify` delay: re-run the named diagnostics; healthy → resolve, else escalate. */
async function verify(deps: PipelineDeps, job: Job, signal?: AbortSignal) {
  const { incidentId, stepId } = parseJob('verify', job);
  const incident = await deps.store.get(incidentId);
  if (!incident || incident.status === 'resolved') return { skipped: 'resolved' };
  const compiled = deps.catalog.require(incident.runbookId);
  const def = compiled.runbook.remediations.find((r) => r.id === stepId);
  if (!def?.verify) return { skipped: 'no verify' };
  const ctx = templateContext(incident.alert, { ...incident, runbookId: incident.runbookId });
  const verdicts = await Promise.all(
    def.verify.diagnostics.map(async (id) => {
      const step = compiled.runbook.diagnostics.find((d) => d.id === id);
      if (!step) return errorVerdict(id, `unknown diagnostic '${id}'`);
      const rendered = renderDiagnosticConfig(step, ctx);
      if (!rendered.ok) return errorVerdict(id, `template: ${rendered.reason}`);
      return runDiagnostic(deps, compiled, step, rendered.config, signal);
    }),
  );
  const healthy = verdicts.every((v) => v.status === 'healthy');
  await deps.store.appendEvent(incidentId, {
    type: 'remediation.verified',
    actor: 'system',
    message: `Verify after ${def.name}: ${verdicts.map((v) => `${v.stepId} ${v.status}`).join(', ')}`,
    data: { stepId, healthy, verdicts: verdicts.map((v) => ({ stepId: v.stepId, status: v.status })) },
  });
  if (healthy) {
    await resolveIncident(deps, incidentId, 'system', `verified healthy after ${def.name}`);
    return { verified: true };
  }
  await escalateIncident(
    deps,
    incident,
    compiled,
    `verify after ${def.name} found ${verdicts
      .filter((v) => v.status !== 'healthy')
      .map((v) => v.stepId)
      .join(', ')} not healthy`,
  );
  return { verified: false };
}

/** Marks the incident escalated and pages the escalation channel (once per reason). */
export async function escalateIncident(
  deps: PipelineDeps,
  incident: Incident,
  compiled: CompiledRunbook,
  reason: string,
  opts: { unlessAttended?: boolean } = {},
): Promise<boolean> {
  const channel = compiled.runbook.escalation.secondary ?? compiled.runbook.escalation.primary;
  const event = {
    type: 'escalation.fired' as const,
    actor: 'system',
    message: `Escalated to ${channel}: ${reason}`,
    data: { channel, reason },
  };
  const res = await deps.store.setFlag(incident.id, 'escalated', true, event, opts);
  if (!res.changed) {
    // The timer lost the race with an ack or a resolve: nobody is paged.
    if (opts.unlessAttended) return false;
    // Already escalated once: this new reason still goes on the timeline and to the channel.
    await deps.store.appendEvent(incident.id, event);
  }
  await deps.queues.add(
    'notify',
    { incidentId: incident.id, kind: 'escalation', channel },
    { jobId: jobIds.notify(incident.id, 'escalation', channel, `${deps.now().getTime()}`) },
  );
  return true;
}

/** `decisions` queue: the flow parent `evaluate`, and delayed `verify` jobs. */
export function createDecisionProcessor(deps: PipelineDeps) {
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<unknown> =>
    job.name === 'verify' ? verify(deps, job, signal) : evaluate(deps, job);
}
