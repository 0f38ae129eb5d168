import { ConfigError } from '../errors.ts';

/**
 * The Redis Cluster form of `REDIS_URL`:
 * `redis+cluster://[user[:password]@]host:port[,host:port…][/]` (`rediss+cluster://` for TLS).
 * The hosts are seed nodes: the client asks any of them for the slot map and then talks to every
 * master it names. A plain `redis://` or `rediss://` URL is one Redis (or a managed primary
 * endpoint) and is passed to ioredis as is.
 */
export interface ClusterUrl {
  nodes: { host: string; port: number }[];
  tls: boolean;
  username?: string;
  password?: string;
}

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//i;

/** True when `url` uses the cluster scheme (whether or not the rest is valid). */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

/** Parses a cluster URL; throws ConfigError naming what is wrong (never echoing the password). */
export function parseClusterUrl(url: string): ClusterUrl {
  const scheme = CLUSTER_SCHEME.exec(url);
  if (!scheme) throw new ConfigError('a Redis Cluster URL starts with redis+cluster:// or rediss+cluster://');
  let rest = url.slice(scheme[0].length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#]/.test(rest)) {
    throw new ConfigError(
      'a Redis Cluster URL has no path or query (a cluster has no databases): redis+cluster://host:port,host:port',
    );
  }
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  const hosts = at >= 0 ? rest.slice(at + 1) : rest;
  const nodes = hosts.split(',').map((item) => {
    // Parsed as a one-host URL so IPv6 literals ([::1]:7000) and bad ports are handled by URL.
    let parsed: URL;
    try {
      parsed = new URL(`redis://${item.trim()}`);
    } catch {
      throw new ConfigError(`Redis Cluster URL: '${item}' is not host:port`);
    }
    if (!parsed.hostname || !parsed.port || parsed.username || parsed.pathname !== '') {
      throw new ConfigError(`Redis Cluster URL: '${item}' is not host:port (the port is required)`);
    }
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port) };
  });
  const out: ClusterUrl = { nodes, tls: scheme[1]!.toLowerCase() === 'rediss' };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    if (user) out.username = user;
    if (colon >= 0) out.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  return out;
}

/**
 * The Redis Sentinel form of `REDIS_URL`:
 * `redis+sentinel://[user[:password]@]host:port[,host:port…]/<master-name>[/<db>]`
 * (`rediss+sentinel://` for TLS to the sentinels and the primary). The hosts are sentinels; the
 * client asks them where the primary of `master-name` is, and asks again after a failover. The
 * user and password are the primary's and its replicas'; the sentinels are reached without any.
 */
export interface SentinelUrl {
  sentinels: { host: string; port: number }[];
  masterName: string;
  db: number;
  tls: boolean;
  username?: string;
  password?: string;
}

const SENTINEL_SCHEME = /^(rediss?)\+sentinel:\/\//i;

/** True when `url` uses the sentinel scheme (whether or not the rest is valid). */
export function isSentinelUrl(url: string): boolean {
  return SENTINEL_SCHEME.test(url);
}

/** Parses a sentinel URL; throws ConfigError naming what is wrong (never echoing the password). */
export function parseSentinelUrl(url: string): SentinelUrl {
  const scheme = SENTINEL_SCHEME.exec(url);
  if (!scheme)
    throw new ConfigError('a Redis Sentinel URL starts with redis+sentinel:// or rediss+sentinel://');
  const rest = url.slice(scheme[0].length);
  const slash = rest.indexOf('/', rest.lastIndexOf('@') + 1);
  const path = slash >= 0 ? rest.slice(slash + 1) : '';
  const [masterName, db, ...extra] = path.split('/').filter((p, i) => p !== '' || i === 0);
  if (!masterName || extra.length > 0 || (db !== undefined && !/^\d{1,2}$/.test(db)))
    throw new ConfigError(
      'a Redis Sentinel URL names the primary after the sentinels: redis+sentinel://host:port,host:port/<master-name>[/<db>]',
    );
  // The sentinels and credentials read as a cluster URL's seed list and user information.
  let seeds: ClusterUrl;
  try {
    seeds = parseClusterUrl(`redis+cluster://${slash >= 0 ? rest.slice(0, slash) : rest}`);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new ConfigError(err.message.replace('Redis Cluster URL', 'Redis Sentinel URL'));
    throw err;
  }
  const { nodes, username, password } = seeds;
  return {
    sentinels: nodes,
    masterName: decodeURIComponent(masterName),
    db: db === undefined ? 0 : Number(db),
    tls: scheme[1]!.toLowerCase() === 'rediss',
    ...(username ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/** Problems with a `REDIS_URL` value, or null when it is a URL, a valid cluster or sentinel URL. */
export function redisUrlProblem(url: string): string | null {
  const parse = isClusterUrl(url) ? parseClusterUrl : isSentinelUrl(url) ? parseSentinelUrl : null;
  if (parse) {
    try {
      parse(url);
      return null;
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
  }
  return URL.canParse(url)
    ? null
    : 'not a URL (redis://host:6379, redis+sentinel://host:port,host:port/<master-name> or redis+cluster://host:port,host:port)';
}

/**
 * The key prefix to use on `url`. On a cluster every key must hash to one slot (multi-key Lua
 * scripts, MULTI and BullMQ flows fail with CROSSSLOT otherwise), so the prefix must contain a
 * hash tag: a prefix without braces is wrapped (`fireline` → `{fireline}`), one with a malformed
 * tag is refused. On one Redis the prefix is used as given.
 */
export function effectivePrefix(url: string, prefix: string): { prefix: string; wrapped: boolean } {
  if (!isClusterUrl(url)) return { prefix, wrapped: false };
  const open = prefix.indexOf('{');
  if (open < 0 && !prefix.includes('}')) return { prefix: `{${prefix}}`, wrapped: true };
  // Redis hashes the text between the first '{' and the first '}' after it, when not empty.
  const close = prefix.indexOf('}', open + 1);
  if (open < 0 || close <= open + 1) {
    throw new ConfigError(
      `FIRELINE_PREFIX='${prefix}' has no usable Redis Cluster hash tag: use one non-empty {tag}, e.g. {fireline}`,
    );
  }
  return { prefix, wrapped: false };
}
