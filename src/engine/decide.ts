import type { CompiledRunbook } from './compile.ts';
import type { CompiledExpression } from './expressions.ts';
import { evaluateBool, formatPath, readPath } from './expressions.ts';
import type { DecisionRule, Runbook } from './runbook-schema.ts';
import type { Alert, Decision, PlanStep, RuleRationale, Verdict } from './types.ts';

/** What the decision tree sees besides the runbook. */
export interface DecisionInput {
  verdicts: Record<string, Verdict>;
  alert: Alert;
  incident: { id: string; severity: string; service: string; createdAt: string };
  now: Date;
}

/** How a rationale shows a path that has no value (a label the alert does not carry). */
export const ABSENT = '<absent>';
/** How a rationale shows a diagnostic that has no verdict. */
export const NO_VERDICT = 'no verdict: treated as status error with no facts';

const MISSING_VERDICT = Object.freeze({ status: 'error', facts: Object.freeze({}) });

interface DecisionContext {
  readonly vars: Record<string, unknown>;
  /** Diagnostics of the runbook that have no verdict in the input. */
  readonly missing: ReadonlySet<string>;
}

function contextOf(runbook: Runbook, input: DecisionInput): DecisionContext {
  const diagnostics: Record<string, unknown> = {};
  const missing = new Set<string>();
  for (const { id } of runbook.diagnostics) {
    // A verdict has `status` and `facts`; conditions may read nothing else (compile checks that).
    if (Object.hasOwn(input.verdicts, id)) diagnostics[id] = input.verdicts[id];
    else {
      diagnostics[id] = MISSING_VERDICT;
      missing.add(id);
    }
  }
  const ageMinutes = (input.now.getTime() - Date.parse(input.incident.createdAt)) / 60_000;
  const incident = { ...input.incident, ageMinutes };
  return { vars: { diagnostics, alert: input.alert, incident, now: input.now }, missing };
}

function valuesOf(expr: CompiledExpression, context: DecisionContext): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  expr.readPaths.forEach((path, i) => {
    if (path[0] === 'diagnostics' && path[1] !== undefined && context.missing.has(path[1])) {
      values[formatPath(path.slice(0, 2))] = NO_VERDICT;
    }
    const value = readPath(context.vars, path);
    values[expr.reads[i]!] =
      value === undefined ? ABSENT : value instanceof Date ? value.toISOString() : value;
  });
  return values;
}

function ruleRationale(
  index: number,
  rule: DecisionRule,
  expr: CompiledExpression,
  context: DecisionContext,
) {
  const result = evaluateBool(expr, context.vars);
  const entry: RuleRationale = {
    index,
    description: rule.description,
    condition: expr.source,
    matched: result.ok && result.value,
    values: valuesOf(expr, context),
    then: [...rule.then],
  };
  if (!result.ok) entry.error = result.reason;
  return entry;
}

/**
 * Walks the decision tree in order. Every rule whose condition holds contributes its `then`
 * (deduplicated, first occurrence kept); `stop: true` on a holding rule ends the walk; the
 * `otherwise` rule applies only when no condition held. A condition that fails to evaluate
 * counts as not held and its error is in the rationale. Only rules that were reached are recorded.
 */
export function decide(compiled: CompiledRunbook, input: DecisionInput): Decision {
  const context = contextOf(compiled.runbook, input);
  const remediations = new Set<string>();
  const rationale: RuleRationale[] = [];
  let held = false;
  let otherwiseApplied = false;
  const rules = compiled.runbook.decisionTree;
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index]!;
    const condition = compiled.conditions[index];
    if (!condition) {
      otherwiseApplied = !held;
      rationale.push({
        index,
        description: rule.description,
        condition: 'otherwise',
        matched: otherwiseApplied,
        values: {},
        then: [...rule.then],
      });
      if (otherwiseApplied) for (const id of rule.then) remediations.add(id);
      continue;
    }
    const entry = ruleRationale(index, rule, condition, context);
    rationale.push(entry);
    if (!entry.matched) continue;
    held = true;
    for (const id of rule.then) remediations.add(id);
    if (rule.stop) {
      entry.stopped = true;
      break;
    }
  }
  return { remediations: [...remediations], rationale, otherwiseApplied };
}

/**
 * One plan step per decided remediation, in order: `approval` (awaiting approval) when the step
 * requires it, else its type (pending). Manual steps carry their instructions; steps with an
 * action carry its type. A remediation id the runbook does not define is a bug and throws.
 */
export function planRemediations(runbook: Runbook, decision: Decision): PlanStep[] {
  const byId = new Map(runbook.remediations.map((r) => [r.id, r]));
  return decision.remediations.map((id) => {
    const step = byId.get(id);
    if (!step)
      throw new Error(`decision names remediation '${id}' that runbook '${runbook.id}' does not define`);
    const plan: PlanStep = {
      stepId: step.id,
      name: step.name,
      kind: step.requiresApproval ? 'approval' : step.type,
      state: step.requiresApproval ? 'awaiting_approval' : 'pending',
    };
    if (step.instructions !== undefined) plan.instructions = step.instructions;
    if (step.action) plan.actionType = step.action.type;
    return plan;
  });
}
