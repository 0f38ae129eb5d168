/**
 * Pipeline benchmark, one run on a private redis-server (loopback, nothing on disk):
 *
 * (a) overhead — a 5-diagnostic runbook whose http_checks hit a loopback server that answers at
 *     once; per incident, `intake(alert)` → `decision.made` (global progress follow), one at a
 *     time after a warm-up. Next to it a raw BullMQ flow of the same shape (parent + 5 children
 *     doing the same GET, parent calling getChildrenValues), add → parent processor done.
 * (b) storm — 2,000 distinct alerts, each delivered 5 times concurrently (10,000 intake calls,
 *     200 in flight), workers in this process: incidents/s, exact dedup, peak RSS, Redis bytes per
 *     incident. Its baseline, same run, same Redis: 2,000 raw flows of the same shape added at once
 *     (same in-flight limit, same worker concurrency, workers in this process): flows/s, CPU
 *     (Node + Redis) and Redis commands (INFO commandstats deltas) per flow. The targets are ratios
 *     to it: incidents/s ≥ 0.75× its flows/s, CPU and commands per incident ≤ 1.5× its per flow.
 *
 * Prints one JSON object on stdout, progress and a table on stderr. `npm run bench:pipeline`.
 * `FIRELINE_DURABILITY=replica npm run bench:pipeline` measures instead what waiting for a replica
 * costs, against a primary with one replica (bench/durability.ts).
 */
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { FlowProducer, type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createCatalog } from '../src/engine/catalog.ts';
import type { TimelineEvent } from '../src/engine/types.ts';
import { createLogger } from '../src/logger.ts';
import { createPipeline, type Pipeline } from '../src/process/pipeline.ts';
import { QUEUE_NAMES } from '../src/queues/catalog.ts';
import type { WorkerSettings } from '../src/workers/index.ts';
import { chartCost } from './chart-cost.ts';
import { benchAlert, compileFiveChecks, FIVE_CHECKS } from './five-checks.ts';
import {
  type CommandStats,
  commandStats,
  commandsPer,
  countingHttpServer,
  cpuMeter,
  deadline,
  latencySummary,
  memoryByKind,
  progress,
  round,
  runLimited,
  sampleRss,
  startPrivateRedis,
  usedMemory,
} from './lib.ts';

const WARMUP = 50;
const N = 300;
const STORM_ALERTS = 2000;
const STORM_DELIVERIES_PER_ALERT = 5;
const STORM_IN_FLIGHT = 200;
const DIAGNOSTICS = FIVE_CHECKS;
const TARGET_RATIO = 1.5;
/** Storm incidents/s at least this share of the raw flows/s of the same run. */
const TARGET_THROUGHPUT_RATIO = 0.75;
/** Storm CPU (Node + Redis) and Redis commands per incident at most this many times the raw flow's. */
const TARGET_CPU_RATIO = 1.5;
const TARGET_COMMANDS_RATIO = 1.5;
/** Absolute: a memory budget, not a speed. */
const TARGET_RSS_MB = 300;
const TARGET_BYTES = 12 * 1024;
/** The whole run must end well within 5 minutes. */
const RUN_DEADLINE_MS = 270_000;
const PER_INCIDENT_DEADLINE_MS = 10_000;
const STORM_DEADLINE_MS = 150_000;
const SETTLE_DEADLINE_MS = 30_000;

const SETTINGS: WorkerSettings = {
  diagnosticConcurrency: 50,
  remediationRatePerMinute: 1000,
  remediationConcurrency: 5,
};

