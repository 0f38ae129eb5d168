import type { TimelineEvent } from '../engine/types.ts';
import { NotFoundError } from '../errors.ts';
import type { RedisClient } from '../redis/client.ts';
import type { StoredEvent, StoreKeys } from './keys.ts';
import { type LuaScript, runScript } from './scripts.ts';

/** An event to record: the store adds `id` (timeline stream id), `incidentId` and, by default, `at`. */
export type NewEvent = Omit<TimelineEvent, 'id' | 'incidentId' | 'at'> & { at?: string };

/** What the event-recording helpers need: the store's connection, keys, clock and stream cap. */
export interface RecordDeps {
  redis: RedisClient;
  keys: StoreKeys;
  now: () => Date;
  /** Approximate cap of the global events stream. */
  eventsMaxLen: number;
}

/** Runs event-recording scripts (src/store/scripts.ts) for the incident store. */
export interface Recorder {
  /** Runs an event-recording script; replies `[code, …]`, with the new event when code is `ok`. */
  record(
    script: LuaScript,
    id: string,
    newEvent: NewEvent,
    extraKeys: string[],
    extraArgs: (string | number)[],
    at?: Date,
  ): Promise<{ reply: string[]; event: TimelineEvent | null; at: Date }>;
  /** `record` with no extra keys, for scripts that must find the incident: throws NotFoundError. */
  mustRecord(
    script: LuaScript,
    id: string,
    event: NewEvent,
    args: (string | number)[],
  ): Promise<TimelineEvent>;
}

/**
 * An event as the timeline stores it: without `incidentId` (the timeline's key names the incident,
 * keys.ts "streams"), `at` defaulting to the time of the change.
 */
export function storedEvent(newEvent: NewEvent, at: Date): StoredEvent {
  const { type, actor, message, data } = newEvent;
  const body: StoredEvent = { type, at: newEvent.at ?? at.toISOString(), actor, message };
  if (data !== undefined) body.data = data;
  return body;
}

/** The recording helpers on `deps`. */
export function createRecorder({ redis, keys, now, eventsMaxLen }: RecordDeps): Recorder {
  async function record(
    script: LuaScript,
    id: string,
    newEvent: NewEvent,
    extraKeys: string[],
    extraArgs: (string | number)[],
    at = now(),
  ): Promise<{ reply: string[]; event: TimelineEvent | null; at: Date }> {
    const body = storedEvent(newEvent, at);
    const reply = (await runScript(
      redis,
      script,
      [keys.incident(id), keys.timeline(id), keys.events, ...extraKeys],
      [id, JSON.stringify(body), eventsMaxLen, keys.progress, at.toISOString(), ...extraArgs],
    )) as string[];
    const event = reply[0] === 'ok' ? { id: reply[1]!, incidentId: id, ...body } : null;
    return { reply, event, at };
  }

  async function mustRecord(script: LuaScript, id: string, event: NewEvent, args: (string | number)[]) {
    const { reply, event: recorded } = await record(script, id, event, [], args);
    if (reply[0] === 'missing') throw new NotFoundError(`incident ${id}`);
    if (!recorded) throw new Error(`unexpected store reply ${reply[0]} for incident ${id}`);
    return recorded;
  }

  return { record, mustRecord };
}
