import { startDiagnosis } from '../incidents/diagnosis.ts';
import { pollThreshold } from '../incidents/threshold.ts';
import { parseJob } from '../queues/catalog.ts';
import { processorFor } from './processor.ts';

/**
 * `triggers` queue: `trigger` turns an opened incident into its diagnostic flow
 * (src/incidents/diagnosis.ts); `sweep` deletes resolved incidents past retention; `threshold`
 * polls a metric_threshold trigger (src/incidents/threshold.ts).
 */
export const createCoordinatorProcessor = processorFor({
  trigger: (deps, job) => startDiagnosis(deps, parseJob('trigger', job).incidentId),
  sweep: async (deps, job) => {
    parseJob('sweep', job);
    const cutoff = new Date(deps.now().getTime() - deps.retentionDays * 24 * 3600 * 1000);
    return { removed: await deps.store.sweep(cutoff) };
  },
  threshold: (deps, job) => {
    const { runbookId, triggerIndex } = parseJob('threshold', job);
    return pollThreshold(deps, runbookId, triggerIndex);
  },
});
