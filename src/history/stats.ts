import type { HistoryStore } from './history-store.ts';
import type { HistoryFilter } from './incident-filter.ts';
import {
  type ManualRow,
  manualRows,
  type RuleRow,
  ruleRows,
  runbookRows,
  type StepRow,
  stepRows,
  unmatchedRows,
  type WeekRow,
  weekRows,
} from './stats-queries.ts';

/**
 * How well the runbooks work, from the incident history: per runbook, how long until the evidence
 * was in, until a person acknowledged, until it was resolved; how often it resolved with no person
 * acting, how often it escalated; what each action, rule and manual step did; the same week by
 * week. And the coverage: alerts no runbook took, runbooks that never fired. Everything is
 * aggregated in SQL (src/history/stats-queries.ts: six statements, run side by side on the pool's
 * connections); this module only puts the aggregates together.
 */

/** p50 and p90 in seconds (continuous percentiles); null when nothing was measured. */
export interface Percentiles {
  p50: number | null;
  p90: number | null;
}

export interface ActionStats {
  stepId: string;
  actionType: string | null;
  /** Steps that reached an outcome (a state in OUTCOME_STATES). */
  runs: number;
  /** Runs by final state, e.g. `{ succeeded: 2, failed: 1 }`. */
  outcomes: Record<string, number>;
  /** Runs whose last verify found every check healthy, and those whose last verify did not. */
  verified: number;
  verifyFailed: number;
  /** verified ÷ (verified + verifyFailed); null when no verify ran. */
  verifySuccessRate: number | null;
}

export interface RuleStats {
  ruleIndex: number;
  /** The description the rule had in the newest incident that evaluated it. */
  description: string;
  evaluated: number;
  held: number;
  heldShare: number | null;
}

export interface ManualStepStats {
  stepId: string;
  /** Steps a responder ticked off (state done). */
  completed: number;
  /** From the plan putting the step before the responder to its completion. */
  duration: Percentiles;
}

export interface WeekStats {
  /** Monday of the ISO week (UTC), `YYYY-MM-DD`. */
  week: string;
  incidents: number;
  timeToResolveP50: number | null;
  resolvedUnattendedShare: number | null;
  escalations: number;
}

export interface RunbookStats {
  runbookId: string;
  runbookName: string;
  incidents: number;
  resolved: number;
  timeToEvidence: Percentiles;
  timeToAcknowledge: Percentiles;
  timeToResolve: Percentiles;
  /** Resolved with no person acting, among the resolved; null when none resolved. */
  resolvedUnattendedShare: number | null;
  escalations: number;
  actions: ActionStats[];
  rules: RuleStats[];
  manualSteps: ManualStepStats[];
  /** Oldest first; with both ends of the range given, every week in it (empty ones too). */
  weeks: WeekStats[];
}

export interface UnmatchedStats {
  alertname: string;
  /** Firings (fingerprint and start) no runbook took. */
  firings: number;
  /** Deliveries of those firings (a firing is delivered again until it resolves). */
  deliveries: number;
  lastSeen: string;
  /** The labels of the newest firing, as an example. */
  labels: Record<string, string>;
}

export interface HistoryStats {
  from: string | null;
  to: string | null;
  runbooks: RunbookStats[];
  coverage: { unmatched: UnmatchedStats[]; neverFired: string[] };
}

const share = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);
const percentiles = (p50: number | null, p90: number | null): Percentiles => ({ p50, p90 });

/**
 * The statistics of the incidents `filter` selects (opened in [from, to)); `runbookIds` are the
 * runbooks the caller knows, for `coverage.neverFired`. Unmatched alerts are filtered by time only
 * (they have no runbook, service or severity).
 */
export async function historyStats(
  history: HistoryStore,
  filter: HistoryFilter,
  runbookIds: readonly string[],
): Promise<HistoryStats> {
  const [runbookList, weeks, steps, manual, rules, unmatched] = await Promise.all([
    runbookRows(history, filter),
    weekRows(history, filter),
    stepRows(history, filter),
    manualRows(history, filter),
    ruleRows(history, filter),
    unmatchedRows(history, filter),
  ]);
  const byRunbook = fromWeeks(weeks);
  for (const r of runbookList) {
    const stats = byRunbook.get(r.runbook_id);
    if (!stats) continue;
    stats.timeToEvidence = percentiles(r.tte_p50, r.tte_p90);
    stats.timeToAcknowledge = percentiles(r.tta_p50, r.tta_p90);
    stats.timeToResolve = percentiles(r.ttr_p50, r.ttr_p90);
  }
  for (const stats of byRunbook.values()) stats.weeks = fillWeeks(stats.weeks, filter.from, filter.to);
  addSteps(byRunbook, steps, manual);
  addRules(byRunbook, rules);
  const runbooks = [...byRunbook.values()].sort(
    (a, b) => b.incidents - a.incidents || a.runbookId.localeCompare(b.runbookId),
  );
  return {
    from: filter.from ?? null,
    to: filter.to ?? null,
    runbooks,
    coverage: {
      unmatched: unmatched.map((u) => ({
        alertname: u.alertname,
        firings: u.firings,
        deliveries: u.deliveries,
        lastSeen: u.last_seen,
        labels: u.labels,
      })),
      neverFired: runbookIds.filter((id) => !byRunbook.has(id)),
    },
  };
}

