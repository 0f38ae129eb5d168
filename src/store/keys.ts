import type { Incident, PlanStep, TimelineEvent, Verdict } from '../engine/types.ts';
import { ConfigError } from '../errors.ts';

/**
 * How Fireline lays out its data in Redis: key names, the fields of the incident hash, and the
 * entries of the timeline and events streams (formats: "streams and the progress channel" below).
 * Every key starts with the prefix; with a Redis Cluster hash-tag prefix (`{fireline}`) all of them
 * share one slot, so multi-key scripts work.
 */

/** Default prefix of every Fireline key (and of the progress channel). */
export const DEFAULT_PREFIX = 'fireline';

/** Key names under one prefix. The Lua scripts build the index names with the same patterns. */
export interface StoreKeys {
  prefix: string;
  /** Hash: the incident document, one field per scalar, `v:<stepId>` per verdict, `p:<stepId>` per plan step. */
  incident(id: string): string;
  /** Stream: the incident's timeline, one entry per event (the event JSON without id and incidentId). */
  timeline(id: string): string;
  /** Hash: fingerprint → startsAt of the alerts still firing for the incident (groupBy makes several). */
  firing(id: string): string;
  /** Hash: chart key (step id, or `verify:<stepId>`) → the chart, encoded (src/engine/chart.ts). */
  charts(id: string): string;
  /** Sorted set of every incident id, scored by creation time (ms). */
  incidents: string;
  /**
   * Stream of a reference (incident id, timeline id) to every event of every incident, capped, for
   * "all incidents" live views; no copy of the event.
   */
  events: string;
  /** Sorted set: incidents the history archive has yet to write, scored by their newest event (ms). */
  archivePending: string;
  /** Stream of the alerts no runbook took (field `alert`, the alert JSON), capped; the history archives them. */
  unmatched: string;
  /** Pub/sub channel carrying each event as it is recorded. */
  progress: string;
  /** String: the open incident id for a dedup key. */
  dedup(key: string): string;
  /** String: a worker's idempotence marker. */
  marker(name: string): string;
  /** Sorted sets of incident ids, scored by creation time (ms). */
  byStatus(status: string): string;
  byService(service: string): string;
  byRunbook(runbookId: string): string;
  bySeverity(severity: string): string;
  /** Sorted set of open (not resolved) incident ids, scored by creation time (ms). */
  open: string;
  /** Sorted set of resolved incident ids, scored by resolution time (ms): what `sweep` reads. */
  resolved: string;
  // ── remediation safety (src/store/safety.ts) ──
  /** String with TTL: the job id holding a remediation target. */
  lock(target: string): string;
  /** Sorted set of job ids waiting for a target, scored by when they started to wait (ms). */
  waiters(target: string): string;
  /** Sorted set of the runs of an action type on a target in the last hour (rolling budget). */
  budget(actionType: string, target: string): string;
  /** String with TTL: the run that started a step's cooldown on a target. */
  cooldown(stepId: string, target: string): string;
  /** String with TTL (a week): `started`, or the outcome of an action of an incident. */
  action(incidentId: string, stepId: string): string;
  // ── triggers and notifications (src/store/threshold-state.ts, src/store/notify-holds.ts) ──
  /** Hash: fingerprint → labels JSON of the series a metric_threshold trigger saw across. */
  threshold(schedulerId: string): string;
  /** String with TTL: the token of the poll of a metric_threshold trigger that is running. */
  thresholdLock(schedulerId: string): string;
  /** String with TTL: notifications to one address are held back until it expires (a 429). */
  notifyHold(address: string): string;
  /** String: the key that signs chart image links (src/incidents/chart-links.ts), made once. */
  chartLinkKey: string;
}

/** The key names for `prefix` (e.g. `fireline` or the cluster hash tag `{fireline}`). */
export function storeKeys(prefix: string = DEFAULT_PREFIX): StoreKeys {
  if (prefix.length === 0 || /\s/.test(prefix)) {
    throw new ConfigError(`store prefix must be non-empty and without spaces, got '${prefix}'`);
  }
  const p = prefix;
  return {
    prefix: p,
    incident: (id) => `${p}:incident:${id}`,
    timeline: (id) => `${p}:incident:${id}:timeline`,
    firing: (id) => `${p}:incident:${id}:firing`,
    charts: (id) => `${p}:incident:${id}:charts`,
    incidents: `${p}:incidents`,
    events: `${p}:events`,
    unmatched: `${p}:unmatched`,
    archivePending: `${p}:archive:pending`,
    progress: `${p}:progress`,
    dedup: (key) => `${p}:dedup:${key}`,
    marker: (name) => `${p}:marker:${name}`,
    byStatus: (s) => `${p}:index:status:${s}`,
    byService: (s) => `${p}:index:service:${s}`,
    byRunbook: (r) => `${p}:index:runbook:${r}`,
    bySeverity: (s) => `${p}:index:severity:${s}`,
    open: `${p}:index:open`,
    resolved: `${p}:index:resolved`,
    lock: (target) => `${p}:lock:${target}`,
    waiters: (target) => `${p}:waiters:${target}`,
    budget: (actionType, target) => `${p}:budget:${actionType}:${target}`,
    cooldown: (stepId, target) => `${p}:cooldown:${stepId}:${target}`,
    action: (incidentId, stepId) => `${p}:action:${incidentId}:${stepId}`,
    threshold: (schedulerId) => `${p}:threshold:${schedulerId}`,
    thresholdLock: (schedulerId) => `${p}:threshold:${schedulerId}:lock`,
    notifyHold: (address) => `${p}:notify-hold:${Buffer.from(address).toString('base64url')}`,
    chartLinkKey: `${p}:chart-link-key`,
  };
}

