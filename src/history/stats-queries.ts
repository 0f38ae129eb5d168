import type { HistoryStore } from './history-store.ts';
import { type HistoryFilter, incidentConditions, SqlParams } from './incident-filter.ts';

/**
 * The SQL of the effectiveness statistics (src/history/stats.ts assembles the answer): six
 * statements, each an aggregate that PostgreSQL reads from an index in the order it groups by or
 * from a day rollup (src/history/migrations/002.do.stats.sql), so none costs a join or a sort of
 * every row. Rows come back as PostgreSQL names them; counts are numbers (src/history/db.ts).
 */

/** Final states of an automated or approval step: it ran, or it was decided it would not. */
export const OUTCOME_STATES = [
  'succeeded',
  'failed',
  'outcome_unknown',
  'dry_run',
  'skipped',
  'rejected',
  'done',
] as const;

/** At most this many alert names in `coverage.unmatched`, the most frequent first. */
const UNMATCHED_LIMIT = 100;

/** p50 and p90 of `seconds` as two columns (`<name>_p50`, `<name>_p90`) from one sort. */
function pct(seconds: string, name: string): string {
  const agg = `percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ${seconds})`;
  return `(${agg})[1] AS ${name}_p50, (${agg})[2] AS ${name}_p90`;
}

/** The ISO week (Monday, UTC) an incident opened in: the expression `incidents_stats` is ordered by. */
const WEEK = "date_trunc('week', i.created_at AT TIME ZONE 'UTC')";

export interface RunbookRow {
  runbook_id: string;
  tte_p50: number | null;
  tte_p90: number | null;
  tta_p50: number | null;
  tta_p90: number | null;
  ttr_p50: number | null;
  ttr_p90: number | null;
}

/**
 * The time percentiles of each runbook, read in index order (`incidents_stats`): no sort but the
 * percentiles' own. The counts come from the weeks (they add up; percentiles do not).
 */
export function runbookRows(history: HistoryStore, filter: HistoryFilter): Promise<RunbookRow[]> {
  const params = new SqlParams();
  const where = incidentConditions(params, history.prefix, filter);
  return history.db.query<RunbookRow>(
    `SELECT i.runbook_id, ${pct('i.seconds_to_evidence', 'tte')}, ${pct('i.seconds_to_acknowledge', 'tta')},
            ${pct('i.seconds_to_resolve', 'ttr')}
     FROM incidents i WHERE ${where}
     GROUP BY i.runbook_id`,
    params.values,
  );
}

export interface WeekRow {
  runbook_id: string;
  /** One of the runbook's names that week. */
  runbook_name: string;
  /** The Monday, `YYYY-MM-DD`. */
  week: string;
  incidents: number;
  resolved: number;
  /** Resolved with no person acting. */
  unattended: number;
  escalations: number;
  ttr_p50: number | null;
}

/**
 * One row per runbook and week with incidents, also in index order. `resolved_at` is set exactly
 * while an incident is resolved, and only a resolved incident is `resolved_unattended`: counting
 * them needs no comparison of the status text (which costs more than the counting). Any of the
 * runbook's names will do, compared bytewise (a locale's comparison costs as much as a percentile).
 */
export function weekRows(history: HistoryStore, filter: HistoryFilter): Promise<WeekRow[]> {
  const params = new SqlParams();
  const where = incidentConditions(params, history.prefix, filter);
  return history.db.query<WeekRow>(
    `SELECT i.runbook_id, max(i.runbook_name COLLATE "C") AS runbook_name, to_char(${WEEK}, 'YYYY-MM-DD') AS week,
            count(*) AS incidents, count(i.seconds_to_resolve) AS resolved,
            count(*) FILTER (WHERE i.resolved_unattended) AS unattended,
            count(*) FILTER (WHERE i.escalated) AS escalations,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY i.seconds_to_resolve) AS ttr_p50
     FROM incidents i WHERE ${where}
     GROUP BY i.runbook_id, ${WEEK}`,
    params.values,
  );
}

export interface StepRow {
  runbook_id: string;
  step_id: string;
  kind: 'automated' | 'approval' | 'manual';
  action_type: string | null;
  state: string;
  n: number;
  verified: number;
  verify_failed: number;
}

/**
 * Steps by runbook, step and final state: automated and approval steps that reached an outcome,
 * manual steps in every state (one never done counts too).
 */
export function stepRows(history: HistoryStore, filter: HistoryFilter): Promise<StepRow[]> {
  const params = new SqlParams();
  const { days, rows } = rollupParts(params, history.prefix, filter);
  const outcomes = params.add(OUTCOME_STATES);
  return history.db.query<StepRow>(
    `SELECT runbook_id, step_id, kind, max(action_type) AS action_type, state,
            sum(n) AS n, sum(verified) AS verified, sum(verify_failed) AS verify_failed
     FROM (
       SELECT runbook_id, step_id, kind, state, action_type, steps AS n, verified, verify_failed
       FROM incident_step_days d WHERE ${days}
       UNION ALL
       SELECT runbook_id, step_id, kind, state, action_type, 1, (verified IS TRUE)::int, (verified IS FALSE)::int
       FROM incident_steps s WHERE ${rows}
     ) x
     WHERE kind <> 'escalate' AND (state = ANY(${outcomes}::text[]) OR kind = 'manual')
     GROUP BY runbook_id, step_id, kind, state
     HAVING sum(n) > 0
     ORDER BY runbook_id, step_id, state`,
    params.values,
  );
}

