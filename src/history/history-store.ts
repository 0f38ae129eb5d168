import { decodeChart, encodeChart } from '../engine/chart-encode.ts';
import type { Chart } from '../engine/chart-types.ts';
import type { HistoryFacts } from '../engine/history.ts';
import type { Alert, Incident, TimelineEvent } from '../engine/types.ts';
import type { HistoryDb, SqlRunner } from './db.ts';

/**
 * The incident history in PostgreSQL (src/history/migrations/): what the archive writes
 * (src/incidents/archive.ts) and what the API reads once Redis has swept an incident. Every write
 * is an upsert keyed by incident id and (incident, event id), in one transaction with the cursor
 * of the Redis stream it came from, so a pass that dies writes nothing and a pass run again
 * writes nothing twice. One installation (`prefix`) per store; a database may hold several.
 */

/** One incident as the archive found it in Redis. */
export interface ArchiveItem {
  incident: Incident;
  facts: HistoryFacts;
  /** Timeline events not archived yet, oldest first. */
  events: TimelineEvent[];
  charts: Record<string, Chart>;
  /** The incident's newest timeline id. */
  lastEventId: string;
}

/** An alert no runbook took, as intake recorded it (stream id, when it arrived). */
export interface UnmatchedItem {
  id: string;
  at: string;
  alert: Alert;
}

export type CursorName = 'events' | 'unmatched';

export interface HistoryStore {
  readonly db: HistoryDb;
  readonly prefix: string;
  /** The last stream id archived from `stream`, or null before the first pass. */
  cursor(stream: CursorName): Promise<string | null>;
  /** The newest archived timeline id of each given incident that is archived. */
  lastEventIds(ids: readonly string[]): Promise<Map<string, string>>;
  /** Writes incidents, their new events, unmatched alerts and the cursors in one transaction. */
  write(
    items: readonly ArchiveItem[],
    unmatched: readonly UnmatchedItem[],
    cursors: Partial<Record<CursorName, string>>,
  ): Promise<void>;
  /** Of `ids`, those archived as resolved with their newest event `lastEventIds` says (safe to sweep). */
  archivedResolved(ids: readonly string[], lastEventIds: ReadonlyMap<string, string>): Promise<Set<string>>;
  incident(id: string): Promise<Incident | null>;
  /** The archived timeline, oldest first, after the stream id `after` (exclusive). */
  timeline(id: string, opts?: { after?: string; limit?: number }): Promise<TimelineEvent[]>;
  charts(id: string): Promise<Record<string, Chart>>;
}

export function createHistoryStore(db: HistoryDb, prefix: string): HistoryStore {
  return {
    db,
    prefix,
    async cursor(stream) {
      const rows = await db.query<{ last_id: string }>(
        'SELECT last_id FROM history_cursor WHERE prefix = $1 AND stream = $2',
        [prefix, stream],
      );
      return rows[0]?.last_id ?? null;
    },
    async lastEventIds(ids) {
      if (ids.length === 0) return new Map();
      const rows = await db.query<{ id: string; last_event_id: string }>(
        'SELECT id, last_event_id FROM incidents WHERE id = ANY($1::text[])',
        [ids],
      );
      return new Map(rows.map((r) => [r.id, r.last_event_id]));
    },
    write(items, unmatched, cursors) {
      return db.transaction(async (tx) => {
        await writeIncidents(tx, prefix, items);
        await writeUnmatched(tx, prefix, unmatched);
        for (const [stream, lastId] of Object.entries(cursors))
          await tx.query(
            `INSERT INTO history_cursor (prefix, stream, last_id) VALUES ($1, $2, $3)
             ON CONFLICT (prefix, stream) DO UPDATE SET last_id = EXCLUDED.last_id, updated_at = now()`,
            [prefix, stream, lastId],
          );
      });
    },
    async archivedResolved(ids, lastEventIds) {
      if (ids.length === 0) return new Set();
      const rows = await db.query<{ id: string; last_event_id: string }>(
        "SELECT id, last_event_id FROM incidents WHERE id = ANY($1::text[]) AND status = 'resolved'",
        [ids],
      );
      return new Set(rows.filter((r) => lastEventIds.get(r.id) === r.last_event_id).map((r) => r.id));
    },
    async incident(id) {
      const rows = await db.query<{ record: Incident }>(
        'SELECT record FROM incidents WHERE id = $1 AND prefix = $2',
        [id, prefix],
      );
      return rows[0]?.record ?? null;
    },
    async timeline(id, opts = {}) {
      // Stream ids are `<ms>-<seq>`: ordered by both parts as numbers, never as text.
      const rows = await db.query<{ event_id: string; event: Omit<TimelineEvent, 'id' | 'incidentId'> }>(
        `SELECT e.event_id, e.event FROM incident_events e JOIN incidents i ON i.id = e.incident_id
         WHERE e.incident_id = $1 AND i.prefix = $2
           AND ($3::text IS NULL OR (split_part(e.event_id, '-', 1)::bigint, split_part(e.event_id, '-', 2)::bigint)
                > (split_part($3, '-', 1)::bigint, split_part($3, '-', 2)::bigint))
         ORDER BY split_part(e.event_id, '-', 1)::bigint, split_part(e.event_id, '-', 2)::bigint
         LIMIT $4`,
        [id, prefix, opts.after && opts.after !== '0' ? opts.after : null, opts.limit ?? null],
      );
      return rows.map((r) => ({ ...r.event, id: r.event_id, incidentId: id }));
    },
    async charts(id) {
      const rows = await db.query<{ charts: Record<string, string> }>(
        'SELECT charts FROM incidents WHERE id = $1 AND prefix = $2',
        [id, prefix],
      );
      const stored = rows[0]?.charts ?? {};
      return Object.fromEntries(Object.entries(stored).map(([key, text]) => [key, decodeChart(text)]));
    },
  };
}

