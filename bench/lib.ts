/**
 * Shared helpers of the benchmarks: percentiles, RSS sampling, a private redis-server, a counting
 * loopback HTTP server, a concurrency-limited runner and Redis INFO readers. Progress goes to
 * stderr; only the final JSON goes to stdout.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { type PrivateRedis, startRedis } from '../test/helpers/redis-server.ts';

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
