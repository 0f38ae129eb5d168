import type { CompiledExpression, ExpressionScope, ScopeNode } from './expressions.ts';
import { boolTypeProblem, compileExpression } from './expressions.ts';
import { describeFacts, factFields, interpretScope } from './facts.ts';
import type { DiagnosticStep, Runbook } from './runbook-schema.ts';
import type { InterpretLevel, RunbookIssue } from './types.ts';

/** A runbook whose expressions are parsed and checked, ready for judge and decide. */
export interface CompiledRunbook {
  readonly runbook: Runbook;
  /** By diagnostic id. */
  readonly interpret: ReadonlyMap<string, Partial<Record<InterpretLevel, CompiledExpression>>>;
  /** Aligned with `runbook.decisionTree`; null for the otherwise rule. */
  readonly conditions: ReadonlyArray<CompiledExpression | null>;
}

export type CompileResult =
  | { ok: true; compiled: CompiledRunbook; warnings: RunbookIssue[] }
  | { ok: false; issues: RunbookIssue[] };

/** The order in which `interpret` levels are tried; the first true one wins. */
export const INTERPRET_LEVELS: readonly InterpretLevel[] = ['critical', 'warning', 'healthy'];

type Path = RunbookIssue['path'];

class Issues {
  readonly list: RunbookIssue[] = [];
  error(path: Path, message: string): void {
    this.list.push({ path, message, severity: 'error' });
  }
  warning(path: Path, message: string): void {
    this.list.push({ path, message, severity: 'warning' });
  }
}

/** Reports each id seen before; returns the first step of each id. */
function uniqueIds<T extends { id: string }>(
  items: readonly T[],
  section: string,
  issues: Issues,
): Map<string, T> {
  const first = new Map<string, { item: T; index: number }>();
  items.forEach((item, index) => {
    const seen = first.get(item.id);
    if (seen)
      issues.error([section, index, 'id'], `duplicate id '${item.id}' (first at ${section}[${seen.index}])`);
    else first.set(item.id, { item, index });
  });
  return new Map([...first].map(([id, { item }]) => [id, item]));
}

function compileChecked(source: string, scope: ExpressionScope, path: Path, issues: Issues) {
  const result = compileExpression(source, scope);
  if (!result.ok) {
    issues.error(path, result.reason);
    return undefined;
  }
  const problem = boolTypeProblem(result.expr);
  if (problem) {
    issues.error(path, problem);
    return undefined;
  }
  return result.expr;
}

function compileInterpret(runbook: Runbook, issues: Issues): CompiledRunbook['interpret'] {
  const interpret = new Map<string, Partial<Record<InterpretLevel, CompiledExpression>>>();
  runbook.diagnostics.forEach((step, i) => {
    const levels: Partial<Record<InterpretLevel, CompiledExpression>> = {};
    for (const level of INTERPRET_LEVELS) {
      const source = step.interpret[level];
      if (source === undefined) continue;
      const expr = compileChecked(
        source,
        interpretScope(step.type),
        ['diagnostics', i, 'interpret', level],
        issues,
      );
      if (expr) levels[level] = expr;
    }
    if (!interpret.has(step.id)) interpret.set(step.id, levels);
  });
  return interpret;
}

/**
 * What rule conditions may read: `diagnostics.<id>.status|facts.*`, `alert.labels|annotations|status|source`,
 * `incident.*` and `now`. Labels and annotations are open maps (use `has()` for optional ones).
 */
