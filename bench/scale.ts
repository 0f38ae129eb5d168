/**
 * Scale benchmark (issue 8): the pipeline bench's storm — ALERTS distinct alerts, each delivered 5
 * times, 200 intake calls in flight from this process (standing in for the API) — worked off by 1,
 * 2 and 4 `fireline start --role worker` child processes, on one private redis-server and on a
 * local 3-master Redis Cluster, one configuration after another in one run.
 *
 * Per configuration: incidents/s (first intake → last decision), p50/p99 time to evidence (the
 * incident's `incident.opened` → `decision.made` event times), CPU of each worker, of this process
 * and of each Redis process (from /proc, in % of one core) and Redis commands per incident
 * (INFO commandstats, summed over the nodes). The bottleneck is named from those figures.
 *
 * Prints one JSON object on stdout, progress and a table on stderr. `npm run bench:scale`;
 * BENCH_SCALE_ALERTS=<n> for a shorter storm.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { type FirelineProcess, spawnFireline } from '../scripts/harness/fireline-process.ts';
import { startCluster } from '../scripts/harness/redis-cluster.ts';
import { createCatalog } from '../src/engine/catalog.ts';
import type { Alert } from '../src/engine/types.ts';
import { createLogger } from '../src/logger.ts';
import { createPipeline } from '../src/process/pipeline.ts';
import { compileFiveChecks, fiveChecksRunbook } from './five-checks.ts';
import {
  type CommandStats,
  commandStats,
  countingHttpServer,
  deadline,
  percentile,
  processCpuSeconds,
  progress,
  round,
  runLimited,
  startPrivateRedis,
} from './lib.ts';

const ALERTS = Number(process.env.BENCH_SCALE_ALERTS ?? 2000);
const DELIVERIES = 5;
const IN_FLIGHT = 200;
const WORKER_COUNTS = [1, 2, 4];
const CONFIG_DEADLINE_MS = 240_000;

interface Backend {
  name: 'single' | 'cluster';
  url: string;
  /** Every redis-server process: its pid (for CPU) and port (for commandstats, FLUSHALL). */
  nodes: { pid: number; port: number }[];
  stop(): Promise<void>;
}

async function single(): Promise<Backend> {
  const r = await startPrivateRedis();
  return { name: 'single', url: r.url, nodes: [{ pid: r.process.pid!, port: r.port }], stop: r.stop };
}

async function cluster(): Promise<Backend> {
  const c = await startCluster(3);
  const nodes = c.nodes.map((n) => ({ pid: n.process.pid!, port: n.port }));
  return { name: 'cluster', url: c.url, nodes, stop: c.stop };
}

const stormAlert = (i: number): Alert => ({
  source: 'alertmanager',
  status: 'firing',
  labels: { alertname: 'BenchAlert', instance: `s${i}` },
  annotations: {},
  fingerprint: `scale-${i.toString(16).padStart(6, '0')}`,
  startsAt: new Date().toISOString(),
});

function sumStats(all: CommandStats[]): CommandStats {
  const out: CommandStats = {};
  for (const stats of all)
    for (const [cmd, s] of Object.entries(stats)) {
      const o = out[cmd] ?? { calls: 0, usec: 0 };
      out[cmd] = { calls: o.calls + s.calls, usec: o.usec + s.usec };
    }
  return out;
}

/** All CPUs' busy and total jiffies so far (/proc/stat), for what other processes took meanwhile. */
function machineJiffies(): { busy: number; total: number } {
  const [, ...fields] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const n = fields.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - n[3]! - n[4]!, total };
}

async function stopWorker(p: FirelineProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(timer);
}

