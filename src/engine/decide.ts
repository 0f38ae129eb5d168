import type { CompiledRunbook } from './compile.ts';
import type { CompiledExpression, ReadPath } from './expressions.ts';
import { evaluateBoolAt, formatPath, internKey, readPath } from './expressions.ts';
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
  /** Index of the path among the plan's distinct paths: each is read once per decide. */
  readonly slot: number;
  /** Set when the path is under `diagnostics.<id>`. */
  readonly diagnostic?: { readonly id: string; readonly key: string };
}

interface RulePlan {
  readonly index: number;
  readonly rule: DecisionRule;
  readonly condition: CompiledExpression | null;
  readonly accessors: readonly Accessor[];
}

interface DecisionPlan {
  readonly stepIds: readonly string[];
  /** Every path some rationale shows, once (several rules often read the same status). */
  readonly paths: readonly ReadPath[];
  readonly readsIncident: boolean;
  readonly rules: readonly RulePlan[];
}

const plans = new WeakMap<CompiledRunbook, DecisionPlan>();
// decide runs over and over for the same runbook: the last plan is at hand without a lookup.
let lastCompiled: CompiledRunbook | undefined;
let lastPlan: DecisionPlan | undefined;

function planOf(compiled: CompiledRunbook): DecisionPlan {
  if (compiled === lastCompiled) return lastPlan!;
  let plan = plans.get(compiled);
  if (!plan) {
    const paths: ReadPath[] = [];
    const slots = new Map<string, number>();
    const rules = compiled.runbook.decisionTree.map((rule, i): RulePlan => {
      const condition = compiled.conditions[i] ?? null;
      // Keys interned once: reading and writing by them is the hot path.
      const accessors = (condition?.readPaths ?? []).map((read, j): Accessor => {
        const key = internKey(condition!.reads[j]!);
        const path = read.map(internKey);
        let slot = slots.get(key);
        if (slot === undefined) {
          slot = paths.push(path) - 1;
          slots.set(key, slot);
        }
        const id = path[0] === 'diagnostics' ? path[1] : undefined;
        return id === undefined
          ? { key, path, slot }
          : { key, path, slot, diagnostic: { id, key: internKey(formatPath(path.slice(0, 2))) } };
      });
      return { index: i, rule, condition, accessors };
    });
    plan = {
      stepIds: compiled.runbook.diagnostics.map((d) => d.id),
      paths,
      readsIncident: rules.some((r) => r.accessors.some((a) => a.path[0] === 'incident')),
      rules,
    };
    plans.set(compiled, plan);
  }
  lastCompiled = compiled;
  lastPlan = plan;
  return plan;
}

function contextOf(plan: DecisionPlan, input: DecisionInput): Record<string, unknown> {
  // A verdict has `status` and `facts`; conditions may read nothing else (compile checks that).
  const verdicts = input.verdicts;
  let diagnostics: Record<string, unknown> = verdicts;
  const stepIds = plan.stepIds;
  for (let i = 0; i < stepIds.length; i++) {
    if (Object.hasOwn(verdicts, stepIds[i]!)) continue;
    diagnostics = {};
    for (const each of stepIds) {
      diagnostics[each] = Object.hasOwn(verdicts, each) ? verdicts[each] : MISSING_VERDICT;
    }
    break;
  }
  // Only a runbook whose conditions read `incident` pays for its age.
  const incident = plan.readsIncident
    ? { ...input.incident, ageMinutes: (input.now.getTime() - Date.parse(input.incident.createdAt)) / 60_000 }
    : input.incident;
  // Built as a literal, not spread: the hot path.
  return { diagnostics, alert: input.alert, incident, now: input.now };
}

/** A path not read yet in this decide. */
const UNREAD = Symbol('unread');

/** How a rationale shows a value read. */
function shown(value: unknown): unknown {
  return value === undefined ? ABSENT : value instanceof Date ? value.toISOString() : value;
}

/** `someMissing`: a verdict is missing, so `vars.diagnostics` is not the verdicts as given. */
function valuesOf(
  accessors: readonly Accessor[],
  vars: Record<string, unknown>,
  someMissing: boolean,
  read: unknown[],
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (let i = 0; i < accessors.length; i++) {
    const { key, path, slot, diagnostic } = accessors[i]!;
    if (
      someMissing &&
      diagnostic &&
      (vars.diagnostics as Record<string, unknown>)[diagnostic.id] === MISSING_VERDICT
    ) {
      values[diagnostic.key] = NO_VERDICT;
    }
    let value = read[slot];
    if (value === UNREAD) value = read[slot] = shown(readPath(vars, path));
    values[key] = value;
  }
  return values;
}

function ruleRationale(
  plan: RulePlan,
  expr: CompiledExpression,
  vars: Record<string, unknown>,
  someMissing: boolean,
  read: unknown[],
) {
  const result = evaluateBoolAt(expr, vars, undefined);
  const entry: RuleRationale = {
    index: plan.index,
    description: plan.rule.description,
    condition: expr.source,
    matched: result.ok && result.value,
    values: valuesOf(plan.accessors, vars, someMissing, read),
    then: plan.rule.then.slice(),
  };
  if (!result.ok) entry.error = result.reason;
  return entry;
}

/** Adds `ids` not yet in `into`, in order (a handful of ids: a scan beats a Set). */
function addAll(into: string[], ids: readonly string[]): void {
  for (let i = 0; i < ids.length; i++) if (!into.includes(ids[i]!)) into.push(ids[i]!);
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
  const someMissing = vars.diagnostics !== input.verdicts;
  const read: unknown[] = new Array(plan.paths.length).fill(UNREAD);
  const remediations: string[] = [];
  const rationale: RuleRationale[] = [];
  let held = false;
  let otherwiseApplied = false;
  const rules = plan.rules;
  for (let index = 0; index < rules.length; index++) {
    const rulePlan = rules[index]!;
    const { rule, condition } = rulePlan;
    if (!condition) {
      otherwiseApplied = !held;
      rationale.push({
        index,
        description: rule.description,
        condition: 'otherwise',
        matched: otherwiseApplied,
        values: {},
        then: rule.then.slice(),
      });
      if (otherwiseApplied) addAll(remediations, rule.then);
      continue;
    }
    const entry = ruleRationale(rulePlan, condition, vars, someMissing, read);
    rationale.push(entry);
    if (!entry.matched) continue;
    held = true;
    addAll(remediations, rule.then);
    if (rule.stop) {
      entry.stopped = true;
      break;
    }
  }
  return { remediations, rationale, otherwiseApplied };
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
