/**
 * Ingest benchmark (issue 4), one run on a private redis-server (loopback, nothing on disk):
 * a Fireline `--role api` child process takes Alertmanager webhook POSTs of one alert each
 * (distinct fingerprints, v4 payloads) from CONNECTIONS keep-alive connections, while a
 * `--role worker` child process works the incidents off. A warm-up runs against the API alone
 * (its Redis commands per request are measured there), then the worker starts and the measured
 * phase runs for DURATION_MS or MAX_REQUESTS. After the workers drain, every accepted alert must
 * be one incident.
 *
 * Prints one JSON object on stdout, progress on stderr. `npm run bench:ingest`.
 * BENCH_INGEST_CPU_PROF=<dir> writes a CPU profile of the API child there (bench/cpu-profile.ts:
 * Node 20 refuses `--cpu-prof` in NODE_OPTIONS).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type FirelineProcess, spawnFireline } from '../scripts/harness/fireline-process.ts';
import { freePort } from '../scripts/harness/redis-server.ts';
import { QUEUE_NAMES } from '../src/queues/catalog.ts';
import { alertmanagerBody, INGEST_RUNBOOK } from './ingest-fixtures.ts';
import {
  type CommandStats,
  commandStats,
  commandsPer,
  deadline,
  httpLoad,
  percentile,
  processCpuMeter,
  progress,
  round,
  startPrivateRedis,
} from './lib.ts';

const CONNECTIONS = 50;
const WARMUP_MS = 3_000;
const DURATION_MS = 15_000;
const MAX_REQUESTS = 30_000;
const TARGET_REQ_PER_SEC = 2000;
const TARGET_P99_MS = 50;
const PREFIX = 'bench-ingest';
/** The whole run (start, load, drain, stop) ends within 2 minutes. */
const RUN_DEADLINE_MS = 115_000;
/** The drain gets what is left of the run, minus this for stopping everything. */
const STOP_RESERVE_MS = 12_000;
const START_DEADLINE_MS = 30_000;

/** What the 202 answer says per alert (only what is counted here). */
interface IngestBody {
  results: { outcomes: { outcome: string }[] }[];
}

/** commandsPer, plus every command's calls per unit (PUBLISH: messages the API's subscriber parses). */
function callsPer(before: CommandStats, after: CommandStats, per: number) {
  const all = Object.entries(after)
    .map(([cmd, s]) => [cmd, round((s.calls - (before[cmd]?.calls ?? 0)) / per)] as const)
    .filter(([cmd, calls]) => calls > 0 && cmd !== 'info')
    .sort((a, b) => b[1] - a[1]);
  return { ...commandsPer(before, after, per), all: Object.fromEntries(all) };
}