export function conditionScope(diagnostics: ReadonlyMap<string, DiagnosticStep>): ExpressionScope {
  const steps: Record<string, ScopeNode> = {};
  for (const [id, step] of diagnostics) {
    steps[id] = {
      fields: {
        status: {},
        facts: {
          fields: factFields(step.type),
          unknown: (key) => `unknown fact '${key}' of diagnostic '${id}' — ${describeFacts(step.type)}`,
        },
      },
      unknown: (key) => `diagnostics.${id} has status and facts, not '${key}'`,
    };
  }
  return {
    variables: {
      diagnostics: { type: 'map', fields: steps, unknown: (key) => `unknown diagnostic '${key}'` },
      alert: { type: 'map', fields: { labels: {}, annotations: {}, status: {}, source: {} } },
      incident: {
        type: 'map',
        fields: { id: {}, severity: {}, service: {}, createdAt: {}, ageMinutes: {} },
      },
      now: { type: 'timestamp' },
    },
    unknown: (name) => `unknown variable '${name}' — conditions read diagnostics, alert, incident and now`,
  };
}

function compileRules(
  runbook: Runbook,
  diagnostics: ReadonlyMap<string, DiagnosticStep>,
  remediationIds: ReadonlySet<string>,
  issues: Issues,
): (CompiledExpression | null)[] {
  const scope = conditionScope(diagnostics);
  let otherwiseAt: number | undefined;
  return runbook.decisionTree.map((rule, i) => {
    rule.then.forEach((id, j) => {
      if (!remediationIds.has(id))
        issues.error(['decisionTree', i, 'then', j], `unknown remediation '${id}'`);
    });
    if (rule.condition === undefined) {
      if (otherwiseAt !== undefined) {
        issues.error(
          ['decisionTree', i, 'otherwise'],
          `only one otherwise rule (first at decisionTree[${otherwiseAt}])`,
        );
      } else if (runbook.decisionTree.slice(i + 1).some((later) => later.condition !== undefined)) {
        issues.error(['decisionTree', i, 'otherwise'], 'the otherwise rule must be the last rule');
      }
      otherwiseAt ??= i;
      return null;
    }
    return compileChecked(rule.condition, scope, ['decisionTree', i, 'condition'], issues) ?? null;
  });
}

/** Types whose steps draw a chart (src/engine/chart.ts): a metric's series, a log search's counts. */
export const CHARTED_TYPES: ReadonlySet<string> = new Set(['prometheus_query', 'log_search']);

function checkCharts(runbook: Runbook, issues: Issues) {
  runbook.diagnostics.forEach((step, i) => {
    if (step.chart && !CHARTED_TYPES.has(step.type))
      issues.error(
        ['diagnostics', i, 'chart'],
        `a ${step.type} step has no chart (only ${[...CHARTED_TYPES].join(' and ')} steps do)`,
      );
  });
}

function checkRemediations(
  runbook: Runbook,
  diagnostics: ReadonlyMap<string, DiagnosticStep>,
  issues: Issues,
) {
  const reached = new Set(runbook.decisionTree.flatMap((rule) => rule.then));
  runbook.remediations.forEach((step, i) => {
    step.verify?.diagnostics.forEach((id, j) => {
      if (!diagnostics.has(id))
        issues.error(['remediations', i, 'verify', 'diagnostics', j], `unknown diagnostic '${id}'`);
    });
    if (!reached.has(step.id))
      issues.warning(['remediations', i], `remediation '${step.id}' is never reached by any rule`);
  });
}

/**
 * Every semantic check of a parsed runbook, collecting all issues: expressions compile and read
 * only what is in scope, rules name known remediations, ids are unique, `otherwise` is last.
 */
export function compileRunbook(runbook: Runbook): CompileResult {
  const issues = new Issues();
  // In document order: diagnostics, decisionTree, remediations.
  const diagnostics = uniqueIds(runbook.diagnostics, 'diagnostics', issues);
  const interpret = compileInterpret(runbook, issues);
  const remediationIds = new Set(runbook.remediations.map((r) => r.id));
  const conditions = compileRules(runbook, diagnostics, remediationIds, issues);
  uniqueIds(runbook.remediations, 'remediations', issues);
  checkRemediations(runbook, diagnostics, issues);
  checkCharts(runbook, issues);
  if (issues.list.some((issue) => issue.severity === 'error')) return { ok: false, issues: issues.list };
  return { ok: true, compiled: { runbook, interpret, conditions }, warnings: issues.list };
}