/** Follows every incident's events; remembers when each event type first arrived per incident. */
function eventClock() {
  const seen = new Map<string, Map<string, number>>();
  const waiters = new Map<string, (at: number) => void>();
  let decisions = 0;
  let lastDecisionAt = 0;
  let onDecision: ((count: number) => void) | undefined;
  return {
    onEvent(e: TimelineEvent) {
      const at = performance.now();
      const types = seen.get(e.incidentId) ?? new Map<string, number>();
      seen.set(e.incidentId, types);
      if (e.type === 'diagnostic.finished') types.set('diagnostic.finished.last', at);
      if (types.has(e.type)) return;
      types.set(e.type, at);
      if (e.type === 'decision.made') {
        decisions++;
        lastDecisionAt = at;
        waiters.get(e.incidentId)?.(at);
        waiters.delete(e.incidentId);
        onDecision?.(decisions);
      }
    },
    /** When `incidentId`'s decision arrived (or arrives). */
    decided(incidentId: string): Promise<number> {
      const at = seen.get(incidentId)?.get('decision.made');
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => waiters.set(incidentId, resolve));
    },
    times: (incidentId: string) => seen.get(incidentId),
    decisions: () => decisions,
    lastDecisionAt: () => lastDecisionAt,
    /** Resolves once `count` decisions have arrived. */
    untilDecisions(count: number): Promise<void> {
      if (decisions >= count) return Promise.resolve();
      return new Promise((resolve) => {
        onDecision = (n) => {
          if (n >= count) resolve();
        };
      });
    },
  };
}

async function startFireline(redisUrl: string, prefix: string, baseUrl: string) {
  const pipeline = createPipeline({
    redisUrl,
    prefix,
    catalog: createCatalog([compileFiveChecks(baseUrl)]),
    logger: createLogger({ level: 'silent' }),
    dryRun: false,
  });
  await pipeline.ready();
  await pipeline.startWorkers(SETTINGS);
  const clock = eventClock();
  const follower = await pipeline.progress.follow(null, '0', (e) => clock.onEvent(e));
  return { pipeline, clock, follower };
}