export interface ManualRow {
  runbook_id: string;
  step_id: string;
  duration_p50: number | null;
  duration_p90: number | null;
}

/** How long completed manual steps took, from their rows (`incident_steps_manual_done`, in its order). */
export function manualRows(history: HistoryStore, filter: HistoryFilter): Promise<ManualRow[]> {
  const params = new SqlParams();
  const where = incidentConditions(params, history.prefix, filter, 's');
  return history.db.query<ManualRow>(
    `SELECT s.runbook_id, s.step_id, ${pct('s.duration_seconds', 'duration')}
     FROM incident_steps s WHERE ${where} AND s.kind = 'manual' AND s.state = 'done'
     GROUP BY s.runbook_id, s.step_id`,
    params.values,
  );
}

export interface RuleRow {
  runbook_id: string;
  rule_index: number;
  description: string;
  evaluated: number;
  held: number;
  /** The last day (`YYYY-MM-DD`) an incident evaluated the rule with this description. */
  newest: string;
}

/** Rule results by runbook, rule and description (a rule whose description changed comes twice). */
export function ruleRows(history: HistoryStore, filter: HistoryFilter): Promise<RuleRow[]> {
  const params = new SqlParams();
  const { days, rows } = rollupParts(params, history.prefix, filter);
  return history.db.query<RuleRow>(
    `SELECT runbook_id, rule_index, description, sum(evaluated) AS evaluated, sum(held) AS held,
            to_char(max(day), 'YYYY-MM-DD') AS newest
     FROM (
       SELECT runbook_id, rule_index, description, evaluated, held, day
       FROM incident_rule_days d WHERE ${days}
       UNION ALL
       SELECT runbook_id, rule_index, description, 1, matched::int, (created_at AT TIME ZONE 'UTC')::date
       FROM incident_rules s WHERE ${rows}
     ) x
     GROUP BY runbook_id, rule_index, description
     HAVING sum(evaluated) > 0`,
    params.values,
  );
}

export interface UnmatchedRow {
  alertname: string;
  firings: number;
  deliveries: number;
  last_seen: string;
  labels: Record<string, string>;
}

/** Alerts no runbook took that fired in the range (first seen before its end, last seen after its start). */
export function unmatchedRows(history: HistoryStore, filter: HistoryFilter): Promise<UnmatchedRow[]> {
  const params = new SqlParams();
  const conditions = [`prefix = ${params.add(history.prefix)}`];
  if (filter.from !== undefined) conditions.push(`last_seen >= ${params.add(filter.from)}::timestamptz`);
  if (filter.to !== undefined) conditions.push(`first_seen < ${params.add(filter.to)}::timestamptz`);
  return history.db.query<UnmatchedRow>(
    `SELECT alertname, count(*) AS firings, sum(deliveries) AS deliveries, max(last_seen) AS last_seen,
            (array_agg(labels ORDER BY last_seen DESC))[1] AS labels
     FROM unmatched_alerts WHERE ${conditions.join(' AND ')}
     GROUP BY alertname ORDER BY firings DESC, alertname LIMIT ${UNMATCHED_LIMIT}`,
    params.values,
  );
}

const DAY_MS = 24 * 3600 * 1000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The conditions that split a range between a day rollup (as `d`: the whole UTC days inside it)
 * and the rows themselves (as `s`: the partial days at its ends). Either may select nothing.
 */
export function rollupParts(
  params: SqlParams,
  prefix: string,
  filter: HistoryFilter,
): { days: string; rows: string } {
  const from = filter.from === undefined ? undefined : Date.parse(filter.from);
  const to = filter.to === undefined ? undefined : Date.parse(filter.to);
  // Whole days: from the first midnight at or after `from` to the last midnight at or before `to`.
  const first = from === undefined ? undefined : Math.ceil(from / DAY_MS) * DAY_MS;
  const last = to === undefined ? undefined : Math.floor(to / DAY_MS) * DAY_MS;
  const rows = incidentConditions(params, prefix, filter, 's');
  if (first !== undefined && last !== undefined && first >= last) return { days: 'false', rows };
  const days = [`d.prefix = ${params.add(prefix)}`];
  const outside: string[] = [];
  if (first !== undefined) {
    days.push(`d.day >= ${params.add(isoDay(first))}::date`);
    outside.push(`s.created_at < ${params.add(new Date(first).toISOString())}::timestamptz`);
  }
  if (last !== undefined) {
    days.push(`d.day < ${params.add(isoDay(last))}::date`);
    outside.push(`s.created_at >= ${params.add(new Date(last).toISOString())}::timestamptz`);
  }
  for (const key of ['runbook', 'service', 'severity'] as const) {
    const value = filter[key];
    if (value !== undefined) days.push(`d.${key === 'runbook' ? 'runbook_id' : key} = ${params.add(value)}`);
  }
  return {
    days: days.join(' AND '),
    rows: outside.length === 0 ? 'false' : `${rows} AND (${outside.join(' OR ')})`,
  };
}
