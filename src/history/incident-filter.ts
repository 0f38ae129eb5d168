/**
 * The filter that history statistics and search share: an installation's incidents opened in a
 * time range, of one runbook, service or severity. Built as SQL text with numbered placeholders and
 * a list of values: what a client sent travels only as bind values, never in the SQL text.
 */

export interface HistoryFilter {
  /** Opened at or after this time (ISO-8601), inclusive. */
  from?: string;
  /** Opened before this time (ISO-8601), exclusive. */
  to?: string;
  runbook?: string;
  service?: string;
  severity?: string;
}

/** Bind values of one statement, and the `$n` placeholder of each value added. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * The conditions on `incidents` (as `alias`) for an installation and a filter, joined by AND.
 * Only the conditions asked for are written, so the planner sees plain ones (and uses
 * `incidents_by_time` / `incidents_by_runbook`).
 */
export function incidentConditions(
  params: SqlParams,
  prefix: string,
  filter: HistoryFilter,
  alias = 'i',
): string {
  const a = alias;
  const conditions = [`${a}.prefix = ${params.add(prefix)}`];
  if (filter.from !== undefined)
    conditions.push(`${a}.created_at >= ${params.add(filter.from)}::timestamptz`);
  if (filter.to !== undefined) conditions.push(`${a}.created_at < ${params.add(filter.to)}::timestamptz`);
  if (filter.runbook !== undefined) conditions.push(`${a}.runbook_id = ${params.add(filter.runbook)}`);
  if (filter.service !== undefined) conditions.push(`${a}.service = ${params.add(filter.service)}`);
  if (filter.severity !== undefined) conditions.push(`${a}.severity = ${params.add(filter.severity)}`);
  return conditions.join(' AND ');
}