/** The queues have nothing left to run (delayed escalation timers aside). */
async function settled(pipeline: Pipeline): Promise<void> {
  const stop = deadline(SETTLE_DEADLINE_MS, 'queues to drain');
  for (;;) {
    const counts = await Promise.race([
      Promise.all(
        QUEUE_NAMES.map((q) =>
          pipeline.deps.queues.byName[q].getJobCounts('waiting', 'active', 'waiting-children', 'prioritized'),
        ),
      ),
      stop,
    ]);
    if (counts.every((c) => Object.values(c).every((n) => n === 0))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ── (a) overhead: Fireline ───────────────────────────────────────────────────────────────────

async function overheadFireline(redisUrl: string, admin: Redis, baseUrl: string) {
  const { pipeline, clock, follower } = await startFireline(redisUrl, 'bench-o', baseUrl);
  const latencies: number[] = [];
  const stages: Record<string, number[]> = {};
  let calls: ReturnType<typeof commandsPer> | undefined;
  try {
    let before: CommandStats = {};
    for (let i = 0; i < WARMUP + N; i++) {
      if (i === WARMUP) before = await commandStats(admin);
      const t0 = performance.now();
      const [outcome] = await pipeline.intake(benchAlert(`o${i}`, `overhead-${i}`));
      if (outcome?.outcome !== 'opened') throw new Error(`overhead alert ${i}: ${JSON.stringify(outcome)}`);
      const at = await Promise.race([
        clock.decided(outcome.incidentId),
        deadline(PER_INCIDENT_DEADLINE_MS, `decision of ${outcome.incidentId}`),
      ]);
      if (i < WARMUP) continue;
      latencies.push(at - t0);
      for (const [type, t] of clock.times(outcome.incidentId) ?? []) {
        const list = stages[type] ?? [];
        stages[type] = list;
        list.push(t - t0);
      }
    }
    calls = commandsPer(before, await commandStats(admin), N);
  } finally {
    await follower.stop();
    await pipeline.close(5000);
  }
  const stageP50 = Object.fromEntries(
    Object.entries(stages)
      .filter(([, v]) => v.length === N)
      .map(([type, v]) => [type, latencySummary(v).p50Ms] as const)
      .sort((a, b) => a[1] - b[1]),
  );
  return { ...latencySummary(latencies), redisCallsPerIncident: calls, stagesP50Ms: stageP50 };
}

// ── (a) overhead: raw BullMQ ─────────────────────────────────────────────────────────────────

/** The same GET as http_check does: own connection (agent: false), body read, socket closed. */
function localGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', agent: false }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function overheadRaw(redisUrl: string, admin: Redis, baseUrl: string) {
  const prefix = 'bench-r';
  const connections = [0, 1, 2].map(() => new Redis(redisUrl, { maxRetriesPerRequest: null }));
  const [producerConn, childConn, parentConn] = connections as [Redis, Redis, Redis];
  const done = new Map<string, (at: number) => void>();
  const keep = { removeOnComplete: { age: 24 * 3600, count: 1000 } };
  const children = new Worker(
    'raw-diagnostics',
    async (job: Job) => ({ step: job.data.step, status: await localGet(`${baseUrl}/raw_${job.data.step}`) }),
    { connection: childConn, prefix, concurrency: SETTINGS.diagnosticConcurrency },
  );
  const parents = new Worker(
    'raw-decisions',
    async (job: Job) => {
      const values = await job.getChildrenValues();
      const n = Object.keys(values).length;
      if (n !== DIAGNOSTICS) throw new Error(`raw flow ${job.id}: ${n} child values`);
      done.get(job.data.id)?.(performance.now());
      return { n };
    },
    { connection: parentConn, prefix, concurrency: 10 },
  );
  const flows = new FlowProducer({ connection: producerConn, prefix });
  await Promise.all([children.waitUntilReady(), parents.waitUntilReady()]);
  const addFlow = (id: string) =>
    flows.add({
      name: 'evaluate',
      queueName: 'raw-decisions',
      data: { id },
      opts: keep,
      children: Array.from({ length: DIAGNOSTICS }, (_, step) => ({
        name: 'diagnose',
        queueName: 'raw-diagnostics',
        data: { id, step },
        opts: { ...keep, ignoreDependencyOnFailure: true },
      })),
    });
  const latencies: number[] = [];
  let stormFlowsPerSec = 0;
  let stormCpu = { nodeCpuMsPerFlow: 0, redisCpuMsPerFlow: 0 };
  let calls: ReturnType<typeof commandsPer> | undefined;
  let stormCalls: ReturnType<typeof commandsPer> | undefined;
  try {
    let before: CommandStats = {};
    for (let i = 0; i < WARMUP + N; i++) {
      if (i === WARMUP) before = await commandStats(admin);
      const id = `raw-${i}`;
      const finished = new Promise<number>((resolve) => done.set(id, resolve));
      const t0 = performance.now();
      await addFlow(id);
      const at = await Promise.race([finished, deadline(PER_INCIDENT_DEADLINE_MS, `raw flow ${id}`)]);
      done.delete(id);
      if (i >= WARMUP) latencies.push(at - t0);
    }
    calls = commandsPer(before, await commandStats(admin), N);
    // The storm's reference: as many flows of this shape as the storm has incidents, added at
    // once (same in-flight limit), same worker concurrency.
    let left = STORM_ALERTS;
    let lastAt = 0;
    const allDone = new Promise<void>((resolve) => {
      for (let i = 0; i < STORM_ALERTS; i++)
        done.set(`raw-storm-${i}`, (at) => {
          lastAt = at;
          if (--left === 0) resolve();
        });
    });
    const stormCallsBefore = await commandStats(admin);
    const cpu = await cpuMeter(admin);
    const t0 = performance.now();
    const ids = Array.from({ length: STORM_ALERTS }, (_, i) => `raw-storm-${i}`);
    await runLimited(ids, STORM_IN_FLIGHT, async (id) => {
      await addFlow(id);
    });
    await Promise.race([allDone, deadline(STORM_DEADLINE_MS, `raw storm (${left} flows left)`)]);
    stormFlowsPerSec = round(STORM_ALERTS / ((lastAt - t0) / 1000), 1);
    const used = await cpu();
    stormCalls = commandsPer(stormCallsBefore, await commandStats(admin), STORM_ALERTS);
    stormCpu = {
      nodeCpuMsPerFlow: round(used.nodeCpuMs / STORM_ALERTS),
      redisCpuMsPerFlow: round(used.redisCpuMs / STORM_ALERTS),
    };
  } finally {
    await Promise.all([children.close(), parents.close(), flows.close()]);
    await Promise.all(connections.map((c) => c.quit()));
  }
  return {
    ...latencySummary(latencies),
    redisCallsPerFlow: calls,
    stormFlowsPerSec,
    stormCpu,
    stormRedisCallsPerFlow: stormCalls!,
  };
}

// ── (b) storm ────────────────────────────────────────────────────────────────────────────────

function classifyKey(prefix: string) {
  const queues = new Set<string>(QUEUE_NAMES);
  return (key: string): string => {
    const rest = key.slice(prefix.length + 1);
    if (rest.startsWith('incident:'))
      return rest.endsWith(':timeline') ? 'incident timeline' : 'incident hash';
    if (rest === 'events') return 'global events stream';
    if (rest.startsWith('dedup:')) return 'dedup keys';
    if (rest === 'incidents' || rest.startsWith('index:')) return 'incident indexes';
    const [queue, second, third] = rest.split(':');
    if (!queue || !queues.has(queue)) return `other ${rest.split(':')[0]}`;
    if (third !== undefined) return `bullmq ${queue} job:${third}`;
    return /^inc-/.test(second ?? '') ? `bullmq ${queue} job` : `bullmq ${queue} ${second}`;
  };
}

async function storm(redisUrl: string, admin: Redis, server: Awaited<ReturnType<typeof countingHttpServer>>) {
  const prefix = 'bench-s';
  const { pipeline, clock, follower } = await startFireline(redisUrl, prefix, server.url);
  try {
    const alerts = Array.from({ length: STORM_ALERTS }, (_, i) =>
      benchAlert(`s${i}`, `storm-${i.toString(16).padStart(6, '0')}`),
    );
    // Each alert's five deliveries sit next to each other, so they are in flight together.
    const deliveries = alerts.flatMap((a) => Array.from({ length: STORM_DELIVERIES_PER_ALERT }, () => a));
    const outcomes: Record<string, number> = {};
    const opened = new Set<string>();
    const memBefore = await usedMemory(admin);
    const callsBefore = await commandStats(admin);
    server.reset();
    const rss = sampleRss(50);
    const cpu = await cpuMeter(admin);
    const t0 = performance.now();
    let intakeMs = 0;
    const allDecided = clock.untilDecisions(STORM_ALERTS);
    await Promise.race([
      runLimited(deliveries, STORM_IN_FLIGHT, async (a) => {
        for (const o of await pipeline.intake(a)) {
          outcomes[o.outcome] = (outcomes[o.outcome] ?? 0) + 1;
          if (o.outcome === 'opened') opened.add(o.incidentId);
        }
      }).then(() => {
        intakeMs = performance.now() - t0;
        progress(`storm: ${deliveries.length} intake calls done in ${Math.round(intakeMs)} ms`);
      }),
      deadline(STORM_DEADLINE_MS, 'storm intake'),
    ]);
    await Promise.race([
      allDecided,
      deadline(STORM_DEADLINE_MS, `storm decisions (${clock.decisions()} of ${STORM_ALERTS})`),
    ]);
    const elapsedMs = clock.lastDecisionAt() - t0;
    const cpuToDecisions = await cpu();
    const memAtDecisions = await usedMemory(admin);
    progress(
      `storm: ${STORM_ALERTS} decisions in ${Math.round(elapsedMs)} ms; waiting for the queues to drain`,
    );
    await settled(pipeline);
    const memSettled = await usedMemory(admin);
    const { peakMb, samples } = rss.stop();
    const calls = commandsPer(callsBefore, await commandStats(admin), STORM_ALERTS);
    const incidents = await admin.zcard(`${prefix}:incidents`);
    const breakdown = await memoryByKind(admin, `${prefix}:*`, classifyKey(prefix));
    const perIncident = Object.fromEntries(
      Object.entries(breakdown)
        .sort((a, b) => b[1].bytes - a[1].bytes)
        .slice(0, 12)
        .map(([kind, v]) => [kind, { keys: v.keys, bytesPerIncident: Math.round(v.bytes / STORM_ALERTS) }]),
    );
    return {
      incidents,
      opened: opened.size,
      outcomes,
      exact: incidents === STORM_ALERTS && opened.size === STORM_ALERTS,
      incidentsPerSec: round(STORM_ALERTS / (elapsedMs / 1000), 1),
      elapsedMs: Math.round(elapsedMs),
      intakeMs: Math.round(intakeMs),
      peakRssMb: peakMb,
      rssSamples: samples,
      redisBytesPerIncident: Math.round((memSettled - memBefore) / STORM_ALERTS),
      redisBytesPerIncidentAtDecision: Math.round((memAtDecisions - memBefore) / STORM_ALERTS),
      redisMemoryByKind: perIncident,
      redisCallsPerIncident: calls,
      cpuToDecisions,
      diagnosticRequests: server.count(),
    };
  } finally {
    await follower.stop();
    await pipeline.close(10_000);
  }
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────

function bullmqVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('bullmq/package.json') as { version: string }).version;
}

/** The private redis-server, killed by the watchdog if the run overruns. */
let redisChild: { kill(signal: NodeJS.Signals): boolean } | undefined;

async function main(): Promise<number> {
  // With the durability setting on, the bench measures what it costs (bench/durability.ts).
  if (process.env.FIRELINE_DURABILITY === 'replica') {
    const { durabilityBench } = await import('./durability.ts');
    process.stdout.write(`${JSON.stringify(await durabilityBench(), null, 2)}\n`);
    return 0;
  }
  const redis = await startPrivateRedis();
  redisChild = redis.process;
  progress(`redis-server on ${redis.url}`);
  const server = await countingHttpServer();
  const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  try {
    progress(`overhead: raw BullMQ flow, ${WARMUP} warm-up + ${N}, then ${STORM_ALERTS} flows at once`);
    const raw = await overheadRaw(redis.url, admin, server.url);
    progress(`overhead: Fireline intake → decision.made, ${WARMUP} warm-up + ${N}`);
    const fireline = await overheadFireline(redis.url, admin, server.url);
    const overheadRequests = server.count();
    // The storm starts on an empty Redis, so the memory delta is the storm's own.
    await admin.flushall();
    progress(
      `storm: ${STORM_ALERTS} alerts × ${STORM_DELIVERIES_PER_ALERT} deliveries, ${STORM_IN_FLIGHT} in flight`,
    );
    const s = await storm(redis.url, admin, server);
    await admin.flushall();
    const charts = await chartCost(redis.url, admin, server.url, SETTINGS, settled);
    const ratio = round(fireline.p50Ms / raw.p50Ms);
    const throughputRatio = round(s.incidentsPerSec / raw.stormFlowsPerSec);
    const cpu = {
      fireline: {
        nodeMs: round(s.cpuToDecisions.nodeCpuMs / STORM_ALERTS),
        redisMs: round(s.cpuToDecisions.redisCpuMs / STORM_ALERTS),
        totalMs: round((s.cpuToDecisions.nodeCpuMs + s.cpuToDecisions.redisCpuMs) / STORM_ALERTS),
      },
      rawBullmq: {
        nodeMs: raw.stormCpu.nodeCpuMsPerFlow,
        redisMs: raw.stormCpu.redisCpuMsPerFlow,
        totalMs: round(raw.stormCpu.nodeCpuMsPerFlow + raw.stormCpu.redisCpuMsPerFlow),
      },
    };
    const cpuRatio = round(cpu.fireline.totalMs / cpu.rawBullmq.totalMs);
    const commandsRatio = round(s.redisCallsPerIncident.calls / raw.stormRedisCallsPerFlow.calls);
    const meets = {
      exact: s.exact,
      incidentsPerSec: throughputRatio >= TARGET_THROUGHPUT_RATIO,
      cpuPerIncident: cpuRatio <= TARGET_CPU_RATIO,
      redisCommandsPerIncident: commandsRatio <= TARGET_COMMANDS_RATIO,
      peakRss: s.peakRssMb <= TARGET_RSS_MB,
      redisBytes: s.redisBytesPerIncident <= TARGET_BYTES,
      diagnosticRequests: s.diagnosticRequests === STORM_ALERTS * DIAGNOSTICS,
    };
    const result = {
      benchmark: 'pipeline',
      overhead: {
        fireline: { p50Ms: fireline.p50Ms, p99Ms: fireline.p99Ms, n: fireline.n },
        rawBullmq: { p50Ms: raw.p50Ms, p99Ms: raw.p99Ms, n: raw.n },
        ratioP50: ratio,
        targetRatio: TARGET_RATIO,
        meets: ratio <= TARGET_RATIO,
        detail: {
          firelineStagesP50Ms: fireline.stagesP50Ms,
          firelineRedisCallsPerIncident: fireline.redisCallsPerIncident,
          rawRedisCallsPerFlow: raw.redisCallsPerFlow,
          httpRequests: overheadRequests,
        },
      },
      storm: {
        alerts: STORM_ALERTS,
        deliveries: STORM_ALERTS * STORM_DELIVERIES_PER_ALERT,
        incidents: s.incidents,
        exact: s.exact,
        incidentsPerSec: s.incidentsPerSec,
        rawBullmqFlowsPerSec: raw.stormFlowsPerSec,
        /** incidents/s ÷ the raw flows/s of this run. */
        throughputRatio,
        targetThroughputRatio: TARGET_THROUGHPUT_RATIO,
        /** Node + Redis CPU ms per incident (to the last decision) and per raw flow; ratio = ÷. */
        cpuMsPerIncident: { ...cpu, ratio: cpuRatio, targetRatio: TARGET_CPU_RATIO },
        /**
         * Redis commands per incident (INFO commandstats, start → queues drained; commands run
         * inside Lua scripts count, the scripts too) and per raw flow (start → last parent done).
         */
        redisCommandsPerIncident: {
          fireline: s.redisCallsPerIncident.calls,
          rawBullmq: raw.stormRedisCallsPerFlow.calls,
          ratio: commandsRatio,
          targetRatio: TARGET_COMMANDS_RATIO,
          firelineTop10: s.redisCallsPerIncident.topCalls,
          rawBullmqTop10: raw.stormRedisCallsPerFlow.topCalls,
        },
        peakRssMb: s.peakRssMb,
        targetRssMb: TARGET_RSS_MB,
        redisBytesPerIncident: s.redisBytesPerIncident,
        targetBytes: TARGET_BYTES,
        diagnosticRequests: s.diagnosticRequests,
        meets,
        detail: {
          opened: s.opened,
          outcomes: s.outcomes,
          elapsedMs: s.elapsedMs,
          intakeMs: s.intakeMs,
          rssSamples: s.rssSamples,
          redisBytesPerIncidentAtDecision: s.redisBytesPerIncidentAtDecision,
          redisMemoryByKind: s.redisMemoryByKind,
          redisCallsPerIncident: s.redisCallsPerIncident,
          cpuToDecisions: s.cpuToDecisions,
          nodeCpuMsPerIncident: round(s.cpuToDecisions.nodeCpuMs / STORM_ALERTS),
          redisCpuMsPerIncident: round(s.cpuToDecisions.redisCpuMs / STORM_ALERTS),
          rawBullmqFlowsPerSec: raw.stormFlowsPerSec,
          rawBullmq: { ...raw.stormCpu, redisCallsPerFlow: raw.stormRedisCallsPerFlow },
        },
      },
      /** Issue 14: a metric step's chart, on vs off (bench/chart-cost.ts). */
      charts,
      loadavg: os.loadavg().map((x) => round(x)),
      node: process.version,
      bullmq: bullmqVersion(),
    };
    const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
    process.stderr.write(
      [
        '',
        'pipeline bench                      measured          target',
        `overhead fireline p50 / p99         ${fireline.p50Ms} / ${fireline.p99Ms} ms`,
        `overhead raw bullmq p50 / p99       ${raw.p50Ms} / ${raw.p99Ms} ms`,
        `overhead ratio p50                  ${ratio}              ≤ ${TARGET_RATIO}   ${ok(result.overhead.meets)}`,
        `storm incidents (exact)             ${s.incidents} (${s.exact})     2000   ${ok(meets.exact)}`,
        `storm incidents/s                   ${s.incidentsPerSec} (raw ${raw.stormFlowsPerSec} flows/s: ${throughputRatio}×)  ≥ ${TARGET_THROUGHPUT_RATIO}×  ${ok(meets.incidentsPerSec)}`,
        `storm CPU ms/incident node + redis  ${cpu.fireline.nodeMs} + ${cpu.fireline.redisMs} (raw flow ${cpu.rawBullmq.nodeMs} + ${cpu.rawBullmq.redisMs}: ${cpuRatio}×)  ≤ ${TARGET_CPU_RATIO}×  ${ok(meets.cpuPerIncident)}`,
        `storm Redis commands/incident       ${s.redisCallsPerIncident.calls} (raw flow ${raw.stormRedisCallsPerFlow.calls}: ${commandsRatio}×)  ≤ ${TARGET_COMMANDS_RATIO}×  ${ok(meets.redisCommandsPerIncident)}`,
        `storm peak RSS                      ${s.peakRssMb} MB          ≤ ${TARGET_RSS_MB} MB ${ok(meets.peakRss)}`,
        `storm Redis bytes/incident          ${s.redisBytesPerIncident}            ≤ ${TARGET_BYTES} ${ok(meets.redisBytes)}`,
        `storm diagnostic requests           ${s.diagnosticRequests}            ${STORM_ALERTS * DIAGNOSTICS}  ${ok(meets.diagnosticRequests)}`,
        `chart Redis bytes/incident on / off ${charts.bytesPerIncident.on} / ${charts.bytesPerIncident.off} (${charts.bytesPerIncident.ratio}×)  ≤ ${charts.bytesPerIncident.targetRatio}×  ${ok(charts.bytesPerIncident.meets)}`,
        `chart intake→decision p50 on / off  ${charts.p50Ms.on} / ${charts.p50Ms.off} ms (${charts.p50Ms.ratio}×)  ≤ ${charts.p50Ms.targetRatio}×  ${ok(charts.p50Ms.meets)}`,
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    admin.disconnect();
    await server.close();
    await redis.stop();
  }
}

const watchdog = setTimeout(() => {
  progress(`gave up after ${RUN_DEADLINE_MS} ms`);
  redisChild?.kill('SIGKILL');
  process.exit(2);
}, RUN_DEADLINE_MS);

main().then(
  (code) => {
    clearTimeout(watchdog);
    process.exit(code);
  },
  (err: unknown) => {
    clearTimeout(watchdog);
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
