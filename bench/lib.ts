/**
 * Shared helpers of the benchmarks: percentiles, RSS sampling, a private redis-server, a counting
 * loopback HTTP server, a concurrency-limited runner and Redis INFO readers. Progress goes to
 * stderr; only the final JSON goes to stdout.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { type PrivateRedis, startRedis } from '../scripts/harness/redis-server.ts';

/** One progress line on stderr. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Nearest-rank percentile (p in 0..100) of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** p50 / p99 / n of latencies in milliseconds. */
export function latencySummary(samples: readonly number[]): { p50Ms: number; p99Ms: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), n: sorted.length };
}

/** Samples the process RSS every `intervalMs` until stopped; `peakMb` is the largest seen. */
export function sampleRss(intervalMs = 50): { stop(): { peakMb: number; samples: number } } {
  let peak = process.memoryUsage.rss();
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    samples++;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { peakMb: round(peak / (1024 * 1024), 1), samples: samples + 1 };
    },
  };
}

/**
 * A private redis-server for one benchmark run: free loopback port, nothing on disk
 * (`--save "" --appendonly no`, which startRedis always passes), stopped by `stop()`.
 */
export function startPrivateRedis(): Promise<PrivateRedis> {
  return startRedis(['--maxmemory-policy', 'noeviction']);
}

/** A loopback HTTP server answering 200 at once, counting the requests it gets. */
export async function countingHttpServer(): Promise<{
  url: string;
  count(): number;
  reset(): void;
  close(): Promise<void>;
}> {
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => requests,
    reset: () => {
      requests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects on the first failure. */
export async function runLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** `INFO memory` used_memory in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}

/** Redis server CPU seconds (user + sys) so far, from `INFO cpu`. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = /^used_cpu_user:([\d.]+)/m.exec(info);
  const sys = /^used_cpu_sys:([\d.]+)/m.exec(info);
  return Number(user?.[1] ?? 0) + Number(sys?.[1] ?? 0);
}

/**
 * Where a phase's wall time went: this process's CPU and event-loop utilisation, and Redis's CPU,
 * each as a share of the wall time.
 */
export async function cpuMeter(redis: Redis) {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const redis0 = await redisCpuSeconds(redis);
  const t0 = performance.now();
  return async () => {
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const redisMs = ((await redisCpuSeconds(redis)) - redis0) * 1000;
    const nodeCpuMs = (cpu.user + cpu.system) / 1000;
    return {
      wallMs: Math.round(wallMs),
      nodeCpuMs: Math.round(nodeCpuMs),
      redisCpuMs: Math.round(redisMs),
      nodeCpuShare: round(nodeCpuMs / wallMs),
      nodeEventLoopUtilization: round(performance.eventLoopUtilization(elu0).utilization),
      redisCpuShare: round(redisMs / wallMs),
    };
  };
}

/** `INFO commandstats`: calls and server time (µs) per command. */
export type CommandStats = Record<string, { calls: number; usec: number }>;

export async function commandStats(redis: Redis): Promise<CommandStats> {
  const info = await redis.info('commandstats');
  const stats: CommandStats = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    stats[m[1]!] = { calls: Number(m[2]), usec: Number(m[3]) };
  return stats;
}

/**
 * Commands Redis ran between two readings, per unit of work: calls (commands run inside Lua
 * scripts count too) and server microseconds (a script's own figure includes its inner commands).
 */
export function commandsPer(before: CommandStats, after: CommandStats, per: number) {
  const deltas = Object.entries(after)
    .filter(([cmd]) => cmd !== 'info')
    .map(([cmd, s]) => ({
      cmd,
      calls: (s.calls - (before[cmd]?.calls ?? 0)) / per,
      usec: (s.usec - (before[cmd]?.usec ?? 0)) / per,
    }))
    .filter((d) => d.calls > 0);
  const top = (key: 'calls' | 'usec', n: number) =>
    Object.fromEntries(
      [...deltas]
        .sort((a, b) => b[key] - a[key])
        .slice(0, n)
        .map((d) => [d.cmd, round(d[key], key === 'calls' ? 2 : 0)]),
    );
  return {
    calls: round(
      deltas.reduce((sum, d) => sum + d.calls, 0),
      1,
    ),
    topCalls: top('calls', 10),
    topUsec: top('usec', 6),
  };
}

/**
 * Bytes held by each kind of key (MEMORY USAGE over a SCAN of `match`), grouped by `classify`.
 * For explaining where Redis memory goes; costs one round trip per 500 keys.
 */
export async function memoryByKind(
  redis: Redis,
  match: string,
  classify: (key: string) => string,
): Promise<Record<string, { keys: number; bytes: number }>> {
  const out: Record<string, { keys: number; bytes: number }> = {};
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = nextCursor;
    if (keys.length === 0) continue;
    const pipe = redis.pipeline();
    for (const key of keys) pipe.memory('USAGE', key, 'SAMPLES', '0');
    const results = (await pipe.exec()) ?? [];
    for (const [i, key] of keys.entries()) {
      const bytes = Number(results[i]?.[1] ?? 0);
      const kind = classify(key);
      const slot = out[kind] ?? { keys: 0, bytes: 0 };
      out[kind] = slot;
      slot.keys++;
      slot.bytes += bytes;
    }
  } while (cursor !== '0');
  return out;
}

