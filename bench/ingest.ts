/**
 * Ingest benchmark (issues 4 and 13), one run on a private redis-server (loopback, nothing on disk):
 * a Fireline `--role api` child process takes Alertmanager webhook POSTs of one alert each
 * (distinct fingerprints, v4 payloads) from CONNECTIONS keep-alive connections, while a
 * `--role worker` child process works the incidents off.
 *
 * 1. Baseline: bench/ingest-baseline.ts, a bare `node:http` API doing the same Redis work per new
 *    alert (store.openIncident + queues.add('trigger'), its own prefix, no worker), under the same
 *    load: a warm-up, then ALONE_REQUESTS measured; its process CPU per accepted alert from /proc.
 * 2. Fireline's API alone, the same way (its Redis commands per request are measured there too).
 *    The target: its CPU per accepted alert ≤ 1.5× the baseline's.
 * 3. The worker starts and the measured phase runs for DURATION_MS or MAX_REQUESTS. After the
 *    workers drain, every accepted alert must be one incident.
 *
 * Prints one JSON object on stdout, progress on stderr. `npm run bench:ingest`.
 * BENCH_INGEST_CPU_PROF=<dir> starts the baseline and the Fireline API child with
 * `node --cpu-prof --cpu-prof-dir=<dir>` (on their command lines: Node 20 refuses `--cpu-prof` in
 * NODE_OPTIONS) and, once each has stopped, prints the top functions and files of its measured
 * "API alone" phase on stderr (bench/cpu-profile.ts); the profile files hold the whole runs.
 * Profiling adds CPU: compare the bench's figures from runs without it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { terminate } from '../scripts/harness/child-process.ts';
import { type FirelineProcess, spawnFireline } from '../scripts/harness/fireline-process.ts';
import { freePort } from '../scripts/harness/redis-server.ts';
import { QUEUE_NAMES } from '../src/queues/catalog.ts';
import { formatSummary, monotonicMicros, profileOf, summarizeProfile } from './cpu-profile.ts';
import { alertmanagerBody, INGEST_PATH, INGEST_RUNBOOK } from './ingest-fixtures.ts';
import {
  type CommandStats,
  commandStats,
  commandsPer,
  deadline,
  type HttpLoadResult,
  httpLoad,
  percentile,
  processCpuMeter,
  progress,
  round,
  startPrivateRedis,
} from './lib.ts';

const CONNECTIONS = 50;
/**
 * Each API alone (Fireline's, the baseline's): a warm-up of WARMUP_REQUESTS, then ALONE_REQUESTS
 * measured (the same number for both, so the same garbage to collect), each within its time cap.
 * Counts, not durations: Fireline's alerts here are incidents the worker must drain later.
 */
const WARMUP_REQUESTS = 4_000;
const ALONE_REQUESTS = 10_000;
const ALONE_CAP_MS = 15_000;
const DURATION_MS = 15_000;
const MAX_REQUESTS = 30_000;
/** Issue 4's absolute goals, kept in the JSON; issue 13's target is TARGET_API_CPU_RATIO. */
const TARGET_REQ_PER_SEC = 2000;
const TARGET_P99_MS = 50;
/** Fireline's API CPU per accepted alert at most this many times the baseline API's. */
const TARGET_API_CPU_RATIO = 1.5;
const PREFIX = 'bench-ingest';
const BASELINE_PREFIX = 'bench-ingest-baseline';
const BASELINE_FILE = fileURLToPath(new URL('./ingest-baseline.ts', import.meta.url));
/** The whole run (start, load, drain, stop) ends within 2¼ minutes. */
const RUN_DEADLINE_MS = 135_000;
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

/** Requests answered 2xx: alerts taken (one alert per request). */
const acceptedOf = (statuses: Record<string, number>): number =>
  Object.entries(statuses)
    .filter(([s]) => /^2\d\d$/.test(s))
    .reduce((sum, [, c]) => sum + c, 0);

