/**
 * (c) The cost of a metric chart (issue 14), in the pipeline bench: the five-check runbook with its
 * first step a `prometheus_query` against a loopback stand-in of Prometheus' query API (an instant
 * vector, and a range matrix with a point on every step), once with its chart and once with
 * `chart: false`, two pipelines side by side on one Redis. Intake → `decision.made` p50 with
 * incidents alternating between the two (the range query runs beside the check: it should add
 * nothing), then Redis bytes per finished incident after a batch through each (MEMORY USAGE of the
 * pipeline's keys ÷ incidents). Targets: bytes with the chart ≤ 1.10× without; p50 ≤ 1.10×.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { ConnectionsSchema } from '../src/adapters/connections.ts';
import { createAdapters } from '../src/adapters/index.ts';
import { createCatalog } from '../src/engine/catalog.ts';
import { createLogger } from '../src/logger.ts';
import { createPipeline, type Pipeline } from '../src/process/pipeline.ts';
import type { WorkerSettings } from '../src/workers/index.ts';
import { benchAlert, compileFiveChecks } from './five-checks.ts';
import { deadline, latencySummary, memoryByKind, progress, round, runLimited } from './lib.ts';

const WARMUP = 20;
const N = 100;
const BATCH = 300;
const IN_FLIGHT = 100;
const TARGET_RATIO = 1.1;
const PER_INCIDENT_DEADLINE_MS = 10_000;
const BATCH_DEADLINE_MS = 60_000;

/** A stand-in of Prometheus' query API: 95 now, and a wave on every step of a range. */
async function prometheusStandIn(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const metric = { __name__: 'bench_latency', instance: 'bench' };
    let data: unknown;
    if (url.pathname === '/api/v1/query_range') {
      const [start, end, step] = ['start', 'end', 'step'].map((k) => Number(url.searchParams.get(k)));
      const values: [number, string][] = [];
      for (let t = start!; t <= end! + 1e-9; t += step!)
        values.push([t, (60 + 35 * Math.sin(t / 97) + (t % 7) / 10).toFixed(3)]);
      data = { resultType: 'matrix', result: [{ metric, values }] };
    } else {
      data = { resultType: 'vector', result: [{ metric, value: [Date.now() / 1000, '95'] }] };
    }
    const body = JSON.stringify({ status: 'success', data });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Side {
  pipeline: Pipeline;
  prefix: string;
  decided: Map<string, (at: number) => void>;
  decisions: number;
}

async function startSide(
  redisUrl: string,
  prefix: string,
  baseUrl: string,
  prometheusUrl: string,
  chart: boolean,
  settings: WorkerSettings,
): Promise<Side> {
  const pipeline = createPipeline({
    redisUrl,
    prefix,
    catalog: createCatalog([compileFiveChecks(baseUrl, { chart })]),
    logger: createLogger({ level: 'silent' }),
    dryRun: false,
    adapters: createAdapters(ConnectionsSchema.parse({ prometheus: { url: prometheusUrl } })),
  });
  await pipeline.ready();
  await pipeline.startWorkers(settings);
  const side: Side = { pipeline, prefix, decided: new Map(), decisions: 0 };
  await pipeline.progress.follow(null, '0', (e) => {
    if (e.type !== 'decision.made') return;
    side.decisions++;
    side.decided.get(e.incidentId)?.(performance.now());
    side.decided.delete(e.incidentId);
  });
  return side;
}

/** intake → decision.made, ms, for one new incident. */
async function oneIncident(side: Side, instance: string): Promise<number> {
  const t0 = performance.now();
  let resolveAt!: (at: number) => void;
  const at = new Promise<number>((r) => {
    resolveAt = r;
  });
  const [outcome] = await side.pipeline.intake(benchAlert(instance));
  if (outcome?.outcome !== 'opened')
    throw new Error(`chart bench: ${instance} not opened (${outcome?.outcome})`);
  side.decided.set(outcome.incidentId, resolveAt);
  return (await Promise.race([at, deadline(PER_INCIDENT_DEADLINE_MS, `decision of ${instance}`)])) - t0;
}

async function bytesPerIncident(admin: Redis, side: Side): Promise<number> {
  const kinds = await memoryByKind(admin, `${side.prefix}:*`, () => 'all');
  const incidents = await admin.zcard(`${side.prefix}:incidents`);
  return Math.round((kinds.all?.bytes ?? 0) / incidents);
}

export async function chartCost(
  redisUrl: string,
  admin: Redis,
  baseUrl: string,
  settings: WorkerSettings,
  settled: (pipeline: Pipeline) => Promise<void>,
) {
  const prometheus = await prometheusStandIn();
  const off = await startSide(redisUrl, 'bench-c0', baseUrl, prometheus.url, false, settings);
  const on = await startSide(redisUrl, 'bench-c1', baseUrl, prometheus.url, true, settings);
  try {
    progress(`charts: intake → decision.made with and without the chart, ${WARMUP} + ${N} each, alternating`);
    const latencies: Record<'off' | 'on', number[]> = { off: [], on: [] };
    for (let i = 0; i < WARMUP + N; i++) {
      for (const [name, side] of [
        ['off', off],
        ['on', on],
      ] as const) {
        const ms = await oneIncident(side, `c-${name}-${i}`);
        if (i >= WARMUP) latencies[name].push(ms);
      }
    }
    progress(`charts: ${BATCH} incidents through each, then Redis bytes per incident`);
    for (const side of [off, on]) {
      const target = side.decisions + BATCH;
      const instances = Array.from({ length: BATCH }, (_, i) => `c-batch-${side.prefix}-${i}`);
      await runLimited(
        instances,
        IN_FLIGHT,
        async (instance) => void (await side.pipeline.intake(benchAlert(instance))),
      );
      const stop = deadline(BATCH_DEADLINE_MS, `chart batch decisions on ${side.prefix}`);
      while (side.decisions < target) await Promise.race([new Promise((r) => setTimeout(r, 50)), stop]);
      await settled(side.pipeline);
    }
    const bytes = { off: await bytesPerIncident(admin, off), on: await bytesPerIncident(admin, on) };
    const p50 = { off: latencySummary(latencies.off).p50Ms, on: latencySummary(latencies.on).p50Ms };
    const bytesRatio = round(bytes.on / bytes.off);
    const p50Ratio = round(p50.on / p50.off);
    return {
      what: 'the five-check runbook with check_1 a prometheus_query (loopback stand-in of the query API), chart on vs chart: false',
      bytesPerIncident: {
        ...bytes,
        ratio: bytesRatio,
        targetRatio: TARGET_RATIO,
        meets: bytesRatio <= TARGET_RATIO,
      },
      p50Ms: { ...p50, ratio: p50Ratio, targetRatio: TARGET_RATIO, meets: p50Ratio <= TARGET_RATIO, n: N },
    };
  } finally {
    await Promise.all([off.pipeline.close(10_000), on.pipeline.close(10_000)]);
    await prometheus.close();
  }
}
