import { InvalidOperationError } from '../errors.ts';
import { isRedisUnavailable, type RedisClient } from '../redis/client.ts';
import { Follower, type OnEvent } from './follower.ts';
import { isStreamId, parseProgressMessage, type StreamEntry, storeKeys } from './keys.ts';

export type { OnEvent } from './follower.ts';

/** How soon a replay that found Redis unavailable (but connected) is tried again. */
const RESYNC_RETRY_MS = 250;

/** What a hub (or a one-off `follow`) needs. */
export interface ProgressDeps {
  /** For XRANGE replays. */
  redis: RedisClient;
  /** A new connection for SUBSCRIBE; the hub owns it and quits it on close. */
  createSubscriber: () => RedisClient;
  prefix?: string;
  /** Errors that belong to no follower: subscriber connection errors, unreadable messages. */
  onError?: (err: unknown) => void;
}

/** A running follower. */
export interface FollowHandle {
  stop(): Promise<void>;
}

/** Options of one follower. */
export interface FollowOptions {
  /**
   * Called when this follower fails (its `onEvent` threw, or a replay failed); the follower is
   * stopped first. Without it the hub's `onError` gets the error, and without that it is thrown
   * as an uncaught exception: never silent.
   */
  onError?: (err: unknown) => void;
}

/**
 * One subscriber connection per process, multiplexed to any number of followers. Each follower
 * replays its stream (an incident's timeline, or the global events stream) and then gets live
 * events, with no gap and no duplicate. When the subscriber reconnects, every follower replays
 * from its last event, so events published while the connection was down are not lost.
 */
export interface ProgressHub {
  /**
   * Follows one incident (cursor: its timeline id) or all (`incidentId` null; cursor: the global
   * events stream id) after `fromId` (exclusive; `'0'` or undefined: from the start).
   */
  follow(
    incidentId: string | null,
    fromId: string | undefined,
    onEvent: OnEvent,
    opts?: FollowOptions,
  ): Promise<FollowHandle>;
  /**
   * The id of the newest entry of the global events stream, `'0'` when it is empty: following all
   * incidents after it means "from now on".
   */
  newestEventId(): Promise<string>;
  /** Stops every follower and quits the subscriber. Idempotent. */
  close(): Promise<void>;
}