/**
 * Inserts `rows` (objects named like the table's columns) into `table` in one statement: the rows
 * travel as one JSON parameter and take the table's own row type. `onConflict` is the statement's
 * ON CONFLICT clause, if any. `table` is one of this file's constants, never input.
 */
async function insertRows(
  tx: SqlRunner,
  table: 'incidents' | 'incident_events' | 'incident_steps' | 'incident_rules' | 'unmatched_alerts',
  rows: readonly object[],
  onConflict = '',
): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO ${table} SELECT * FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb) ${onConflict}`,
    [JSON.stringify(rows)],
  );
}

async function writeIncidents(tx: SqlRunner, prefix: string, items: readonly ArchiveItem[]): Promise<void> {
  if (items.length === 0) return;
  // One statement per table for the whole batch (insertRows).
  const rows = items.map(({ incident: i, facts: f, charts, lastEventId }) => ({
    id: i.id,
    prefix,
    runbook_id: i.runbookId,
    runbook_name: i.runbookName,
    service: i.service,
    severity: i.severity,
    status: i.status,
    alertname: f.alertname,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    evidence_at: f.evidenceAt,
    acknowledged_at: f.acknowledgedAt,
    resolved_at: i.resolvedAt ?? null,
    escalated: i.escalated,
    human_actions: f.humanActions,
    resolved_unattended: f.resolvedUnattended,
    dry_run: i.dryRun,
    labels: i.alert.labels,
    annotations: i.alert.annotations,
    record: i,
    charts: Object.fromEntries(Object.entries(charts).map(([k, c]) => [k, encodeChart(c)])),
    last_event_id: lastEventId,
    search: f.search,
  }));
  await insertRows(
    tx,
    'incidents',
    rows,
    `ON CONFLICT (id) DO UPDATE SET
       status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, evidence_at = EXCLUDED.evidence_at,
       acknowledged_at = EXCLUDED.acknowledged_at, resolved_at = EXCLUDED.resolved_at,
       escalated = EXCLUDED.escalated, human_actions = EXCLUDED.human_actions,
       resolved_unattended = EXCLUDED.resolved_unattended, record = EXCLUDED.record,
       charts = EXCLUDED.charts, last_event_id = EXCLUDED.last_event_id, search = EXCLUDED.search`,
  );
  const events = items.flatMap(({ incident, events }) =>
    events.map(({ id, incidentId: _, ...event }) => ({
      incident_id: incident.id,
      event_id: id,
      at: event.at,
      type: event.type,
      actor: event.actor,
      event,
    })),
  );
  await insertRows(tx, 'incident_events', events, 'ON CONFLICT (incident_id, event_id) DO NOTHING');
  const ids = items.map((i) => i.incident.id);
  // Steps and rules follow the record: replaced whole (a new decision replaces the plan).
  await tx.query('DELETE FROM incident_steps WHERE incident_id = ANY($1::text[])', [ids]);
  await tx.query('DELETE FROM incident_rules WHERE incident_id = ANY($1::text[])', [ids]);
  const steps = items.flatMap(({ incident, facts }) =>
    facts.steps.map((s) => ({
      incident_id: incident.id,
      step_id: s.stepId,
      kind: s.kind,
      action_type: s.actionType,
      state: s.state,
      started_at: s.startedAt,
      finished_at: s.finishedAt,
      verified: s.verified,
      by_actor: s.by,
    })),
  );
  await insertRows(tx, 'incident_steps', steps);
  const rules = items.flatMap(({ incident, facts }) =>
    facts.rules.map((r) => ({
      incident_id: incident.id,
      rule_index: r.index,
      description: r.description,
      matched: r.matched,
    })),
  );
  await insertRows(tx, 'incident_rules', rules);
}

async function writeUnmatched(tx: SqlRunner, prefix: string, items: readonly UnmatchedItem[]): Promise<void> {
  if (items.length === 0) return;
  // One row per firing; a repeated delivery of the same firing counts, it does not add a row.
  const byKey = new Map<string, Record<string, unknown>>();
  for (const { at, alert } of items) {
    const key = `${alert.fingerprint}\n${alert.startsAt}`;
    const seen = byKey.get(key);
    if (seen) {
      seen.last_seen = at;
      seen.deliveries = (seen.deliveries as number) + 1;
      continue;
    }
    byKey.set(key, {
      prefix,
      fingerprint: alert.fingerprint,
      starts_at: alert.startsAt,
      alertname: alert.labels.alertname ?? '',
      source: alert.source,
      labels: alert.labels,
      annotations: alert.annotations,
      first_seen: at,
      last_seen: at,
      deliveries: 1,
    });
  }
  await insertRows(
    tx,
    'unmatched_alerts',
    [...byKey.values()],
    `ON CONFLICT (prefix, fingerprint, starts_at) DO UPDATE SET
       last_seen = GREATEST(unmatched_alerts.last_seen, EXCLUDED.last_seen),
       deliveries = unmatched_alerts.deliveries + EXCLUDED.deliveries`,
  );
}
