import { chartStep } from '../incidents/charts.ts';
import { diagnoseStep } from '../incidents/diagnosis.ts';
import { parseJob } from '../queues/catalog.ts';
import { processorFor } from './processor.ts';

/**
 * `diagnostics` queue: one job per step of an incident's flow, which returns the verdict to the
 * parent; and one per charted step, beside it.
 */
export const createDiagnosticProcessor = processorFor({
  diagnose: (deps, job, _token, signal) =>
    diagnoseStep(deps, parseJob('diagnose', job), job.attemptsMade + 1, signal),
  chart: (deps, job, _token, signal) => chartStep(deps, parseJob('chart', job), signal),
});
