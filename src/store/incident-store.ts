import { type Chart, decodeChart, encodeChart } from '../engine/chart.ts';
import type {
  Decision,
  Incident,
  IncidentStatus,
  PlanStep,
  PlanStepState,
  TimelineEvent,
  Verdict,
  VerdictStatus,
} from '../engine/types.ts';
import { InvalidOperationError, NotFoundError } from '../errors.ts';
import type { RedisClient } from '../redis/client.ts';
import {
  decodeIncident,
  encodeIncident,
  encodePlan,
  flag,
  isStreamId,
  parseTimelineEntry,
  type StreamEntry,
  storeKeys,
  verdictField,
} from './keys.ts';
import { type IncidentFilter, listIncidents, type PageRequest } from './list.ts';
import { createRecorder, type NewEvent, storedEvent } from './record.ts';
import {
  OPEN,
  runScript,
  SET_DECISION,
  SET_FIELDS,
  SET_FLAG,
  SET_STATUS,
  STOP_FIRING,
  UPDATE_STEP,
} from './scripts.ts';
import { type Removable, sweepResolved } from './sweep.ts';

export type { IncidentFilter, PageRequest } from './list.ts';
export type { NewEvent } from './record.ts';

/** What `createIncidentStore` needs. */
export interface IncidentStoreDeps {
  redis: RedisClient;
  /** Key prefix, `fireline` by default; a hash tag (`{fireline}`) for Redis Cluster. */
  prefix?: string;
  now?: () => Date;
  /** Approximate cap of the global events stream. */
  eventsMaxLen?: number;
}

/**
 * Incidents in Redis, safe for many processes at once: every change is one Lua script that
 * writes only the fields it owns (a verdict, a plan step, a flag) and records its event.
 */
export interface IncidentStore {
  /**
   * Atomic dedup: when `incident.key` names an open incident, `{ created: false, incidentId }`;
   * else the incident, its indexes, its dedup key and its `opened` event are written at once.
   * Either way the alert's fingerprint and startsAt join the incident's firing set; `repeat` says
   * the incident already had that firing (a re-sent notification), `status` is its status.
   */
  openIncident(
    incident: Incident,
    opened: NewEvent,
  ): Promise<
    | { created: true; incident: Incident; event: TimelineEvent }
    | { created: false; incidentId: string; repeat: boolean; status: IncidentStatus }
  >;
  get(id: string): Promise<Incident | null>;
  /** Whether Redis holds the incident (one EXISTS: no need to read it). */
  has(id: string): Promise<boolean>;
  /** The open incident for a dedup key, if any. */
  findOpenByKey(key: string): Promise<string | null>;
  /**
   * Compare-and-set of the status (`from` must contain the current one) with its event.
   * `current` is null when there is no such incident. Resolving clears the dedup key.
   */
  setStatus(
    id: string,
    from: readonly IncidentStatus[],
    to: IncidentStatus,
    event: NewEvent,
  ): Promise<{ ok: true; event: TimelineEvent } | { ok: false; current: IncidentStatus | null }>;
  /** Stores one verdict (field `v:<stepId>`) with its event. Throws NotFoundError. */
  setVerdict(id: string, verdict: Verdict, event: NewEvent): Promise<TimelineEvent>;
  /**
   * Stores the decision, the overall verdict and the plan (replacing any earlier plan) with its
   * event, in one round trip; with `diagnosed`, first moves the incident from `triggered` or
   * `diagnosing` to `diagnosed` with that event (when it is in neither, it stays). Replies the
   * events recorded and the status the incident had before. Throws NotFoundError.
   */
  setDecision(
    id: string,
    decision: Decision,
    overall: VerdictStatus,
    plan: PlanStep[],
    event: NewEvent,
    diagnosed?: NewEvent,
  ): Promise<{ event: TimelineEvent; diagnosed: TimelineEvent | null; before: IncidentStatus }>;
  /**
   * Compare-and-set of one plan step's state (`from: null` skips the check) and merge of `patch`,
   * with its event. `current` is null when the incident or the step does not exist.
   */
  updatePlanStep(
    id: string,
    stepId: string,
    from: readonly PlanStepState[] | null,
    patch: Partial<PlanStep>,
    event: NewEvent,
  ): Promise<{ ok: true; step: PlanStep; event: TimelineEvent } | { ok: false; current: PlanStep | null }>;
  /** Sets a flag; records the event only when the value changes. Throws NotFoundError. */
  setFlag(
    id: string,
    flagName: 'acknowledged' | 'escalated',
    value: boolean,
    event: NewEvent,
    /** `unlessAttended`: leave it when the incident is acknowledged or resolved (checked atomically). */
    opts?: { unlessAttended?: boolean },
  ): Promise<{ changed: true; event: TimelineEvent } | { changed: false }>;
  /** Records an event that changes no field (a note, a notification sent). Throws NotFoundError. */
  appendEvent(id: string, event: NewEvent): Promise<TimelineEvent>;
  /**
   * Keeps a step's chart with the incident (at most MAX_STORED_BYTES encoded,
   * src/engine/chart.ts), replacing one of the same key: the step id, or `verify:<stepId>` for the
   * chart of its latest verify, then records `event` if given (so that a reader told by the event
   * finds the chart). Swept with the incident. Throws NotFoundError (with an event).
   */
  setChart(id: string, key: string, chart: Chart, event?: NewEvent): Promise<TimelineEvent | null>;
  /** The incident's charts by key (none: an empty object). */
  charts(id: string): Promise<Record<string, Chart>>;
  /** The timeline, oldest first, after the stream id `after` (exclusive). */
  timeline(id: string, opts?: { after?: string; limit?: number }): Promise<TimelineEvent[]>;
  list(filter: IncidentFilter, page: PageRequest): Promise<{ items: Incident[]; nextCursor: string | null }>;
  /**
   * Deletes incidents resolved before `olderThan` (hash, timeline, index entries); returns how
   * many. With `removable`, only the incidents it allows (src/store/sweep.ts).
   */
  sweep(olderThan: Date, removable?: Removable): Promise<number>;
  /**
   * Records that the alert with `fingerprint` no longer fires for the incident; returns how many
   * of its alerts still fire (with `groupBy`, one resolved pod must not resolve the others').
   */
  stopFiring(id: string, fingerprint: string): Promise<number>;
  /** Takes a marker when nobody holds it (SET NX PX): true when this call took it. */
  claim(name: string, ttlMs: number, value?: string): Promise<boolean>;
  getMarker(name: string): Promise<string | null>;
  setMarker(name: string, value: string, ttlMs: number): Promise<void>;
}