// ── incident hash ──────────────────────────────────────────────────────────────────────────

/** Hash field of one verdict. */
export const verdictField = (stepId: string): string => `v:${stepId}`;
/** Hash field of one plan step. */
export const planField = (stepId: string): string => `p:${stepId}`;
/** Hash field set ('1') while none of the incident's alerts fires; a new firing deletes it. */
export const ALERT_RESOLVED_FIELD = 'alertResolved';
/** Hash field holding the plan's step ids in order (JSON array). */
export const PLAN_ORDER_FIELD = 'planOrder';

/** The hash fields of a whole incident, as a flat `[field, value, …]` list for HSET. */
export function encodeIncident(incident: Incident): string[] {
  const out: string[] = [
    'id',
    incident.id,
    'key',
    incident.key,
    'runbookId',
    incident.runbookId,
    'runbookName',
    incident.runbookName,
    'service',
    incident.service,
    'severity',
    incident.severity,
    'status',
    incident.status,
    'acknowledged',
    flag(incident.acknowledged),
    'escalated',
    flag(incident.escalated),
    'dryRun',
    flag(incident.dryRun),
    'createdAt',
    incident.createdAt,
    'updatedAt',
    incident.updatedAt,
    'alert',
    JSON.stringify(incident.alert),
    ...encodePlan(incident.plan),
  ];
  if (incident.resolvedAt !== undefined) out.push('resolvedAt', incident.resolvedAt);
  if (incident.alertResolved) out.push(ALERT_RESOLVED_FIELD, flag(true));
  if (incident.overall !== undefined) out.push('overall', incident.overall);
  if (incident.decision !== undefined) out.push('decision', JSON.stringify(incident.decision));
  for (const verdict of Object.values(incident.verdicts)) {
    out.push(verdictField(verdict.stepId), JSON.stringify(verdict));
  }
  return out;
}

/** The plan order field followed by one field per step. */
export function encodePlan(plan: PlanStep[]): string[] {
  const out = [PLAN_ORDER_FIELD, JSON.stringify(plan.map((s) => s.stepId))];
  for (const step of plan) out.push(planField(step.stepId), JSON.stringify(step));
  return out;
}

/** The incident stored in `hash` (HGETALL), or null when the hash is empty (no such incident). */
export function decodeIncident(hash: Record<string, string>): Incident | null {
  if (hash.id === undefined) return null;
  const verdicts: Record<string, Verdict> = {};
  const steps = new Map<string, PlanStep>();
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith('v:')) verdicts[field.slice(2)] = JSON.parse(value) as Verdict;
    else if (field.startsWith('p:')) steps.set(field.slice(2), JSON.parse(value) as PlanStep);
  }
  const order = JSON.parse(hash[PLAN_ORDER_FIELD] ?? '[]') as string[];
  const plan = order.flatMap((stepId) => steps.get(stepId) ?? []);
  const incident: Incident = {
    id: hash.id,
    key: hash.key ?? '',
    runbookId: hash.runbookId ?? '',
    runbookName: hash.runbookName ?? '',
    service: hash.service ?? '',
    severity: hash.severity as Incident['severity'],
    status: hash.status as Incident['status'],
    acknowledged: hash.acknowledged === '1',
    escalated: hash.escalated === '1',
    dryRun: hash.dryRun === '1',
    createdAt: hash.createdAt ?? '',
    updatedAt: hash.updatedAt ?? '',
    alert: JSON.parse(hash.alert ?? 'null') as Incident['alert'],
    verdicts,
    plan,
  };
  if (hash.resolvedAt !== undefined) incident.resolvedAt = hash.resolvedAt;
  if (hash[ALERT_RESOLVED_FIELD] === '1') incident.alertResolved = true;
  if (hash.overall !== undefined) incident.overall = hash.overall as Incident['overall'];
  if (hash.decision !== undefined) incident.decision = JSON.parse(hash.decision) as Incident['decision'];
  return incident;
}

/** Boolean as stored in the hash. */
export const flag = (value: boolean): string => (value ? '1' : '0');

