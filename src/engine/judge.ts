import { NotFoundError } from '../errors.ts';
import type { CompiledRunbook } from './compile.ts';
import { INTERPRET_LEVELS } from './compile.ts';
import { closeTimeMemo, openTimeMemo } from './expression-time.ts';
import type { CompiledExpression } from './expressions.ts';
import { evaluateBoolAt, readPath } from './expressions.ts';
import type { Facts, InterpretLevel, Verdict, VerdictStatus } from './types.ts';

const PREVIEW_CHARS = 80;

/** A short rendering of a fact for a message: numbers as JS prints them (NaN stays NaN). */
function preview(value: unknown): string {
  if (value === undefined) return 'absent';
  const text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

function noMatchMessage(levels: readonly CompiledExpression[], facts: Facts): string {
  const shown = new Map<string, string>();
  for (const expr of levels) {
    expr.readPaths.forEach((path, i) => {
      const text = expr.reads[i]!;
      if (path[0] !== 'now' && !shown.has(text))
        shown.set(text, `${text} = ${preview(readPath(facts, path))}`);
    });
  }
  const values = shown.size > 0 ? ` (${[...shown.values()].join(', ')})` : '';
  return `no interpret expression matched${values}`;
}

/** An `error` or `unknown` verdict, with `durationMs` only when it is known. */
function failedVerdict(
  stepId: string,
  status: 'error' | 'unknown',
  facts: Facts,
  message: string,
  durationMs: number | undefined,
): Verdict {
  const verdict: Verdict = { stepId, status, facts, message };
  if (durationMs !== undefined) verdict.durationMs = durationMs;
  return verdict;
}

interface StepPlan {
  readonly levels: readonly { readonly level: InterpretLevel; readonly expr: CompiledExpression }[];
  /** Facts are the variables as they are; they are copied only for a step that reads `now`. */
  readonly readsNow: boolean;
  /** Some level calls `timestamp(…)`: parsed times are remembered while judging the step. */
  readonly parsesTimes: boolean;
}

const plans = new WeakMap<CompiledRunbook, ReadonlyMap<string, StepPlan>>();
// judge runs over and over for the same runbook: the last plan is at hand without a lookup.
let lastCompiled: CompiledRunbook | undefined;
let lastPlan: ReadonlyMap<string, StepPlan> | undefined;

function planOf(compiled: CompiledRunbook): ReadonlyMap<string, StepPlan> {
  if (compiled === lastCompiled) return lastPlan!;
  let plan = plans.get(compiled);
  if (!plan) {
    const steps = new Map<string, StepPlan>();
    for (const [id, byLevel] of compiled.interpret) {
      const levels = INTERPRET_LEVELS.flatMap((level) => {
        const expr = byLevel[level];
        return expr ? [{ level, expr }] : [];
      });
      steps.set(id, {
        levels,
        readsNow: levels.some(({ expr }) => expr.reads.includes('now')),
        parsesTimes: levels.some(({ expr }) => expr.source.includes('timestamp')),
      });
    }
    plan = steps;
    plans.set(compiled, plan);
  }
  lastCompiled = compiled;
  lastPlan = plan;
  return plan;
}

/**
 * Judges a step's facts: `critical`, then `warning`, then `healthy`; the first true expression
 * wins and is recorded in `matched`. None true → `unknown` (never a silent healthy); an expression
 * that fails or gives a non-bool → `error`. `now` is what `interpret` sees as `now` (the caller's
 * clock: the engine never reads the wall clock).
 * An unknown `stepId` is a bug and throws.
 */
export function judge(
  compiled: CompiledRunbook,
  stepId: string,
  facts: Facts,
  durationMs: number | undefined,
  now: Date,
): Verdict {
  const plan = planOf(compiled).get(stepId);
  if (!plan) throw new NotFoundError(`diagnostic '${stepId}' in runbook '${compiled.runbook.id}'`);
  // A step that reads `now` sees it over its facts; they are copied only if CEL has to run.
  const at = plan.readsNow ? now : undefined;
  // The levels of one step often parse the same times: parsed once while judging the step.
  const opened = plan.parsesTimes && openTimeMemo();
  try {
    const levels = plan.levels;
    for (let i = 0; i < levels.length; i++) {
      const { level, expr } = levels[i]!;
      const result = evaluateBoolAt(expr, facts, at);
      if (!result.ok) {
        return failedVerdict(
          stepId,
          'error',
          facts,
          `${level} expression failed: ${result.reason}`,
          durationMs,
        );
      }
      if (result.value) {
        const matched = { level, expression: expr.source };
        // Built whole rather than extended: the hot path, and one object shape per kind.
        return durationMs === undefined
          ? { stepId, status: level, matched, facts }
          : { stepId, status: level, matched, facts, durationMs };
      }
    }
  } finally {
    if (opened) closeTimeMemo();
  }
  const tried = plan.levels.map((l) => l.expr);
  return failedVerdict(stepId, 'unknown', facts, noMatchMessage(tried, facts), durationMs);
}

/** The verdict of a step whose executor failed or timed out: no facts, the reason in words. */
export function errorVerdict(stepId: string, message: string, durationMs?: number): Verdict {
  return failedVerdict(stepId, 'error', {}, message, durationMs);
}

const SEVERITY_RANK: Record<VerdictStatus, number> = {
  healthy: 0,
  unknown: 1,
  warning: 2,
  error: 3,
  critical: 4,
};

/**
 * The worst status across verdicts: critical > error > warning > unknown > healthy.
 * No verdicts at all is `unknown`: nothing was checked, so nothing is known to be healthy.
 */
export function overallStatus(verdicts: readonly Verdict[]): VerdictStatus {
  if (verdicts.length === 0) return 'unknown';
  let worst: VerdictStatus = 'healthy';
  for (const v of verdicts) if (SEVERITY_RANK[v.status] > SEVERITY_RANK[worst]) worst = v.status;
  return worst;
}