function latencyOf(run: HttpLoadResult) {
  const sorted = Array.from(run.latenciesMs).sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

type LoadOptions = Omit<Parameters<typeof httpLoad>[0], 'durationMs'>;

/**
 * An API process alone (no worker) under the load: WARMUP_REQUESTS, then ALONE_REQUESTS measured —
 * its CPU (from /proc) per accepted alert, and Redis commands per request.
 */
async function apiAlone(admin: Redis, pid: number, load: LoadOptions) {
  const warmCpu = await processCpuMeter(admin, { api: pid });
  const warm = await httpLoad({ ...load, maxRequests: WARMUP_REQUESTS, durationMs: ALONE_CAP_MS });
  const warmAccepted = acceptedOf(warm.statuses);
  const cpuDuringWarmup = await warmCpu(warm.requests);
  const stats = await commandStats(admin);
  const cpu = await processCpuMeter(admin, { api: pid });
  const fromMicros = monotonicMicros();
  const run = await httpLoad({ ...load, maxRequests: ALONE_REQUESTS, durationMs: ALONE_CAP_MS });
  const toMicros = monotonicMicros();
  const accepted = acceptedOf(run.statuses);
  if (accepted === 0) throw new Error(`API alone: nothing accepted (${JSON.stringify(run.statuses)})`);
  const used = await cpu(accepted);
  return {
    warmup: {
      requests: warm.requests,
      reqPerSec: round(warm.requests / (warm.elapsedMs / 1000), 1),
      accepted: warmAccepted,
      cpu: cpuDuringWarmup,
    },
    requests: run.requests,
    reqPerSec: round(run.requests / (run.elapsedMs / 1000), 1),
    accepted,
    statuses: run.statuses,
    latencyMs: latencyOf(run),
    /** CPU ms per accepted alert of the API process, this process (client) and Redis. */
    cpu: used,
    apiCpuMsPerAlert: used.cpuMsPerUnit.api!,
    redisCallsPerRequest: callsPer(stats, await commandStats(admin), run.requests),
    /** The measured phase on the monotonic clock (for the API child's CPU profile). */
    window: { fromMicros, toMicros },
  };
}

/** Starts the baseline API (bench/ingest-baseline.ts) and resolves once it listens. */
async function startBaseline(env: Record<string, string>, nodeArgs: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', BASELINE_FILE], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  baselineChild = child;
  await Promise.race([
    new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (c: Buffer) => {
        if (c.toString().includes('listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the baseline API exited (${code}) before listening`)));
    }),
    deadline(START_DEADLINE_MS, 'the baseline API to listen'),
  ]);
  return child;
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

/** The API child's CPU profile (written when it exited): where its "API alone" phase went. */
function reportProfile(
  what: string,
  dir: string,
  pid: number | undefined,
  window: { fromMicros: number; toMicros: number } | undefined,
) {
  const file = pid === undefined ? undefined : profileOf(dir, pid);
  if (!file) {
    progress(`no CPU profile of the ${what} (pid ${pid}) in ${dir}`);
    return;
  }
  const phase = window
    ? `the measured API-alone phase (monotonic µs ${window.fromMicros}–${window.toMicros})`
    : 'the whole run';
  progress(`${what} CPU profile: ${file}; ${phase}:\n${formatSummary(summarizeProfile(file, window))}`);
}

const children: FirelineProcess[] = [];
let baselineChild: ChildProcess | undefined;
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
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const apiNodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  let profileWindow: { fromMicros: number; toMicros: number } | undefined;
  try {
    const runTag = Math.floor(Math.random() * 0xffffff)
      .toString(16)
      .padStart(6, '0');
    let n = 0;
    const outcomes: Record<string, number> = {};
    const load = (url: URL): LoadOptions => ({
      url,
      connections: CONNECTIONS,
      maxRequests: MAX_REQUESTS,
      body: () => alertmanagerBody(n++, runTag),
      onResponse: (status: number, text: string) => {
        if (status !== 202) return;
        for (const r of (JSON.parse(text) as IngestBody).results)
          for (const o of r.outcomes) outcomes[o.outcome] = (outcomes[o.outcome] ?? 0) + 1;
      },
    });

    const basePort = await freePort();
    progress(`redis-server on ${redis.url}; baseline API (bare node:http) on port ${basePort}`);
    const base = await startBaseline(
      { REDIS_URL: redis.url, PORT: String(basePort), PREFIX: BASELINE_PREFIX },
      apiNodeArgs,
    );
    progress(
      `baseline: ${WARMUP_REQUESTS} requests warm-up, then ${ALONE_REQUESTS} measured, ${CONNECTIONS} connections`,
    );
    const baseline = await apiAlone(
      admin,
      base.pid!,
      load(new URL(`http://127.0.0.1:${basePort}${INGEST_PATH}`)),
    );
    await terminate(base);
    baselineChild = undefined;
    if (profileDir) reportProfile('baseline API', profileDir, base.pid, baseline.window);
    const baselineIncidents = await admin.zcard(`${BASELINE_PREFIX}:incidents`);
    progress(
      `baseline: ${baseline.reqPerSec} req/s, ${baseline.apiCpuMsPerAlert} API CPU ms per alert; ${baselineIncidents} incidents`,
    );

    progress(`starting the Fireline API on port ${port}`);
    const api = spawnFireline(['start', '--role', 'api'], env, { nodeArgs: apiNodeArgs });
    children.push(api);
    await api.waitForLine(/Fireline is running/, START_DEADLINE_MS);
    const apiPid = api.child.pid!;
    const opts = load(new URL(`http://127.0.0.1:${port}${INGEST_PATH}`));

    progress(
      `API alone: ${WARMUP_REQUESTS} requests warm-up, then ${ALONE_REQUESTS} measured, ${CONNECTIONS} connections`,
    );
    const stats0 = await commandStats(admin);
    const alone = await apiAlone(admin, apiPid, opts);
    profileWindow = alone.window;
    const warmAccepted = alone.warmup.accepted + alone.accepted;
    const incidentsBefore = await admin.zcard(`${PREFIX}:incidents`);
    progress(
      `API alone: ${alone.reqPerSec} req/s, ${alone.apiCpuMsPerAlert} API CPU ms per alert; starting the worker`,
    );

    const worker = spawnFireline(['start', '--role', 'worker'], env);
    children.push(worker);
    await worker.waitForLine(/Fireline is running/, START_DEADLINE_MS);

    progress(`measured: up to ${DURATION_MS} ms or ${MAX_REQUESTS} requests, ${CONNECTIONS} connections`);
    const cpu = await processCpuMeter(admin, { api: apiPid, worker: worker.child.pid! });
    for (const k of Object.keys(outcomes)) delete outcomes[k];
    const run = await httpLoad({ ...opts, durationMs: DURATION_MS });
    const cpuDuringLoad = await cpu(run.requests);
    const accepted = acceptedOf(run.statuses);
    progress(`measured: ${run.requests} requests in ${Math.round(run.elapsedMs)} ms; draining the workers`);

    const drainStart = performance.now();
    const drainBudget = RUN_DEADLINE_MS - STOP_RESERVE_MS - (drainStart - runStart);
    const isDrained = await drained(admin, queues, drainBudget);
    const drainMs = Math.round(performance.now() - drainStart);
    const incidentsTotal = await admin.zcard(`${PREFIX}:incidents`);
    const incidents = incidentsTotal - incidentsBefore;
    const allCalls = callsPer(stats0, await commandStats(admin), incidentsTotal);

    const latencyMs = latencyOf(run);
    const durationSec = round(run.elapsedMs / 1000);
    const reqPerSec = round(run.requests / durationSec, 1);
    const exact = incidents === accepted && incidentsBefore === warmAccepted;
    const baselineExact = baselineIncidents === baseline.warmup.accepted + baseline.accepted;
    const apiCpuRatio = round(alone.apiCpuMsPerAlert / baseline.apiCpuMsPerAlert);
    const withWorkerMs = round(cpuDuringLoad.cpuMsPerUnit.api! * (run.requests / Math.max(1, accepted)), 3);
    const meets = {
      reqPerSec: reqPerSec >= TARGET_REQ_PER_SEC,
      p99Ms: latencyMs.p99 <= TARGET_P99_MS,
      exact,
      apiCpu: apiCpuRatio <= TARGET_API_CPU_RATIO && baselineExact,
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
      targets: { reqPerSec: TARGET_REQ_PER_SEC, p99Ms: TARGET_P99_MS, apiCpuRatio: TARGET_API_CPU_RATIO },
      meets,
      apiCpuPct: cpuDuringLoad.cpuPct.api,
      /**
       * API process CPU ms per accepted alert, each API alone after the same warm-up under the same
       * load: Fireline's and the bare node:http baseline's; ratio = Fireline ÷ baseline.
       * `firelineWithWorker` is Fireline's API during the measured phase (worker running).
       */
      apiCpuMsPerAlert: {
        fireline: alone.apiCpuMsPerAlert,
        baseline: baseline.apiCpuMsPerAlert,
        ratio: apiCpuRatio,
        targetRatio: TARGET_API_CPU_RATIO,
        firelineWithWorker: withWorkerMs,
        ratioWithWorker: round(withWorkerMs / baseline.apiCpuMsPerAlert),
      },
      baseline: {
        what: 'bare node:http API: JSON.parse, store.openIncident, queues.add(trigger) (bench/ingest-baseline.ts)',
        reqPerSec: baseline.reqPerSec,
        accepted: baseline.accepted,
        incidents: baselineIncidents,
        exact: baselineExact,
        latencyMs: baseline.latencyMs,
        statuses: baseline.statuses,
        cpu: baseline.cpu,
        redisCallsPerRequest: baseline.redisCallsPerRequest,
        warmup: baseline.warmup,
      },
      detail: {
        connections: CONNECTIONS,
        outcomes,
        warmup: { ...alone.warmup, incidents: incidentsBefore },
        apiAlone: {
          requests: alone.requests,
          reqPerSec: alone.reqPerSec,
          accepted: alone.accepted,
          latencyMs: alone.latencyMs,
          statuses: alone.statuses,
          cpu: alone.cpu,
        },
        drained: isDrained,
        drainMs,
        incidentStatuses: await incidentStatuses(admin),
        cpuPctDuringLoad: cpuDuringLoad,
        apiRedisCallsPerRequest: alone.redisCallsPerRequest,
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
        `ingest: ${reqPerSec} req/s (issue 4 goal ≥ ${TARGET_REQ_PER_SEC}) ${ok(meets.reqPerSec)}`,
        `        p50/p90/p99/max ${latencyMs.p50}/${latencyMs.p90}/${latencyMs.p99}/${latencyMs.max} ms (issue 4 goal p99 ≤ ${TARGET_P99_MS}) ${ok(meets.p99Ms)}`,
        `        accepted ${accepted}, incidents ${incidents} ${ok(exact)}, drained ${isDrained} in ${drainMs} ms`,
        `        API CPU ms per alert, API alone: Fireline ${alone.apiCpuMsPerAlert}, baseline ${baseline.apiCpuMsPerAlert} (${apiCpuRatio}×, target ≤ ${TARGET_API_CPU_RATIO}×) ${ok(meets.apiCpu)}`,
        `        with the worker running: Fireline ${withWorkerMs} (${result.apiCpuMsPerAlert.ratioWithWorker}×)`,
        `        CPU % ${JSON.stringify(cpuDuringLoad.cpuPct)}`,
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    if (baselineChild) await terminate(baselineChild);
    const codes = await Promise.all(children.map((c) => stopChild(c)));
    progress(`stopped api/worker (${codes.join(', ')})`);
    if (profileDir) reportProfile('Fireline API', profileDir, children[0]?.child.pid, profileWindow);
    await Promise.all(queues.map((q) => q.close()));
    admin.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  progress(`gave up after ${RUN_DEADLINE_MS} ms`);
  for (const c of children) c.child.kill('SIGKILL');
  baselineChild?.kill('SIGKILL');
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
    baselineChild?.kill('SIGKILL');
    redisChild?.kill('SIGKILL');
    process.exit(1);
  },
);