/** One storm on `backend` worked by `workers` processes. */
async function runConfig(backend: Backend, workers: number, checksUrl: string) {
  const prefix = `bench-scale-${backend.name}-${workers}`;
  const dir = mkdtempSync(join(os.tmpdir(), 'fireline-bench-scale-'));
  mkdirSync(join(dir, 'runbooks'));
  writeFileSync(join(dir, 'runbooks', 'bench.yaml'), fiveChecksRunbook(checksUrl));
  const admins = backend.nodes.map((n) => new Redis({ host: '127.0.0.1', port: n.port }));
  const procs: FirelineProcess[] = [];
  const pipeline = createPipeline({
    redisUrl: backend.url,
    prefix,
    catalog: createCatalog([compileFiveChecks(checksUrl)]),
    logger: createLogger({ level: 'warn' }),
    dryRun: false,
  });
  try {
    await pipeline.ready();
    const env = { REDIS_URL: backend.url, FIRELINE_PREFIX: prefix, FIRELINE_RUNBOOKS: join(dir, 'runbooks') };
    for (let i = 0; i < workers; i++) procs.push(spawnFireline(['start', '--role', 'worker'], env));
    await Promise.all(procs.map((p) => p.waitForLine(/workers started/, 60_000)));

    // Time to evidence per incident, from the event times (one host, one clock).
    const openedAt = new Map<string, number>();
    const tte: number[] = [];
    let lastDecision = 0;
    let allDecided!: () => void;
    const decided = new Promise<void>((r) => {
      allDecided = r;
    });
    const follower = await pipeline.progress.follow(null, '0', (e) => {
      if (e.type === 'incident.opened') openedAt.set(e.incidentId, Date.parse(e.at));
      if (e.type !== 'decision.made') return;
      const opened = openedAt.get(e.incidentId);
      if (opened !== undefined) tte.push(Date.parse(e.at) - opened);
      lastDecision = performance.now();
      if (tte.length === ALERTS) allDecided();
    });

    const deliveries = Array.from({ length: ALERTS }, (_, i) => stormAlert(i)).flatMap((a) =>
      Array.from({ length: DELIVERIES }, () => a),
    );
    const pids: Record<string, number> = Object.fromEntries([
      ...procs.map((p, i) => [`worker${i + 1}`, p.child.pid!]),
      ...backend.nodes.map((n, i) => [`redis${backend.nodes.length > 1 ? i + 1 : ''}`, n.pid]),
    ]);
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid)]));
    const self0 = process.cpuUsage();
    const machine0 = machineJiffies();
    const calls0 = sumStats(await Promise.all(admins.map(commandStats)));
    let opened = 0;
    const t0 = performance.now();
    await Promise.race([
      runLimited(deliveries, IN_FLIGHT, async (a) => {
        for (const o of await pipeline.intake(a)) if (o.outcome === 'opened') opened++;
      }),
      deadline(CONFIG_DEADLINE_MS, 'intake'),
    ]);
    const intakeMs = performance.now() - t0;
    await Promise.race([decided, deadline(CONFIG_DEADLINE_MS, `decisions (${tte.length} of ${ALERTS})`)]);
    const wallSec = (lastDecision - t0) / 1000;
    const self = process.cpuUsage(self0);
    const machine1 = machineJiffies();
    const machineBusyPct = round(
      ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100,
      1,
    );
    const cpuSec: Record<string, number> = {
      intake: (self.user + self.system) / 1e6,
      ...Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid) - cpu0[k]!])),
    };
    const calls1 = sumStats(await Promise.all(admins.map(commandStats)));
    await follower.stop();

    const sorted = [...tte].sort((a, b) => a - b);
    const pct = (sec: number) => round((sec / wallSec) * 100, 1);
    const workerSec = Object.entries(cpuSec).filter(([k]) => k.startsWith('worker'));
    const redisSec = Object.entries(cpuSec).filter(([k]) => k.startsWith('redis'));
    const total = (xs: [string, number][]) => xs.reduce((a, [, s]) => a + s, 0);
    const busiestRedis = Math.max(...redisSec.map(([, s]) => s));
    const commands = Object.entries(calls1).reduce(
      (a, [cmd, s]) => a + s.calls - (calls0[cmd]?.calls ?? 0),
      0,
    );
    return {
      backend: backend.name,
      workers,
      incidents: opened,
      exact: opened === ALERTS,
      incidentsPerSec: round(ALERTS / wallSec, 1),
      timeToEvidence: { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) },
      intakeMs: Math.round(intakeMs),
      cpuPct: Object.fromEntries(Object.entries(cpuSec).map(([k, s]) => [k, pct(s)])),
      cpuPctTotals: {
        workers: pct(total(workerSec)),
        intake: pct(cpuSec.intake!),
        busiestRedis: pct(busiestRedis),
        /** This bench's processes, in % of all cores. */
        bench: round(pct(total(Object.entries(cpuSec))) / os.cpus().length, 1),
        /** Every process on the machine (the bench's and others'), in % of all cores. */
        machine: machineBusyPct,
      },
      cpuMsPerIncident: {
        workers: round((total(workerSec) * 1000) / ALERTS),
        intake: round((cpuSec.intake! * 1000) / ALERTS),
        redis: round((total(redisSec) * 1000) / ALERTS),
      },
      redisCommandsPerIncident: round(commands / ALERTS, 1),
    };
  } finally {
    await Promise.all(procs.map(stopWorker));
    await pipeline.close(5000);
    await Promise.all(admins.map((a) => a.flushall()));
    await Promise.all(admins.map((a) => a.quit()));
    rmSync(dir, { recursive: true, force: true });
  }
}

