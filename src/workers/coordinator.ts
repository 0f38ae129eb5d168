import { InvariantError } from '../errors.ts';
import { ARCHIVE_SETTLE_MS, archivePass, historyOn, sweepIncidents } from '../incidents/archive.ts';
import { startDiagnosis } from '../incidents/diagnosis.ts';
import { pollThreshold } from '../incidents/threshold.ts';
import { parseJob } from '../queues/catalog.ts';
import { processorFor } from './processor.ts';

/**
 * `triggers` queue: `trigger` turns an opened incident into its diagnostic flow
 * (src/incidents/diagnosis.ts); `sweep` deletes resolved incidents past retention; `archive`
 * copies changed incidents to the history (src/incidents/archive.ts); `threshold` polls a
 * metric_threshold trigger (src/incidents/threshold.ts).
 */
export const createCoordinatorProcessor = processorFor({
  trigger: (deps, job) => startDiagnosis(deps, parseJob('trigger', job).incidentId),
  sweep: (deps, job) => {
    parseJob('sweep', job);
    return sweepIncidents(deps);
  },
  archive: (deps, job) => {
    parseJob('archive', job);
    if (!historyOn(deps)) throw new InvariantError('an archive job ran with the history off');
    return archivePass(deps, { settleMs: ARCHIVE_SETTLE_MS });
  },
  threshold: (deps, job) => {
    const { runbookId, triggerIndex } = parseJob('threshold', job);
    return pollThreshold(deps, runbookId, triggerIndex);
  },
});
