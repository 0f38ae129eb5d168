import type { Job } from 'bullmq';
import type { CompiledRunbook } from '../engine/compile.ts';
import { errorVerdict, judge } from '../engine/judge.ts';
import type { DiagnosticStep } from '../engine/runbook-schema.ts';
import type { Verdict } from '../engine/types.ts';
import { AdapterError } from '../errors.ts';
import type { PipelineDeps } from '../incidents/deps.ts';
import { parseJob } from '../queues/queues.ts';

/**
 * Runs one diagnostic step's executor under its timeout and judges the facts. A check that fails
 * or times out is a verdict `error` with its message, never a thrown error: the flow goes on.
 * Only an abort by the worker itself (shutdown, cancel) or a fault outside the adapter propagates,
 * for BullMQ to retry.
 */
export async function runDiagnostic(
  deps: Pick<PipelineDeps, 'diagnostics'>,
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
    return judge(compiled, step.id, facts, elapsed());
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

/** `diagnostics` queue: one job per step of an incident's flow; returns the verdict to the parent. */
export function createDiagnosticProcessor(deps: PipelineDeps) {
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<Verdict> => {
    const data = parseJob('diagnose', job);
    const compiled = deps.catalog.require(data.runbookId);
    const step = compiled.runbook.diagnostics.find((d) => d.id === data.stepId);
    if (!step)
      throw new AdapterError('pipeline', `runbook ${data.runbookId} has no diagnostic '${data.stepId}'`);
    await deps.store.appendEvent(data.incidentId, {
      type: 'diagnostic.started',
      actor: 'system',
      message: `${step.name}: running`,
      data: { stepId: step.id, type: step.type, attempt: job.attemptsMade + 1 },
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
  };
}
