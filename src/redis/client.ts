import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { isClusterUrl, isSentinelUrl, parseClusterUrl, parseSentinelUrl } from './url.ts';

/** A connection to one Redis or to a Redis Cluster: the same commands, routed by key slot. */
export type RedisClient = Redis | Cluster;

/**
 * How a connection is used decides its options (docs/ARCHITECTURE.md "Redis connections"):
 * - `worker`: BullMQ workers and blocking commands — retry forever (`maxRetriesPerRequest: null`);
 * - `producer`: HTTP request paths — fail fast when Redis is down (`enableOfflineQueue: false`) so the
 *   API can answer 503 instead of hanging;
 * - `subscriber`: pub/sub, reconnects on its own.
 * Never ioredis `keyPrefix`: BullMQ and the store use their own prefix.
 */
export type ConnectionRole = 'worker' | 'producer' | 'subscriber';

/**
 * A connection for `role` on `url`: a `Cluster` for `redis+cluster://` / `rediss+cluster://` URLs,
 * a `Redis` that finds the primary through the sentinels for `redis+sentinel://` /
 * `rediss+sentinel://` (src/redis/url.ts), else a `Redis`. `extra` are per-node options (a Cluster's `redisOptions`).
 */
export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): RedisClient {
  const perRequest: RedisOptions =
    role === 'producer' ? { maxRetriesPerRequest: 1, connectTimeout: 2000 } : { maxRetriesPerRequest: null };
  const offline: RedisOptions = role === 'producer' ? { enableOfflineQueue: false } : {};
  if (isSentinelUrl(url)) {
    const { sentinels, masterName, db, tls, username, password } = parseSentinelUrl(url);
    return new Redis({
      sentinels,
      name: masterName,
      db,
      ...(username ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
      ...perRequest,
      ...offline,
      lazyConnect: false,
      ...extra,
    });
  }
  if (!isClusterUrl(url)) return new Redis(url, { ...perRequest, ...offline, lazyConnect: false, ...extra });
  const { nodes, tls, username, password } = parseClusterUrl(url);
  if (role === 'subscriber')
    return clusterSubscriber(nodes, { ...perRequest, ...extra }, tls, username, password);
  const options: ClusterOptions = {
    // The offline queue is the Cluster's: its node connections always queue (ioredis forces it),
    // so failing fast while the cluster is unreachable is decided here.
    enableOfflineQueue: role !== 'producer',
    lazyConnect: false,
    // With TLS, connect by the names given so certificates issued for host names verify (by
    // default ioredis resolves seed names to IP addresses first).
    ...(tls
      ? { dnsLookup: (address: string, done: (err: null, address: string) => void) => done(null, address) }
      : {}),
    redisOptions: {
      ...perRequest,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(tls ? { tls: {} } : {}),
      ...extra,
    },
  };
  return new Cluster(nodes, options);
}

/**
 * The subscriber of a Cluster: one plain connection to one node (a Cluster's PUBLISH reaches the
 * subscribers of every node), moving to the next seed each time it must reconnect. Not ioredis'
 * Cluster subscriber: that one moves to another node when its node dies without a `close` or
 * `ready` event, so the progress hub (src/store/progress.ts) could not replay what the move lost.
 */
function clusterSubscriber(
  nodes: { host: string; port: number }[],
  options: RedisOptions,
  tls: boolean,
  username: string | undefined,
  password: string | undefined,
): Redis {
  const first = nodes[0] as { host: string; port: number };
  const client: Redis = new Redis({
    ...options,
    host: first.host,
    port: first.port,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(tls ? { tls: {} } : {}),
    lazyConnect: false,
    // ioredis reads host and port at each connect: the next attempt goes to the next seed.
    retryStrategy: (times) => {
      const node = nodes[times % nodes.length] as { host: string; port: number };
      client.options.host = node.host;
      client.options.port = node.port;
      return Math.min(times * 100, 2000);
    },
  });
  return client;
}

/** Resolves once the connection is ready, or rejects with the connection error. */
export async function waitReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      redis.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      redis.off('ready', onReady);
      reject(err);
    };
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}

/** Replies and client errors that mean "Redis is not there right now", not "the command is wrong". */
const UNAVAILABLE =
  /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|READONLY|MOVED|ASK) |Too many Cluster redirections|Stream isn't writeable|Connection is closed|None of startup nodes is available|Failed to refresh slots cache|max retries per request/;

/**
 * Whether `err` (from a command on `redis`) means Redis is unavailable for now — the connection is
 * down, or a failover is under way (a Cluster stays `ready` while one of its masters is gone) — so
 * the same work may succeed once it is back.
 */
export function isRedisUnavailable(err: unknown, redis: RedisClient): boolean {
  if (redis.status !== 'ready') return true;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  return err instanceof Error && UNAVAILABLE.test(err.message);
}