/** Each runbook with its weeks, and its counts as the sum of theirs. */
function fromWeeks(rows: readonly WeekRow[]): Map<string, RunbookStats> {
  const byRunbook = new Map<string, RunbookStats>();
  const unattended = new Map<string, number>();
  for (const w of rows) {
    let stats = byRunbook.get(w.runbook_id);
    if (!stats) {
      stats = emptyRunbook(w.runbook_id, w.runbook_name);
      byRunbook.set(w.runbook_id, stats);
    }
    stats.incidents += w.incidents;
    stats.resolved += w.resolved;
    stats.escalations += w.escalations;
    unattended.set(w.runbook_id, (unattended.get(w.runbook_id) ?? 0) + w.unattended);
    stats.weeks.push({
      week: w.week,
      incidents: w.incidents,
      timeToResolveP50: w.ttr_p50,
      resolvedUnattendedShare: share(w.unattended, w.resolved),
      escalations: w.escalations,
    });
  }
  for (const [id, stats] of byRunbook)
    stats.resolvedUnattendedShare = share(unattended.get(id) ?? 0, stats.resolved);
  return byRunbook;
}

function emptyRunbook(runbookId: string, runbookName: string): RunbookStats {
  return {
    runbookId,
    runbookName,
    incidents: 0,
    resolved: 0,
    timeToEvidence: percentiles(null, null),
    timeToAcknowledge: percentiles(null, null),
    timeToResolve: percentiles(null, null),
    resolvedUnattendedShare: null,
    escalations: 0,
    actions: [],
    rules: [],
    manualSteps: [],
    weeks: [],
  };
}

/** Actions and manual steps onto their runbooks, each by step id. */
function addSteps(
  byRunbook: Map<string, RunbookStats>,
  rows: readonly StepRow[],
  durations: readonly ManualRow[],
): void {
  const actions = new Map<string, ActionStats>();
  const manual = new Map<string, ManualStepStats>();
  for (const r of rows) {
    const stats = byRunbook.get(r.runbook_id);
    if (!stats) continue;
    const key = `${r.runbook_id}\n${r.step_id}`;
    if (r.kind === 'manual') {
      let m = manual.get(key);
      if (!m) {
        m = { stepId: r.step_id, completed: 0, duration: percentiles(null, null) };
        manual.set(key, m);
        stats.manualSteps.push(m);
      }
      if (r.state === 'done') m.completed += r.n;
      continue;
    }
    let a = actions.get(key);
    if (!a) {
      a = {
        stepId: r.step_id,
        actionType: r.action_type,
        runs: 0,
        outcomes: {},
        verified: 0,
        verifyFailed: 0,
        verifySuccessRate: null,
      };
      actions.set(key, a);
      stats.actions.push(a);
    }
    // A step asked for approval in one incident and run straight away in another is one step.
    a.actionType ??= r.action_type;
    a.runs += r.n;
    a.outcomes[r.state] = (a.outcomes[r.state] ?? 0) + r.n;
    a.verified += r.verified;
    a.verifyFailed += r.verify_failed;
    a.verifySuccessRate = share(a.verified, a.verified + a.verifyFailed);
  }
  for (const d of durations) {
    const m = manual.get(`${d.runbook_id}\n${d.step_id}`);
    if (m) m.duration = percentiles(d.duration_p50, d.duration_p90);
  }
  for (const stats of byRunbook.values()) {
    stats.actions.sort((x, y) => x.stepId.localeCompare(y.stepId));
    stats.manualSteps.sort((x, y) => x.stepId.localeCompare(y.stepId));
  }
}

/** Rules onto their runbooks by index; a rule's description is the one it had most recently. */
function addRules(byRunbook: Map<string, RunbookStats>, rows: readonly RuleRow[]): void {
  const rules = new Map<string, { runbookId: string; rule: RuleStats; newest: string }>();
  for (const r of rows) {
    const key = `${r.runbook_id}\n${r.rule_index}`;
    const seen = rules.get(key);
    if (!seen) {
      rules.set(key, {
        runbookId: r.runbook_id,
        rule: {
          ruleIndex: r.rule_index,
          description: r.description,
          evaluated: r.evaluated,
          held: r.held,
          heldShare: null,
        },
        newest: r.newest,
      });
      continue;
    }
    seen.rule.evaluated += r.evaluated;
    seen.rule.held += r.held;
    if (r.newest > seen.newest) {
      seen.rule.description = r.description;
      seen.newest = r.newest;
    }
  }
  for (const { runbookId, rule } of rules.values())
    byRunbook.get(runbookId)?.rules.push({ ...rule, heldShare: share(rule.held, rule.evaluated) });
  for (const stats of byRunbook.values()) stats.rules.sort((x, y) => x.ruleIndex - y.ruleIndex);
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Monday 00:00 UTC of the ISO week holding `ms`. */
function weekStart(ms: number): number {
  const day = new Date(ms);
  day.setUTCHours(0, 0, 0, 0);
  return day.getTime() - ((day.getUTCDay() + 6) % 7) * 24 * 3600 * 1000;
}

/** The weeks with incidents, and with both ends of the range known the empty weeks between them. */
function fillWeeks(list: readonly WeekStats[], from?: string, to?: string): WeekStats[] {
  const sorted = [...list].sort((a, b) => a.week.localeCompare(b.week));
  if (from === undefined || to === undefined) return sorted;
  const start = weekStart(Date.parse(from));
  const end = Date.parse(to);
  if (!(end > start) || (end - start) / WEEK_MS > 520) return sorted;
  const byWeek = new Map(sorted.map((w) => [w.week, w]));
  const out: WeekStats[] = [];
  for (let ms = start; ms < end; ms += WEEK_MS) {
    const week = new Date(ms).toISOString().slice(0, 10);
    out.push(
      byWeek.get(week) ?? {
        week,
        incidents: 0,
        timeToResolveP50: null,
        resolvedUnattendedShare: null,
        escalations: 0,
      },
    );
  }
  return out;
}