/** An incident store on `redis` under `prefix`. */
export function createIncidentStore(deps: IncidentStoreDeps): IncidentStore {
  const { redis } = deps;
  const keys = storeKeys(deps.prefix);
  const now = deps.now ?? (() => new Date());
  const eventsMaxLen = deps.eventsMaxLen ?? 100_000;

  const { record, mustRecord } = createRecorder({ redis, keys, now, eventsMaxLen });

  return {
    async openIncident(incident, opened) {
      if (incident.status === 'resolved') throw new InvalidOperationError('cannot open a resolved incident');
      const createdMs = Date.parse(incident.createdAt);
      if (Number.isNaN(createdMs)) {
        throw new InvalidOperationError(`incident createdAt '${incident.createdAt}' is not an ISO time`);
      }
      const indexKeys = [
        keys.dedup(incident.key),
        keys.incidents,
        keys.byStatus(incident.status),
        keys.byService(incident.service),
        keys.byRunbook(incident.runbookId),
        keys.bySeverity(incident.severity),
        keys.open,
      ];
      const { reply, event, at } = await record(OPEN, incident.id, opened, indexKeys, [
        createdMs,
        keys.prefix,
        incident.alert.fingerprint,
        incident.alert.startsAt,
        ...encodeIncident(incident), // the script sets updatedAt to the event's time
      ]);
      if (reply[0] === 'exists')
        return {
          created: false,
          incidentId: reply[1]!,
          repeat: reply[2] === 'same',
          status: reply[3] as IncidentStatus,
        };
      if (reply[0] === 'conflict') throw new InvalidOperationError(`incident ${incident.id} already exists`);
      if (!event) throw new Error(`unexpected store reply ${reply[0]} opening incident ${incident.id}`);
      return { created: true, incident: { ...incident, updatedAt: at.toISOString() }, event };
    },

    async get(id) {
      return decodeIncident(await redis.hgetall(keys.incident(id)));
    },

    async has(id) {
      return (await redis.exists(keys.incident(id))) === 1;
    },

    async findOpenByKey(key) {
      const id = await redis.get(keys.dedup(key));
      if (id === null) return null;
      const status = await redis.hget(keys.incident(id), 'status');
      return status !== null && status !== 'resolved' ? id : null;
    },

    async setStatus(id, from, to, event) {
      const at = now(); // one time for resolvedAt and the resolved index score
      const { reply, event: recorded } = await record(
        SET_STATUS,
        id,
        event,
        [keys.incidents, keys.open, keys.resolved],
        [to, keys.prefix, at.getTime(), ...from],
        at,
      );
      if (recorded) return { ok: true, event: recorded };
      if (reply[0] === 'missing') return { ok: false, current: null };
      return { ok: false, current: reply[1] as IncidentStatus };
    },

    setVerdict(id, verdict, event) {
      return mustRecord(SET_FIELDS, id, event, [verdictField(verdict.stepId), JSON.stringify(verdict)]);
    },

    async setDecision(id, decision, overall, plan, event, diagnosed) {
      const at = now();
      const fields = ['decision', JSON.stringify(decision), 'overall', overall, ...encodePlan(plan)];
      const status = diagnosed ? storedEvent(diagnosed, at) : null;
      const { reply, event: recorded } = await record(
        SET_DECISION,
        id,
        event,
        [keys.incidents],
        [keys.prefix, status ? JSON.stringify(status) : '', at.getTime(), ...fields],
        at,
      );
      if (reply[0] === 'missing') throw new NotFoundError(`incident ${id}`);
      if (!recorded) throw new Error(`unexpected store reply ${reply[0]} for incident ${id}`);
      const moved = status && reply[4] ? { id: reply[4], incidentId: id, ...status } : null;
      return { event: recorded, diagnosed: moved, before: reply[3] as IncidentStatus };
    },

    async updatePlanStep(id, stepId, from, patch, event) {
      const check = from === null ? ['0'] : ['1', ...from];
      const { reply, event: recorded } = await record(
        UPDATE_STEP,
        id,
        event,
        [],
        [stepId, JSON.stringify(patch), ...check],
      );
      if (recorded) return { ok: true, step: JSON.parse(reply[3]!) as PlanStep, event: recorded };
      const current = reply[0] === 'conflict' && reply[1] ? (JSON.parse(reply[1]) as PlanStep) : null;
      return { ok: false, current };
    },

    async setFlag(id, flagName, value, event, opts = {}) {
      const guard = opts.unlessAttended ? '1' : '0';
      const { reply, event: recorded } = await record(
        SET_FLAG,
        id,
        event,
        [],
        [flagName, flag(value), guard],
      );
      if (reply[0] === 'missing') throw new NotFoundError(`incident ${id}`);
      return recorded ? { changed: true, event: recorded } : { changed: false };
    },

    appendEvent(id, event) {
      return mustRecord(SET_FIELDS, id, event, []);
    },

    async setChart(id, key, chart, event) {
      await redis.hset(keys.charts(id), key, encodeChart(chart));
      return event ? mustRecord(SET_FIELDS, id, event, []) : null;
    },

    async charts(id) {
      const stored = await redis.hgetall(keys.charts(id));
      return Object.fromEntries(Object.entries(stored).map(([key, text]) => [key, decodeChart(text)]));
    },

    async timeline(id, opts = {}) {
      const start = opts.after === undefined || opts.after === '0' ? '-' : `(${checkStreamId(opts.after)}`;
      const entries = (
        opts.limit === undefined
          ? await redis.xrange(keys.timeline(id), start, '+')
          : await redis.xrange(keys.timeline(id), start, '+', 'COUNT', opts.limit)
      ) as StreamEntry[];
      return entries.map((entry) => parseTimelineEntry(entry, id));
    },

    list(filter, page) {
      return listIncidents(redis, keys, filter, page);
    },

    sweep(olderThan, removable) {
      return sweepResolved(redis, keys, olderThan, removable);
    },

    async stopFiring(id, fingerprint) {
      return (await runScript(
        redis,
        STOP_FIRING,
        [keys.firing(id), keys.incident(id)],
        [fingerprint],
      )) as number;
    },

    async claim(name, ttlMs, value = '1') {
      return (await redis.set(keys.marker(name), value, 'PX', ttlMs, 'NX')) === 'OK';
    },

    getMarker(name) {
      return redis.get(keys.marker(name));
    },

    async setMarker(name, value, ttlMs) {
      await redis.set(keys.marker(name), value, 'PX', ttlMs);
    },
  };
}

function checkStreamId(id: string): string {
  if (!isStreamId(id)) throw new InvalidOperationError(`'${id}' is not a stream id (expected <ms>-<seq>)`);
  return id;
}