type Result = Awaited<ReturnType<typeof runConfig>>;

/** What limited a configuration, from its CPU figures. */
function bottleneck(r: Result): string {
  const t = r.cpuPctTotals;
  if (t.busiestRedis >= 85) return `Redis (${t.busiestRedis}% of its one core)`;
  const top = t.workers >= t.intake ? `workers ${t.workers}%` : `intake ${t.intake}%`;
  if (t.machine >= 85) {
    const others = round(t.machine - t.bench, 1);
    return `machine CPU (${t.machine}% of ${os.cpus().length} cores busy, ${others}% other processes; most of ours: ${top})`;
  }
  // A Node process runs its JavaScript on one core: one worker near 100% is its own limit.
  const worker = Math.max(
    ...Object.entries(r.cpuPct).flatMap(([k, v]) => (k.startsWith('worker') ? [v] : [])),
  );
  if (worker >= 85) return `worker process CPU (${worker}% of its one core)`;
  return `none saturated (machine ${t.machine}%; most: ${top})`;
}

async function main(): Promise<void> {
  const checks = await countingHttpServer();
  const results: (Result & { bottleneck: string })[] = [];
  try {
    for (const make of [single, cluster]) {
      const backend = await make();
      try {
        for (const n of WORKER_COUNTS) {
          progress(`${backend.name}: ${ALERTS} alerts × ${DELIVERIES}, ${n} worker process(es)`);
          const r = await runConfig(backend, n, checks.url);
          results.push({ ...r, bottleneck: bottleneck(r) });
          progress(`  ${r.incidentsPerSec} incidents/s, p99 time to evidence ${r.timeToEvidence.p99Ms} ms`);
        }
      } finally {
        await backend.stop();
      }
    }
  } finally {
    await checks.close();
  }
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
  process.stdout.write(
    `${JSON.stringify({ bench: 'scale', date: new Date().toISOString(), machine, alerts: ALERTS, deliveriesPerAlert: DELIVERIES, results }, null, 2)}\n`,
  );
  const lines = [
    '| Redis | workers | incidents/s | TTE p50 / p99 ms | CPU % workers / intake / busiest Redis | machine busy % (ours) | bottleneck |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.map(
      (r) =>
        `| ${r.backend} | ${r.workers} | ${r.incidentsPerSec} | ${r.timeToEvidence.p50Ms} / ${r.timeToEvidence.p99Ms} | ${r.cpuPctTotals.workers} / ${r.cpuPctTotals.intake} / ${r.cpuPctTotals.busiestRedis} | ${r.cpuPctTotals.machine} (${r.cpuPctTotals.bench}) | ${r.bottleneck} |`,
    ),
  ];
  process.stderr.write(`\n${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:scale failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