/** Rejects after `ms` with `what`; the timer does not hold the process open. */
export function deadline(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref();
  });
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux unless `getconf` says otherwise). */
let clockTicks: number | undefined;

/**
 * CPU seconds (user + system) another process has used so far, from `/proc/<pid>/stat` (Linux):
 * for telling whether a child process or Redis is the bottleneck.
 */
export function processCpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** What `httpLoad` measured: per-request latencies (ms, in send order) and answers by status. */
export interface HttpLoadResult {
  requests: number;
  elapsedMs: number;
  latenciesMs: Float64Array;
  /** Count per HTTP status, and per `error <code>` for requests that got no answer. */
  statuses: Record<string, number>;
}

/** One POST on `agent`; resolves with the status and body, rejects on a connection error. */
function postOnce(agent: Agent, url: URL, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A closed-loop HTTP load: `connections` keep-alive lanes each POST `body()` back to back until
 * `durationMs` has passed or `maxRequests` were sent. Latency is send to last body byte. A request
 * that gets no answer is counted under `error <code>` and not retried.
 */
export async function httpLoad(opts: {
  url: URL;
  connections: number;
  durationMs: number;
  maxRequests: number;
  body: () => string;
  onResponse?: (status: number, text: string) => void;
}): Promise<HttpLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const latenciesMs = new Float64Array(opts.maxRequests);
  const statuses: Record<string, number> = {};
  let requests = 0;
  const t0 = performance.now();
  const end = t0 + opts.durationMs;
  const lane = async () => {
    while (requests < opts.maxRequests && performance.now() < end) {
      const i = requests++;
      const body = opts.body();
      const start = performance.now();
      let status: string;
      try {
        const res = await postOnce(agent, opts.url, body);
        status = String(res.status);
        opts.onResponse?.(res.status, res.text);
      } catch (err) {
        status = `error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      }
      latenciesMs[i] = performance.now() - start;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, lane));
  const elapsedMs = performance.now() - t0;
  agent.destroy();
  return { requests, elapsedMs, latenciesMs: latenciesMs.subarray(0, requests), statuses };
}

/**
 * Where a phase's CPU went across processes: each named child (by pid, from /proc), Redis
 * (`INFO cpu`) and this process, in % of one core, and CPU milliseconds per unit of work.
 */
export async function processCpuMeter(redis: Redis, pids: Record<string, number>) {
  const read = async () => ({
    at: performance.now(),
    children: Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)])),
    redis: await redisCpuSeconds(redis),
    self: process.cpuUsage(),
    elu: performance.eventLoopUtilization(),
  });
  const a = await read();
  return async (units: number) => {
    const b = await read();
    const wallSec = (b.at - a.at) / 1000;
    const self = process.cpuUsage(a.self);
    const seconds: Record<string, number> = {
      ...Object.fromEntries(Object.keys(pids).map((name) => [name, b.children[name]! - a.children[name]!])),
      redis: b.redis - a.redis,
      client: (self.user + self.system) / 1e6,
    };
    const each = (f: (sec: number) => number) =>
      Object.fromEntries(Object.entries(seconds).map(([name, sec]) => [name, f(sec)]));
    return {
      cpuPct: each((sec) => round((sec / wallSec) * 100, 1)),
      cpuMsPerUnit: each((sec) => round((sec * 1000) / units, 3)),
      clientEventLoopUtilization: round(performance.eventLoopUtilization(b.elu, a.elu).utilization),
    };
  };
}
