import { decideIncident, verifyRemediation } from '../incidents/decision.ts';
import { parseJob } from '../queues/catalog.ts';
import { processorFor } from './processor.ts';

/** `decisions` queue: the flow parent `evaluate`, and delayed `verify` jobs. */
export const createDecisionProcessor = processorFor({
  evaluate: (deps, job) =>
    decideIncident(deps, parseJob('evaluate', job).incidentId, async () => {
      const [values, failures] = await Promise.all([
        job.getChildrenValues(),
        job.getIgnoredChildrenFailures(),
      ]);
      return { values, failures };
    }),
  verify: (deps, job, _token, signal) => {
    const { incidentId, stepId } = parseJob('verify', job);
    return verifyRemediation(deps, incidentId, stepId, signal);
  },
});
