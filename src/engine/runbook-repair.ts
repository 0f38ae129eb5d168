import { notify } from './action-types/notify.ts';
import { diagnosticTypeSpec } from './diagnostic-types/index.ts';
import { prometheusQuery } from './diagnostic-types/prometheus-query.ts';
import type { Runbook } from './runbook-schema.ts';
import type { RunbookIssue } from './types.ts';

/**
 * Lint reports every problem at once: a schema error in one step must not hide an unknown
 * remediation id in the decision tree. So the parts of a runbook that fail the schema are swapped
 * for valid stand-ins (keeping ids and diagnostic types, which the semantic checks read), and the
 * semantic checks run on the result. Issues those checks find inside a swapped part are about the
 * stand-in, not the author's text, and are dropped by the caller.
 */

type Path = (string | number)[];

/** What an action that fails the schema becomes, whatever its type. */
const ACTION_STANDIN = { type: notify.type, config: { channel: '#standin' } };

const ID = /^[a-z0-9][a-z0-9_-]*$/;
const idOf = (item: unknown, i: number) => {
  const id = isRecord(item) ? item.id : undefined;
  return typeof id === 'string' && ID.test(id) ? id : `invalid-${i}`;
};

const ITEM_STANDINS: Record<string, (item: unknown, i: number) => unknown> = {
  triggers: () => ({ type: 'manual' }),
  diagnostics: (item, i) => ({
    id: idOf(item, i),
    name: 'standin',
    type: prometheusQuery.type,
    config: prometheusQuery.standIn,
    interpret: { healthy: 'true' },
  }),
  decisionTree: (item) => {
    const then = isRecord(item) ? item.then : undefined;
    const ids = Array.isArray(then) && then.every((t) => typeof t === 'string' && ID.test(t)) ? then : [];
    return { condition: 'true', then: ids };
  },
  remediations: (item, i) => ({ id: idOf(item, i), name: 'standin', type: 'escalate' }),
};

const TOP_STANDINS: Record<string, unknown> = {
  id: 'invalid',
  name: 'standin',
  description: '',
  severity: 'P4',
  service: 'standin',
  triggers: [{ type: 'manual' }],
  dryRun: false,
  autoResolve: false,
  diagnostics: [],
  decisionTree: [],
  remediations: [],
  escalation: { primary: '#standin' },
};

/** What to swap for a schema issue at `path`: the smallest part the stand-ins above can replace. */
function standInFor(data: Record<string, unknown>, path: Path): { at: Path; value: unknown } {
  const [top, i, part] = path;
  const list = typeof top === 'string' ? data[top] : undefined;
  const item = Array.isArray(list) && typeof i === 'number' ? list[i] : undefined;
  if (top === 'diagnostics' && typeof i === 'number' && part === 'config' && isRecord(item)) {
    // A config that fails its type's schema becomes that type's stand-in config.
    const spec = typeof item.type === 'string' ? diagnosticTypeSpec(item.type) : undefined;
    if (spec !== undefined) return { at: [top, i, 'config'], value: spec.standIn };
  }
  if (top === 'remediations' && typeof i === 'number' && part === 'action' && isRecord(item))
    return { at: [top, i, 'action'], value: ACTION_STANDIN };
  const itemStandIn = typeof top === 'string' ? ITEM_STANDINS[top] : undefined;
  if (itemStandIn && item !== undefined && typeof i === 'number')
    return { at: [top!, i], value: itemStandIn(item, i) };
  // An unknown top-level key has no stand-in: it is removed.
  return { at: [top ?? ''], value: TOP_STANDINS[String(top)] };
}

/**
 * A schema-valid runbook made from `data` by swapping the parts where `issues` are (and those
 * `validate` finds after a swap, for a few rounds), with the paths swapped; undefined when none is found.
 */
export function repairRunbook(
  data: unknown,
  issues: readonly RunbookIssue[],
  validate: (data: unknown) => { ok: true; value: Runbook } | { ok: false; issues: RunbookIssue[] },
): { runbook: Runbook; repaired: Path[] } | undefined {
  if (!isRecord(data)) return undefined;
  const copy = structuredClone(data);
  const repaired: Path[] = [];
  let paths = issues.map((i) => i.path);
  for (let round = 0; round < 3; round++) {
    for (const path of paths) {
      if (repaired.some((r) => isPrefix(r, path))) continue;
      const { at, value } = standInFor(copy, path);
      setAt(copy, at, value);
      repaired.push(at);
    }
    const result = validate(copy);
    if (result.ok) return { runbook: result.value, repaired };
    paths = result.issues.map((i) => i.path);
  }
  return undefined;
}

/** True when `prefix` is `path` or one of its ancestors. */
export function isPrefix(prefix: readonly (string | number)[], path: readonly (string | number)[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

function setAt(root: Record<string, unknown>, path: Path, value: unknown): void {
  let node: unknown = root;
  for (const seg of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[seg];
  const last = path[path.length - 1]!;
  if (value === undefined) delete (node as Record<string | number, unknown>)[last];
  else (node as Record<string | number, unknown>)[last] = structuredClone(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
