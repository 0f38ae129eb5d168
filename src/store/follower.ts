import type { TimelineEvent } from '../engine/types.ts';
import type { RedisClient } from '../redis/client.ts';
import {
  type CursorEvent,
  compareStreamIds,
  parseGlobalEntry,
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
        for (;;) {
          const page = await this.readAfter(this.last);
          for (const entry of page) this.deliver(entry);
          if (page.length < REPLAY_BATCH || this.stopped) break;
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

  private async readAfter(after: string): Promise<CursorEvent[]> {
    const key = this.incidentId === null ? this.keys.events : this.keys.timeline(this.incidentId);
    const start = after === '0' ? '-' : `(${after}`;
    const entries = (await this.redis.xrange(key, start, '+', 'COUNT', REPLAY_BATCH)) as StreamEntry[];
    if (this.incidentId === null) return entries.map(parseGlobalEntry);
    return entries.map((entry) => {
      const event = parseTimelineEntry(entry);
      return { event, cursor: event.id };
    });
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
