import type { CompiledRunbook } from '../engine/compile.ts';
import { errorVerdict, judge } from '../engine/judge.ts';
import { channelsFor } from '../engine/notification-policy.ts';
import type { DiagnosticStep } from '../engine/runbook-schema.ts';
import { renderDiagnosticConfig, templateContext } from '../engine/template.ts';
import type { Incident, IncidentStatus, Verdict } from '../engine/types.ts';
import { AdapterError, InvariantError } from '../errors.ts';
import { type JobData, jobIds } from '../queues/catalog.ts';
import { besideTheCheck, chartJob, isCharted } from './charts.ts';
import type { PipelineDeps } from './deps.ts';
import { scheduleEscalation } from './escalation.ts';
import { notifyChannels } from './notices.ts';

/**
 * The diagnosis of an incident: ONE BullMQ flow whose children run the runbook's diagnostics in
 * parallel (each judged to a verdict) and whose parent `evaluate` decides (src/incidents/decision.ts).
 */

/**
 * Starts the diagnosis of an opened incident: status `diagnosing`, the flow, the escalation timer
 * and the "opened" notification. Safe to run again (a stalled or retried trigger job): the flow is
 * added only while the diagnosis has not happened (addFlowOnce), the escalation timer only while
 * it has not been started (scheduleEscalation), and the notification has a deterministic id — so
 * a re-run that crashed before adding them adds them, and one after them adds nothing, except the
 * "opened" notification once its completed job was removed: that one is at-least-once.
 */
export async function startDiagnosis(deps: PipelineDeps, incidentId: string) {
  const incident = await deps.store.get(incidentId);
  if (!incident || incident.status === 'resolved') return { skipped: incident ? 'resolved' : 'gone' };
  const compiled = deps.catalog.require(incident.runbookId);
  const { runbook } = compiled;
  // Status first: fast diagnostics may finish before this job does, and the decision worker
  // moves the incident on from `diagnosing`. When this run moved it, no earlier run got past this
  // point: nothing below exists yet and nothing needs looking up (the usual case, and the fastest).
  const moved = await deps.store.setStatus(incidentId, ['triggered'], 'diagnosing', {
    type: 'incident.status',
    actor: 'system',
    message: `Running ${runbook.diagnostics.length} diagnostics in parallel`,
    data: { from: 'triggered', to: 'diagnosing', diagnostics: runbook.diagnostics.map((d) => d.id) },
  });
  const firstRun = moved.ok;
  const flow = firstRun
    ? await addFlow(deps, incident, compiled)
    : await addFlowOnce(deps, incident, compiled);
  await scheduleEscalation(deps, incident, compiled, firstRun);
  await notifyChannels(deps, incidentId, 'opened', channelsFor('opened', runbook, deps.notifications));
  return { flow };
}

/** While the incident is in these, its diagnosis has not been decided: a missing flow is added. */
const UNDIAGNOSED: readonly IncidentStatus[] = ['triggered', 'diagnosing'];

/**
 * Adds the incident's diagnostic flow unless it was added before: `existed` while its `evaluate`
 * parent is in the queue (BullMQ would otherwise add the children again), `over` once the
 * incident is past `diagnosing` (diagnosed and on, or resolved) — the parent may be gone by then,
 * removed with the other completed jobs (src/queues/catalog.ts) — and `added` otherwise. The job
 * is looked up before the status is read: `evaluate` moves the incident on before it completes,
 * so when the job is missing, a status read after that is the one the diagnosis left.
 */
async function addFlowOnce(
  deps: PipelineDeps,
  incident: Incident,
  compiled: CompiledRunbook,
): Promise<'added' | 'existed' | 'over'> {
  if (await deps.queues.byName.decisions.getJob(jobIds.evaluate(incident.id))) return 'existed';
  const current = await deps.store.get(incident.id);
  if (!current || !UNDIAGNOSED.includes(current.status)) return 'over';
  return addFlow(deps, incident, compiled);
}

/** Adds the incident's diagnostic flow: the `evaluate` parent and one `diagnose` child per step. */
async function addFlow(deps: PipelineDeps, incident: Incident, compiled: CompiledRunbook): Promise<'added'> {
  const { runbook } = compiled;
  await deps.queues.addFlow(
    {
      name: 'evaluate',
      data: { incidentId: incident.id, runbookId: runbook.id },
      jobId: jobIds.evaluate(incident.id),
    },
    diagnoseJobs(incident, compiled),
  );
  // Debug: the timeline's `incident.status` ("Running 5 diagnostics in parallel") tells people.
  deps.logger.debug(
    { incidentId: incident.id, runbookId: runbook.id, diagnostics: runbook.diagnostics.length },
    'diagnostic flow added',
  );
  return 'added';
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
      alertStartsAt: incident.alert.startsAt,
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
  // The check does not wait for its `started` event to be written: the two run side by side, and
  // the verdict is written only after the event, so the timeline keeps started before finished.
  // A charted step's range query runs beside the check too. When it is done by the time the check
  // is, its chart is stored with the verdict; when it is not (a slow range query), it is cancelled
  // and handed to a `chart` job: the verdict, and the decision after it, never wait for it.
  const started = deps.store.appendEvent(data.incidentId, {
    type: 'diagnostic.started',
    actor: 'system',
    message: `${step.name}: running`,
    data: { stepId: step.id, type: step.type, attempt },
  });
  const job =
    data.renderError || data.alertStartsAt === undefined || !isCharted(step)
      ? null
      : chartJob(data, step.id, 'diagnosis', data.config, data.alertStartsAt);
  const chart = job ? besideTheCheck(deps, step, job, signal) : null;
  const [, verdict] = await Promise.all([
    started,
    data.renderError
      ? errorVerdict(step.id, `template: ${data.renderError}`, 0)
      : runDiagnostic(deps, compiled, step, data.config, signal),
  ]);
  await Promise.all([
    deps.store.setVerdict(data.incidentId, verdict, {
      type: 'diagnostic.finished',
      actor: 'system',
      message: describeVerdict(step, verdict),
      data: { stepId: step.id, status: verdict.status, durationMs: verdict.durationMs },
    }),
    chart?.finish(),
  ]);
  return verdict;
}
