import type { CompiledRunbook } from '../engine/compile.ts';
import { decide, planRemediations } from '../engine/decide.ts';
import { errorVerdict, overallStatus } from '../engine/judge.ts';
import { renderPlanActions } from '../engine/plan-render.ts';
import { renderDiagnosticConfig, templateContext } from '../engine/template.ts';
import type { Incident, Verdict } from '../engine/types.ts';
import { jobIds } from '../queues/catalog.ts';
import { chartJob, requestChart } from './charts.ts';
import type { PipelineDeps } from './deps.ts';
import { describeVerdict, runDiagnostic } from './diagnosis.ts';
import { dispatchPlan } from './dispatch.ts';
import { escalateIncident } from './escalation.ts';
import { resolveIncident } from './operations.ts';

/** What a flow parent got from its children, as BullMQ reports it: by child job key. */
export interface ChildResults {
  /** Completed children's return values (verdicts). */
  values: Record<string, Verdict>;
  /** Children that failed for good, with the reason. */
  failures: Record<string, string>;
}

/** One verdict per diagnostic: a child's value, or `error` (recorded) for a child lost to a failure. */
async function collectVerdicts(
  deps: PipelineDeps,
  incident: Incident,
  compiled: CompiledRunbook,
  children: ChildResults,
): Promise<Record<string, Verdict>> {
  const verdicts: Record<string, Verdict> = {};
  for (const step of compiled.runbook.diagnostics) {
    const key = deps.queues.jobKey('diagnose', jobIds.diagnose(incident.id, step.id));
    const value = children.values[key];
    if (value) {
      verdicts[step.id] = value;
      continue;
    }
    const reason = children.failures[key];
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
 * Every verdict is in: walk the decision tree, record the decision and its plan, and start the
 * plan. A re-run after a crash finds the decision made and only makes sure its plan was started.
 */
export async function decideIncident(
  deps: PipelineDeps,
  incidentId: string,
  readChildren: () => Promise<ChildResults>,
) {
  // The children's results are read beside the incident, not after it: one round trip less
  // between the last verdict and the decision (a re-run that finds the decision made wastes it).
  const [incident, children] = await Promise.all([deps.store.get(incidentId), readChildren()]);
  if (!incident) return { skipped: 'gone' };
  const compiled = deps.catalog.require(incident.runbookId);
  if (incident.decision) {
    await dispatchPlan(deps, incident, compiled);
    return { decision: 'existed' };
  }
  const verdicts = await collectVerdicts(deps, incident, compiled, children);
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
  const ctx = templateContext(incident.alert, { ...incident, runbookId: incident.runbookId });
  const plan = renderPlanActions(compiled.runbook, planRemediations(compiled.runbook, decision), ctx);
  const overall = overallStatus(Object.values(verdicts));
  const held = decision.rationale.filter((r) => r.matched).map((r) => r.description || r.condition);
  // One round trip: `diagnosed` (when still diagnosing) and the decision with its plan.
  const { before } = await deps.store.setDecision(
    incidentId,
    decision,
    overall,
    plan,
    {
      type: 'decision.made',
      actor: 'system',
      message: held.length
        ? `Decided: ${held.join('; ')} → ${decision.remediations.join(', ') || 'no remediation'}`
        : 'No rule matched: nothing to remediate',
      data: { remediations: decision.remediations, overall },
    },
    {
      type: 'incident.status',
      actor: 'system',
      message: `Diagnosed: overall ${overall}`,
      data: { from: incident.status, to: 'diagnosed', overall },
    },
  );
  // Resolved while diagnosing: the evidence is kept, nothing is started.
  if (before === 'resolved') return { decision: 'recorded', dispatched: false };
  // The plan was written just now and nothing else moves its steps before it is dispatched:
  // the incident as this job knows it is current enough to dispatch without reading it back.
  const status = before === 'triggered' || before === 'diagnosing' ? 'diagnosed' : before;
  await dispatchPlan(deps, { ...incident, status, decision, overall, plan }, compiled);
  return { decision: 'made', remediations: decision.remediations };
}

/** After a remediation's `verify` delay: re-run the named diagnostics; healthy → resolve, else escalate. */
export async function verifyRemediation(
  deps: PipelineDeps,
  incidentId: string,
  stepId: string,
  signal: AbortSignal | undefined,
) {
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
      // The re-run's chart, over the same start as the first (the recovery beside the rise): a job
      // of its own, so that the verify's outcome does not wait for it.
      const [verdict] = await Promise.all([
        runDiagnostic(deps, compiled, step, rendered.config, signal),
        requestChart(
          deps,
          chartJob(
            { incidentId, runbookId: compiled.runbook.id },
            step.id,
            'verify',
            rendered.config,
            incident.alert.startsAt,
          ),
          step,
          def.id,
        ),
      ]);
      return verdict;
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
  const unhealthy = verdicts.filter((v) => v.status !== 'healthy').map((v) => v.stepId);
  await escalateIncident(
    deps,
    incident,
    compiled,
    `verify after ${def.name} found ${unhealthy.join(', ')} not healthy`,
  );
  return { verified: false };
}