/** A hub on `deps`; it connects the subscriber at the first `follow`. */
export function createProgressHub(deps: ProgressDeps): ProgressHub {
  const keys = storeKeys(deps.prefix);
  const followers = new Set<Follower>();
  let subscriber: RedisClient | null = null;
  let subscribed: Promise<void> | null = null;
  let everSubscribed = false;
  /** The subscription is known to be active, so followers may deliver live events directly. */
  let connected = false;
  let closed: Promise<void> | null = null;
  /** Followers whose replay waits for the request connection to come back. */
  const awaitingRedis = new Set<Follower>();

  const report = (err: unknown) => {
    if (deps.onError) deps.onError(err);
    else
      queueMicrotask(() => {
        throw err;
      });
  };

  /**
   * Replays `follower` from its last event. After a failover the replay's connection may not be
   * back yet (the request connection fails fast; on a Cluster, the slot may still have no master):
   * then the replay runs again once Redis is back, rather than failing the follower.
   */
  function resync(follower: Follower): void {
    follower.sync().catch((err: unknown) => {
      if (closed || deps.redis.status === 'end' || !isRedisUnavailable(err, deps.redis))
        return follower.fail(err);
      awaitingRedis.add(follower);
      if (awaitingRedis.size > 1) return; // one retry for all of them
      const retry = () => {
        const waiting = [...awaitingRedis];
        awaitingRedis.clear();
        for (const f of waiting) resync(f);
      };
      // A Cluster stays `ready` while a slot moves: look again shortly.
      if (deps.redis.status === 'ready') setTimeout(retry, RESYNC_RETRY_MS);
      else deps.redis.once('ready', retry);
    });
  }

  function subscribe(): Promise<void> {
    if (subscribed) return subscribed;
    const sub = deps.createSubscriber();
    subscriber = sub;
    sub.on('message', (_channel: string, message: string) => {
      let parsed: ReturnType<typeof parseProgressMessage>;
      try {
        parsed = parseProgressMessage(message);
      } catch (err) {
        report(err);
        return;
      }
      for (const follower of followers) follower.offer(parsed.event, parsed.globalId);
    });
    // From the drop until the resubscription is confirmed, messages may be missing: hold live
    // events back, then replay what the gap lost.
    sub.on('close', () => {
      connected = false;
      for (const follower of followers) follower.hold();
    });
    sub.on('ready', () => {
      if (!everSubscribed) return;
      // ioredis re-sends SUBSCRIBE before it emits `ready`, so the PING reply comes after its reply.
      sub.ping().then(
        () => {
          connected = true;
          for (const follower of followers) resync(follower);
        },
        (err: unknown) => {
          // Dropped again: the next `ready` resyncs. Anything else is a real failure.
          if (sub.status === 'ready') report(err);
        },
      );
    });
    sub.on('end', () => {
      if (closed) return;
      const err = new Error('progress subscriber connection ended and will not reconnect');
      for (const follower of followers) follower.fail(err);
    });
    if (deps.onError) sub.on('error', deps.onError);
    subscribed = sub.subscribe(keys.progress).then(
      () => {
        everSubscribed = true;
        connected = true;
      },
      (err: unknown) => {
        subscribed = null;
        subscriber = null;
        sub.disconnect();
        throw err;
      },
    );
    return subscribed;
  }

  return {
    async follow(incidentId, fromId, onEvent, opts = {}) {
      if (closed) throw new InvalidOperationError('progress hub is closed');
      const start = fromId === undefined ? '0' : fromId;
      if (!isStreamId(start)) throw new InvalidOperationError(`'${start}' is not a stream id`);
      const follower = new Follower(deps.redis, keys, incidentId, start, onEvent, {
        isConnected: () => connected,
        onFail: (err) => {
          followers.delete(follower);
          (opts.onError ?? report)(err);
        },
      });
      // Subscribe first, buffer, then replay: whatever the replay misses, the buffer holds.
      followers.add(follower);
      try {
        await subscribe();
        await follower.sync();
      } catch (err) {
        follower.stop();
        followers.delete(follower);
        throw err;
      }
      return {
        async stop() {
          follower.stop();
          followers.delete(follower);
        },
      };
    },

    async newestEventId() {
      const [newest] = (await deps.redis.xrevrange(keys.events, '+', '-', 'COUNT', 1)) as StreamEntry[];
      return newest?.[0] ?? '0';
    },

    close() {
      closed ??= (async () => {
        for (const follower of followers) follower.stop();
        followers.clear();
        const sub = subscriber;
        subscriber = null;
        // Before the subscription is up, disconnect: that rejects the pending `follow` calls.
        if (!sub) return;
        const ended = new Promise((resolve) => sub.once('end', resolve));
        if (everSubscribed) await sub.quit();
        else sub.disconnect();
        await ended; // so that `close` means the connection is gone, not going
      })();
      return closed;
    },
  };
}

/**
 * Follows `incidentId` (or all incidents, when null) without a hub: for one consumer. `stop()`
 * unsubscribes and quits the subscriber connection.
 */
export async function follow(
  deps: ProgressDeps,
  incidentId: string | null,
  fromId: string | undefined,
  onEvent: OnEvent,
  opts?: FollowOptions,
): Promise<FollowHandle> {
  const hub = createProgressHub(deps);
  try {
    await hub.follow(incidentId, fromId, onEvent, opts);
  } catch (err) {
    await hub.close();
    throw err;
  }
  return { stop: () => hub.close() };
}