// ── streams and the progress channel ───────────────────────────────────────────────────────
//
// Timeline entry (`{p}:incident:{id}:timeline`): one field, `event` = the event JSON without `id`
// (the entry id) and without `incidentId` (the key names the incident). Entries written before
// issue 13 also carry `incidentId` in the JSON; they read the same.
// Global entry (`{p}:events`): a reference only, `iid` = the incident id and `tid` = the timeline
// id; readers resolve the event from the timeline (`resolveGlobalEntries`, follower.ts) and skip
// the entries of swept incidents. Entries written before issue 13 carry `tid` and `event` (the
// whole event JSON, `incidentId` included) instead of `iid`, and are read as they are.
// Progress message: the whole event with `id` (timeline id) and `globalId`, built by the script.

/** Stream entry field holding the event JSON (without its id). */
export const EVENT_FIELD = 'event';
/** Global stream entry field holding the event's timeline stream id. */
export const TIMELINE_ID_FIELD = 'tid';
/** Global stream entry field holding the event's incident id. */
export const INCIDENT_ID_FIELD = 'iid';

/** An event as a timeline entry stores it: no `id` (the entry id), no `incidentId` (the key). */
export type StoredEvent = Omit<TimelineEvent, 'id' | 'incidentId'>;

/** An event read back from a stream, with the id to resume after. */
export interface CursorEvent {
  event: TimelineEvent;
  /** Timeline id when following one incident, global stream id when following all. */
  cursor: string;
}

/** What a stream read (XRANGE) returns. */
export type StreamEntry = [id: string, fields: string[]];

/**
 * A global events stream entry: a reference to a timeline entry, or (written before issue 13) a
 * full copy of the event.
 */
export type GlobalEntry =
  | { kind: 'ref'; globalId: string; incidentId: string; timelineId: string }
  | { kind: 'copy'; globalId: string; copy: CursorEvent };

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The event of a timeline stream entry of `incidentId`; its id is the entry id. */
export function parseTimelineEntry([id, fields]: StreamEntry, incidentId: string): TimelineEvent {
  const body = fieldOf(fields, EVENT_FIELD);
  if (body === undefined) throw new Error(`timeline entry ${id} has no '${EVENT_FIELD}' field`);
  // `incidentId` second, as the events always had it; an older entry's own copy is the same value.
  return { id, incidentId, ...(JSON.parse(body) as StoredEvent) };
}

/** What a global stream entry holds: a reference to resolve, or an older entry's own copy. */
export function parseGlobalRef(entry: StreamEntry): GlobalEntry {
  const [globalId, fields] = entry;
  const incidentId = fieldOf(fields, INCIDENT_ID_FIELD);
  const timelineId = fieldOf(fields, TIMELINE_ID_FIELD);
  if (incidentId !== undefined && timelineId !== undefined) {
    return { kind: 'ref', globalId, incidentId, timelineId };
  }
  return { kind: 'copy', globalId, copy: parseGlobalEntry(entry) };
}

/**
 * The event of a global stream entry written before issue 13, which holds a copy of it: its id is
 * the timeline id, the cursor the global id. A current entry holds only a reference: read it with
 * `resolveGlobalEntries` (follower.ts).
 */
export function parseGlobalEntry([globalId, fields]: StreamEntry): CursorEvent {
  const body = fieldOf(fields, EVENT_FIELD);
  const id = fieldOf(fields, TIMELINE_ID_FIELD);
  if (body === undefined || id === undefined) {
    const hint =
      fieldOf(fields, INCIDENT_ID_FIELD) === undefined ? '' : ' (a reference: resolve it from the timeline)';
    throw new Error(`events entry ${globalId} lacks '${EVENT_FIELD}' or '${TIMELINE_ID_FIELD}'${hint}`);
  }
  return { event: { id, ...(JSON.parse(body) as Omit<TimelineEvent, 'id'>) }, cursor: globalId };
}

/** A progress channel message: the event (its `id` is the timeline id) and its global stream id. */
export function parseProgressMessage(message: string): { event: TimelineEvent; globalId: string } {
  const { globalId, ...event } = JSON.parse(message) as TimelineEvent & { globalId: string };
  if (typeof globalId !== 'string' || typeof event.id !== 'string') {
    throw new Error('progress message lacks id or globalId');
  }
  return { event, globalId };
}

/** Orders two stream ids (`ms-seq`, or `ms`, or `0`) numerically: negative, zero or positive. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = '0', aSeq = '0'] = a.split('-');
  const [bMs = '0', bSeq = '0'] = b.split('-');
  const ms = BigInt(aMs) - BigInt(bMs);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(aSeq) - BigInt(bSeq);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** A complete stream id (`<ms>-<seq>`) or a bare `<ms>`. */
export function isStreamId(id: string): boolean {
  return /^\d{1,20}(-\d{1,20})?$/.test(id);
}
