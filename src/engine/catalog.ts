import { NotFoundError } from '../errors.ts';
import type { CompiledRunbook } from './compile.ts';

/**
 * The runbooks a process knows, by id. Swapped whole on reload so a reader never sees a half
 * loaded set.
 */
export interface RunbookCatalog {
  get(id: string): CompiledRunbook | undefined;
  /** Like get, but a missing runbook is an error naming it. */
  require(id: string): CompiledRunbook;
  /** Every runbook; the same array until `replace` (readers may keep what they derive from it). */
  all(): readonly CompiledRunbook[];
  replace(runbooks: readonly CompiledRunbook[]): void;
}

export function createCatalog(initial: readonly CompiledRunbook[] = []): RunbookCatalog {
  let byId = index(initial);
  let list = [...initial];
  return {
    get: (id) => byId.get(id),
    require(id) {
      const found = byId.get(id);
      if (!found) throw new NotFoundError(`runbook '${id}'`);
      return found;
    },
    all: () => list,
    replace(runbooks) {
      byId = index(runbooks);
      list = [...runbooks];
    },
  };
}

function index(runbooks: readonly CompiledRunbook[]): Map<string, CompiledRunbook> {
  return new Map(runbooks.map((c) => [c.runbook.id, c]));
}
