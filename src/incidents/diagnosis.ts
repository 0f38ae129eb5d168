import type { CompiledRunbook } from '../engine/compile.ts';
import { errorVerdict, judge } from '../engine/judge.ts';
import type { DiagnosticStep } from '../engine/runbook-schema.ts';
import { renderDiagnosticConfig, templateContext } from '../engine/template.ts';
import type { Incident, Verdict } from '../engine/types.ts';
import { AdapterError, InvariantError } from '../errors.ts';
import { type JobData, jobIds } from '../queues/catalog.ts';
import type { PipelineDeps } from './deps.ts';
import { scheduleEscalation } from './escalation.ts';

/**
 * The diagnosis of an incident: ONE BullMQ flow whose children run the runbook's diagnostics in
 * parallel (each judged to a verdict) and whose parent `evaluate` decides (src/incidents/decision.ts).
 */

/**
 * Starts the diagnosis of an opened incident: status `diagnosing`, the flow, the escalation timer
 * and the "opened" notification. Safe to run again after a crash: the flow is added only when its
 * parent does not exist yet (BullMQ would otherwise add the children again), and every other job
 * id is deterministic.
 */
export async function startDiagnosis(deps: PipelineDeps, incidentId: string) {
  const incident = await deps.store.get(incidentId);
  if (!incident || incident.status === 'resolved') return { skipped: incident ? 'resolved' : 'gone' };
  const compiled = deps.catalog.require(incident.runbookId);
  const { runbook } = compiled;
  // Status first: fast diagnostics may finish before this job does, and the decision worker
  // moves the incident on from `diagnosing`.
  await deps.store.setStatus(incidentId, ['triggered'], 'diagnosing', {
    type: 'incident.status',
    actor: 'system',
    message: `Running ${runbook.diagnostics.length} diagnostics in parallel`,
    data: { from: 'triggered', to: 'diagnosing', diagnostics: runbook.diagnostics.map((d) => d.id) },
  });
  const existing = await deps.queues.byName.decisions.getJob(jobIds.evaluate(incidentId));
  if (!existing) {
    await deps.queues.addFlow(
      { name: 'evaluate', data: { incidentId, runbookId: runbook.id }, jobId: jobIds.evaluate(incidentId) },
      diagnoseJobs(incident, compiled),
    );
    deps.logger.info(
      { incidentId, runbookId: runbook.id, diagnostics: runbook.diagnostics.length },
      'diagnostic flow added',
    );
  }
  await scheduleEscalation(deps, incident, compiled);
  const channel = runbook.escalation.primary;
  await deps.queues.add(
    'notify',
    { incidentId, kind: 'opened', channel },
    { jobId: jobIds.notify(incidentId, 'opened', channel) },
  );
  return { flow: existing ? 'existed' : 'added' };
}

/** One `diagnose` job per diagnostic, its config rendered for this incident's alert. */
function diagnoseJobs(incident: Incident, compiled: CompiledRunbook) {
  const { runbook } = compiled;
  const ctx = templateContext(incident.alert, {
    id: incident.id,
    severity: incident.severity,
    service: incident.service,
    runbookId: runbook.id,
  });
  return runbook.diagnostics.map((step) => {
    const rendered = renderDiagnosticConfig(step, ctx);
    const data: JobData<'diagnose'> = {
      incidentId: incident.id,
      runbookId: runbook.id,
      stepId: step.id,
      config: rendered.ok ? rendered.config : step.config,
      ...(rendered.ok ? {} : { renderError: `${rendered.path.join('.')}: ${rendered.reason}` }),
      timeoutMs: step.timeout * 1000,
    };
    return { name: 'diagnose' as const, data, jobId: jobIds.diagnose(incident.id, step.id) };
  });
}

/**
 * Runs one diagnostic step's executor under its timeout and judges the facts at the injected
 * clock's `now`. A check that fails or times out is a verdict `error` with its message, never a
 * thrown error: the flow goes on. Only an abort by the worker itself (shutdown, cancel) or a fault
 * outside the adapter propagates, for BullMQ to retry.
 */
export async function runDiagnostic(
  deps: Pick<PipelineDeps, 'diagnostics' | 'now'>,
  compiled: CompiledRunbook,
  step: DiagnosticStep,
  config: unknown,
  jobSignal: AbortSignal | undefined,
): Promise<Verdict> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const timeout = AbortSignal.timeout(step.timeout * 1000);
  const signal = jobSignal ? AbortSignal.any([jobSignal, timeout]) : timeout;
  try {
    const facts = await deps.diagnostics.run(step.type, config, { signal, timeoutMs: step.timeout * 1000 });
    return judge(compiled, step.id, facts, elapsed(), deps.now());
  } catch (err) {
    if (jobSignal?.aborted) throw err;
    if (timeout.aborted) return errorVerdict(step.id, `timed out after ${step.timeout}s`, elapsed());
    if (err instanceof AdapterError) return errorVerdict(step.id, err.message, elapsed());
    throw err;
  }
}

/** Describes a verdict in one line for the timeline: "Database connections: critical (value >= 90)". */
export function describeVerdict(step: DiagnosticStep, verdict: Verdict): string {
  const why = verdict.matched
    ? ` (${verdict.matched.expression})`
    : verdict.message
      ? ` — ${verdict.message}`
      : '';
  return `${step.name}: ${verdict.status}${why}`;
}

/** Runs one `diagnose` job's step and records its verdict; the verdict goes to the flow parent. */
export async function diagnoseStep(
  deps: PipelineDeps,
  data: JobData<'diagnose'>,
  attempt: number,
  signal: AbortSignal | undefined,
): Promise<Verdict> {
  const compiled = deps.catalog.require(data.runbookId);
  const step = compiled.runbook.diagnostics.find((d) => d.id === data.stepId);
  if (!step) throw new InvariantError(`runbook ${data.runbookId} has no diagnostic '${data.stepId}'`);
  await deps.store.appendEvent(data.incidentId, {
    type: 'diagnostic.started',
    actor: 'system',
    message: `${step.name}: running`,
    data: { stepId: step.id, type: step.type, attempt },
  });
  const verdict = data.renderError
    ? errorVerdict(step.id, `template: ${data.renderError}`, 0)
    : await runDiagnostic(deps, compiled, step, data.config, signal);
  await deps.store.setVerdict(data.incidentId, verdict, {
    type: 'diagnostic.finished',
    actor: 'system',
    message: describeVerdict(step, verdict),
    data: { stepId: step.id, status: verdict.status, durationMs: verdict.durationMs },
  });
  return verdict;
}
