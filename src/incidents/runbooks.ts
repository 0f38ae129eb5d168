import { loadRunbooks } from '../adapters/runbook-files.ts';
import { RunbookValidationError } from '../errors.ts';
import type { PipelineDeps } from './deps.ts';

/**
 * Reloads the runbooks from `paths` and swaps the catalog whole. A set with errors changes
 * nothing and throws RunbookValidationError listing every issue with its file and line.
 */
export async function reloadRunbooks(
  deps: Pick<PipelineDeps, 'catalog' | 'logger'>,
  paths: readonly string[],
): Promise<{ runbookIds: string[]; warnings: number }> {
  const { runbooks, issues } = await loadRunbooks(paths);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new RunbookValidationError(errors);
  deps.catalog.replace(runbooks);
  deps.logger.info({ runbooks: runbooks.length, warnings: issues.length }, 'runbooks reloaded');
  return { runbookIds: runbooks.map((c) => c.runbook.id), warnings: issues.length };
}
