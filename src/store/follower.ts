import type { TimelineEvent } from '../engine/types.ts';
import type { RedisClient } from '../redis/client.ts';
import {
  type CursorEvent,
  compareStreamIds,
  parseGlobalRef,
  parseTimelineEntry,
  type StoreKeys,
  type StreamEntry,
} from './keys.ts';

/** Receives each event once, in order, with the id to resume after (SSE `Last-Event-ID`). */
export type OnEvent = (event: TimelineEvent, cursorId: string) => void;

/** Events read per XRANGE while a follower replays. */
const REPLAY_BATCH = 500;

/** One follower: buffers live events while it replays, and delivers each cursor at most once. */
export class Follower {
  private last: string;
  /** Live events held while replaying; a new follower buffers until its first replay ends. */
  private buffer: CursorEvent[] | null = [];
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StoreKeys,
    private readonly incidentId: string | null,
    fromId: string,
    private readonly onEvent: OnEvent,
    private readonly hub: { isConnected: () => boolean; onFail: (err: unknown) => void },
  ) {
    this.last = fromId;
  }

  /** A live event from the channel. */
  offer(event: TimelineEvent, globalId: string): void {
    if (this.incidentId !== null && event.incidentId !== this.incidentId) return;
    const entry = { event, cursor: this.incidentId === null ? globalId : event.id };
    if (this.buffer) this.buffer.push(entry);
    else this.deliver(entry);
  }

  /** Replays from the last delivered id, then flushes the live events buffered meanwhile. */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.again = true;
    this.running ??= this.replayUntilCaughtUp();
    return this.running;
  }

  /** Buffers live events from now on, until the next `sync` ends while the hub is connected. */
  hold(): void {
    if (!this.stopped) this.buffer ??= [];
  }

  stop(): void {
    this.stopped = true;
    this.buffer = null;
  }

  private async replayUntilCaughtUp(): Promise<void> {
    this.buffer ??= [];
    try {
      while (this.again && !this.stopped) {
        this.again = false; // a reconnect during this replay asks for one more
        let after = this.last;
        for (;;) {
          const page = await this.readAfter(after);
          for (const entry of page.events) this.deliver(entry);
          if (page.read < REPLAY_BATCH || this.stopped) break;
          // From the last entry read, not the last delivered: a page may skip swept incidents.
          after = page.lastId;
        }
      }
    } finally {
      // Cleared in the same tick as the flush below, so a later `sync` always starts a new replay.
      this.running = null;
    }
    if (!this.hub.isConnected()) return; // the resync after the reconnect flushes
    const buffered = this.buffer ?? [];
    this.buffer = null;
    for (const entry of buffered) this.deliver(entry);
  }

  /** The events after `after`, how many stream entries were read, and the last entry's id. */
  private async readAfter(after: string): Promise<{ events: CursorEvent[]; read: number; lastId: string }> {
    const key = this.incidentId === null ? this.keys.events : this.keys.timeline(this.incidentId);
    const start = after === '0' ? '-' : `(${after}`;
    const entries = (await this.redis.xrange(key, start, '+', 'COUNT', REPLAY_BATCH)) as StreamEntry[];
    const incidentId = this.incidentId;
    const events =
      incidentId === null
        ? await resolveGlobalEntries(this.redis, this.keys, entries)
        : entries.map((entry) => {
            const event = parseTimelineEntry(entry, incidentId);
            return { event, cursor: event.id };
          });
    return { events, read: entries.length, lastId: entries.at(-1)?.[0] ?? after };
  }

  private deliver({ event, cursor }: CursorEvent): void {
    if (this.stopped || compareStreamIds(cursor, this.last) <= 0) return;
    this.last = cursor;
    try {
      this.onEvent(event, cursor);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Stops this follower and reports `err`, once. */
  fail(err: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.hub.onFail(err);
  }
}

/**
 * The events of global events stream entries, in order, with their global ids as cursors. A
 * reference is resolved from its incident's timeline, all of a page's in one pipeline (one
 * `XRANGE timeline tid tid` each); an entry whose incident was swept (timeline gone) is left out.
 * An entry written before issue 13 carries its event and is read as it is.
 */
export async function resolveGlobalEntries(
  redis: RedisClient,
  keys: StoreKeys,
  entries: readonly StreamEntry[],
): Promise<CursorEvent[]> {
  const parsed = entries.map(parseGlobalRef);
  const refs = parsed.flatMap((entry) => (entry.kind === 'ref' ? [entry] : []));
  const found = new Map<string, TimelineEvent>(); // by global id
  if (refs.length > 0) {
    const pipeline = redis.pipeline();
    for (const ref of refs) pipeline.xrange(keys.timeline(ref.incidentId), ref.timelineId, ref.timelineId);
    const replies = await pipeline.exec();
    if (!replies) throw new Error('events stream: the timeline reads were not executed');
    for (const [i, ref] of refs.entries()) {
      const [err, reply] = replies[i] ?? [new Error(`events stream: no reply for entry ${ref.globalId}`)];
      if (err) throw err;
      const [entry] = reply as StreamEntry[];
      if (entry) found.set(ref.globalId, parseTimelineEntry(entry, ref.incidentId));
    }
  }
  return parsed.flatMap((entry): CursorEvent[] => {
    if (entry.kind === 'copy') return [entry.copy];
    const event = found.get(entry.globalId);
    return event ? [{ event, cursor: entry.globalId }] : [];
  });
}
