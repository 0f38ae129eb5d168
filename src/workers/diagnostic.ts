import { diagnoseStep } from '../incidents/diagnosis.ts';
import { parseJob } from '../queues/catalog.ts';
import { processorFor } from './processor.ts';

/** `diagnostics` queue: one job per step of an incident's flow; returns the verdict to the parent. */
export const createDiagnosticProcessor = processorFor({
  diagnose: (deps, job, _token, signal) =>
    diagnoseStep(deps, parseJob('diagnose', job), job.attemptsMade + 1, signal),
});