/** Waits until no queue has work left but delayed timers, and no incident is still `triggered`. */
async function drained(admin: Redis, queues: Queue[], withinMs: number): Promise<boolean> {
  const until = performance.now() + withinMs;
  for (;;) {
    const counts = await Promise.all(
      queues.map((q) => q.getJobCounts('waiting', 'active', 'waiting-children', 'prioritized')),
    );
    const triggered = await admin.zcard(`${PREFIX}:index:status:triggered`);
    if (triggered === 0 && counts.every((c) => Object.values(c).every((n) => n === 0))) return true;
    if (performance.now() > until) {
      progress(`not drained: ${triggered} incidents still triggered; queues ${JSON.stringify(counts)}`);
      return false;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function incidentStatuses(admin: Redis): Promise<Record<string, number>> {
  const keys = await admin.keys(`${PREFIX}:index:status:*`);
  const out: Record<string, number> = {};
  for (const key of keys.sort()) out[key.slice(`${PREFIX}:index:status:`.length)] = await admin.zcard(key);
  return out;
}

/** SIGTERM, then SIGKILL if it has not exited within `ms`. */
async function stopChild(p: FirelineProcess, ms = 10_000): Promise<number | string> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode ?? -1;
  p.child.kill('SIGTERM');
  const killer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  const code = await p.exited;
  clearTimeout(killer);
  return code;
}

const children: FirelineProcess[] = [];
let redisChild: { kill(signal: NodeJS.Signals): boolean } | undefined;

async function main(): Promise<number> {
  const runStart = performance.now();
  const dir = mkdtempSync(join(os.tmpdir(), 'fireline-bench-ingest-'));
  writeFileSync(join(dir, 'bench-ingest.yaml'), INGEST_RUNBOOK);
  const redis = await startPrivateRedis();
  redisChild = redis.process;
  const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: admin, prefix: PREFIX }));
  const port = await freePort();
  const env = {
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    PORT: String(port),
    FIRELINE_PREFIX: PREFIX,
    FIRELINE_RUNBOOKS: dir,
    FIRELINE_CONFIG: join(dir, 'no-fireline.yaml'),
    LOG_LEVEL: 'warn',
    FIRELINE_INGEST_TOKEN: '',
    FIRELINE_OPERATOR_TOKEN: '',
    FIRELINE_VIEWER_TOKEN: '',
  };
  const profileDir = process.env.BENCH_INGEST_CPU_PROF;
  const apiEnv = profileDir
    ? {
        ...env,
        CPU_PROFILE_DIR: profileDir,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import tsx --import ${fileURLToPath(new URL('./cpu-profile.ts', import.meta.url))}`,
      }
    : env;
  try {
    progress(`redis-server on ${redis.url}; starting the API on port ${port}`);
    const api = spawnFireline(['start', '--role', 'api'], apiEnv);
    children.push(api);
    await api.waitForLine(/Fireline is running/, START_DEADLINE_MS);
    const apiPid = api.child.pid!;
    const url = new URL(`http://127.0.0.1:${port}/api/v1/alerts/alertmanager`);
    const runTag = Math.floor(Math.random() * 0xffffff)
      .toString(16)
      .padStart(6, '0');
    let n = 0;
    const outcomes: Record<string, number> = {};
    const opts = {
      url,
      connections: CONNECTIONS,
      maxRequests: MAX_REQUESTS,
      body: () => alertmanagerBody(n++, runTag),
      onResponse: (status: number, text: string) => {
        if (status !== 202) return;
        for (const r of (JSON.parse(text) as IngestBody).results)
          for (const o of r.outcomes) outcomes[o.outcome] = (outcomes[o.outcome] ?? 0) + 1;
      },
    };

    progress(`warm-up: ${WARMUP_MS} ms, ${CONNECTIONS} connections, API alone`);
    const stats0 = await commandStats(admin);
    const warmCpu = await processCpuMeter(admin, { api: apiPid });
    const warm = await httpLoad({ ...opts, durationMs: WARMUP_MS });
    const cpuDuringWarmup = await warmCpu(warm.requests);
    const apiCalls = callsPer(stats0, await commandStats(admin), warm.requests);
    const warmAccepted = warm.statuses['202'] ?? 0;
    const incidentsBefore = await admin.zcard(`${PREFIX}:incidents`);
    progress(`warm-up: ${warm.requests} requests, ${JSON.stringify(warm.statuses)}; starting the worker`);

    const worker = spawnFireline(['start', '--role', 'worker'], env);
    children.push(worker);
    await worker.waitForLine(/Fireline is running/, START_DEADLINE_MS);

    progress(`measured: up to ${DURATION_MS} ms or ${MAX_REQUESTS} requests, ${CONNECTIONS} connections`);
    const cpu = await processCpuMeter(admin, { api: apiPid, worker: worker.child.pid! });
    for (const k of Object.keys(outcomes)) delete outcomes[k];
    const run = await httpLoad({ ...opts, durationMs: DURATION_MS });
    const cpuDuringLoad = await cpu(run.requests);
    const accepted = Object.entries(run.statuses)
      .filter(([s]) => /^2\d\d$/.test(s))
      .reduce((sum, [, c]) => sum + c, 0);
    progress(`measured: ${run.requests} requests in ${Math.round(run.elapsedMs)} ms; draining the workers`);

    const drainStart = performance.now();
    const drainBudget = RUN_DEADLINE_MS - STOP_RESERVE_MS - (drainStart - runStart);
    const isDrained = await drained(admin, queues, drainBudget);
    const drainMs = Math.round(performance.now() - drainStart);
    const incidentsTotal = await admin.zcard(`${PREFIX}:incidents`);
    const incidents = incidentsTotal - incidentsBefore;
    const allCalls = callsPer(stats0, await commandStats(admin), incidentsTotal);

    const sorted = Array.from(run.latenciesMs).sort((a, b) => a - b);
    const latencyMs = {
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1] ?? Number.NaN),
    };
    const durationSec = round(run.elapsedMs / 1000);
    const reqPerSec = round(run.requests / durationSec, 1);
    const exact = incidents === accepted && incidentsBefore === warmAccepted;
    const meets = {
      reqPerSec: reqPerSec >= TARGET_REQ_PER_SEC,
      p99Ms: latencyMs.p99 <= TARGET_P99_MS,
      exact,
    };
    const result = {
      benchmark: 'ingest',
      requests: run.requests,
      durationSec,
      reqPerSec,
      latencyMs,
      statuses: run.statuses,
      accepted,
      incidents,
      exact,
      targets: { reqPerSec: TARGET_REQ_PER_SEC, p99Ms: TARGET_P99_MS },
      meets,
      apiCpuPct: cpuDuringLoad.cpuPct.api,
      detail: {
        connections: CONNECTIONS,
        outcomes,
        warmup: {
          requests: warm.requests,
          reqPerSec: round(warm.requests / (warm.elapsedMs / 1000), 1),
          accepted: warmAccepted,
          incidents: incidentsBefore,
          cpu: cpuDuringWarmup,
        },
        drained: isDrained,
        drainMs,
        incidentStatuses: await incidentStatuses(admin),
        cpuPctDuringLoad: cpuDuringLoad,
        apiRedisCallsPerRequest: apiCalls,
        redisCallsPerIncidentApiAndWorker: allCalls,
      },
      cpus: os.cpus().length,
      loadavg: os.loadavg().map((x) => round(x)),
      node: process.version,
    };
    const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
    process.stderr.write(
      [
        '',
        `ingest: ${reqPerSec} req/s (target ≥ ${TARGET_REQ_PER_SEC}) ${ok(meets.reqPerSec)}`,
        `        p50/p90/p99/max ${latencyMs.p50}/${latencyMs.p90}/${latencyMs.p99}/${latencyMs.max} ms (p99 target ≤ ${TARGET_P99_MS}) ${ok(meets.p99Ms)}`,
        `        accepted ${accepted}, incidents ${incidents} ${ok(exact)}, drained ${isDrained} in ${drainMs} ms`,
        `        CPU % ${JSON.stringify(cpuDuringLoad.cpuPct)}`,
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    const codes = await Promise.all(children.map((c) => stopChild(c)));
    progress(`stopped api/worker (${codes.join(', ')})`);
    await Promise.all(queues.map((q) => q.close()));
    admin.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  progress(`gave up after ${RUN_DEADLINE_MS} ms`);
  for (const c of children) c.child.kill('SIGKILL');
  redisChild?.kill('SIGKILL');
  process.exit(2);
}, RUN_DEADLINE_MS + 3_000);

Promise.race([main(), deadline(RUN_DEADLINE_MS + 2_000, 'the ingest benchmark')]).then(
  (code) => {
    clearTimeout(watchdog);
    process.exit(code);
  },
  (err: unknown) => {
    clearTimeout(watchdog);
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    for (const c of children) c.child.kill('SIGKILL');
    redisChild?.kill('SIGKILL');
    process.exit(1);
  },
);
