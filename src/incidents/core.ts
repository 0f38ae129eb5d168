import type { ProgressHub } from '../store/progress.ts';
import type { PipelineDeps } from './deps.ts';
import type { Intake } from './intake.ts';

/**
 * What the HTTP layer and the metrics see of a running pipeline (src/process/pipeline.ts builds
 * it): the incident layer's dependencies, the alert intake and the progress hub. Nothing here
 * starts or stops workers.
 */
export interface Core {
  readonly deps: PipelineDeps;
  readonly intake: Intake;
  readonly progress: ProgressHub;
}
