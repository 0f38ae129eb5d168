import type { CompiledRunbook } from './compile.ts';
import type { CompiledExpression, ReadPath } from './expressions.ts';
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

/** How to read one rationale value out of the context, worked out once per runbook. */
interface Accessor {
  readonly key: string;
  readonly path: ReadPath;
  /** Set when the path is under `diagnostics.<id>`. */
  readonly diagnostic?: { readonly id: string; readonly key: string };
}

interface RulePlan {
  readonly rule: DecisionRule;
  readonly condition: CompiledExpression | null;
  readonly accessors: readonly Accessor[];
}

interface DecisionPlan {
  readonly stepIds: readonly string[];
  readonly readsIncident: boolean;
  readonly rules: readonly RulePlan[];
}

const plans = new WeakMap<CompiledRunbook, DecisionPlan>();

function planOf(compiled: CompiledRunbook): DecisionPlan {
  let plan = plans.get(compiled);
  if (plan) return plan;
  const rules = compiled.runbook.decisionTree.map((rule, i): RulePlan => {
    const condition = compiled.conditions[i] ?? null;
    const accessors = (condition?.readPaths ?? []).map((path, j): Accessor => {
      const key = condition!.reads[j]!;
      const id = path[0] === 'diagnostics' ? path[1] : undefined;
      return id === undefined
        ? { key, path }
        : { key, path, diagnostic: { id, key: formatPath(path.slice(0, 2)) } };
    });
    return { rule, condition, accessors };
  });
  plan = {
    stepIds: compiled.runbook.diagnostics.map((d) => d.id),
    readsIncident: rules.some((r) => r.accessors.some((a) => a.path[0] === 'incident')),
    rules,
  };
  plans.set(compiled, plan);
  return plan;
}

function contextOf(plan: DecisionPlan, input: DecisionInput): Record<string, unknown> {
  // A verdict has `status` and `facts`; conditions may read nothing else (compile checks that).
  let diagnostics: Record<string, unknown> = input.verdicts;
  for (const id of plan.stepIds) {
    if (Object.hasOwn(input.verdicts, id)) continue;
    diagnostics = {};
    for (const each of plan.stepIds) {
      diagnostics[each] = Object.hasOwn(input.verdicts, each) ? input.verdicts[each] : MISSING_VERDICT;
    }
    break;
  }
  // Only a runbook whose conditions read `incident` pays for its age.
  const incident = plan.readsIncident
    ? { ...input.incident, ageMinutes: (input.now.getTime() - Date.parse(input.incident.createdAt)) / 60_000 }
    : input.incident;
  return { diagnostics, alert: input.alert, incident, now: input.now };
}

function valuesOf(accessors: readonly Accessor[], vars: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const { key, path, diagnostic } of accessors) {
    if (diagnostic && (vars.diagnostics as Record<string, unknown>)[diagnostic.id] === MISSING_VERDICT) {
      values[diagnostic.key] = NO_VERDICT;
    }
    const value = readPath(vars, path);
    values[key] = value === undefined ? ABSENT : value instanceof Date ? value.toISOString() : value;
  }
  return values;
}

function ruleRationale(
  index: number,
  plan: RulePlan,
  expr: CompiledExpression,
  vars: Record<string, unknown>,
) {
  const result = evaluateBool(expr, vars);
  const entry: RuleRationale = {
    index,
    description: plan.rule.description,
    condition: expr.source,
    matched: result.ok && result.value,
    values: valuesOf(plan.accessors, vars),
    then: [...plan.rule.then],
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
  const plan = planOf(compiled);
  const vars = contextOf(plan, input);
  const remediations = new Set<string>();
  const rationale: RuleRationale[] = [];
  let held = false;
  let otherwiseApplied = false;
  for (let index = 0; index < plan.rules.length; index++) {
    const rulePlan = plan.rules[index]!;
    const { rule, condition } = rulePlan;
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
    const entry = ruleRationale(index, rulePlan, condition, vars);
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
