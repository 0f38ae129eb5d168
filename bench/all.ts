/**
 * `npm run bench`: the engine, pipeline, ingest, in-process and both history benchmarks one after another, each
 * as its own child process (`npx tsx bench/<x>.ts`, its own process group, killed if it overruns),
 * then ONE JSON object on stdout — the machine, every bench's JSON, the ratios to the same-run
 * baselines, issue 13's targets (figure, baseline, ratio, target, met), and the machine's load
 * while each bench ran — and a table on stderr.
 * The children's progress goes to stderr as it comes. Exit 1 when a bench produced no result.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type BenchResults, ratiosOf, tableOf, targetsOf } from './all-report.ts';
import { progress, round } from './lib.ts';

/** Everything ends within 22 minutes: this much for the benches, the rest for stopping them. */
const TOTAL_BUDGET_MS = 1_290_000;
/** SIGTERM to an overrunning bench's group, then SIGKILL after this. */
const KILL_GRACE_MS = 5_000;
const LOAD_SAMPLE_MS = 2_000;

/** Each bench and the longest it may take (its own internal deadline plus start-up). */
const BENCHES = [
  { key: 'engine', file: 'engine.ts', capMs: 90_000 },
  { key: 'pipeline', file: 'pipeline.ts', capMs: 285_000 },
  { key: 'ingest', file: 'ingest.ts', capMs: 150_000 },
  { key: 'inProcess', file: 'in-process.ts', capMs: 70_000 },
  // Issue 15: ~50 s to generate 100,000 archived incidents in PostgreSQL, then a few seconds timing.
  { key: 'history', file: 'history-stats.ts', capMs: 150_000 },
  // Issue 15: nine 2,000-alert storms, the history off, on PostgreSQL and on PGlite, interleaved.
  { key: 'historyCost', file: 'history-cost.ts', capMs: 540_000 },
  // Issue 16: what FIRELINE_DURABILITY=replica costs, against a primary with one replica (~3 min).
  { key: 'durability', file: 'pipeline.ts', env: { FIRELINE_DURABILITY: 'replica' }, capMs: 270_000 },
] as const satisfies readonly { key: string; file: string; capMs: number; env?: Record<string, string> }[];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Busy, stolen and total jiffies of all CPUs so far, from the first line of /proc/stat. */
function cpuJiffies(): { busy: number; steal: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy; steal is the
  // hypervisor giving this VM's CPU to someone else.
  return { busy: total - fields[3]! - fields[4]!, steal: fields[7]!, total };
}

let clockTicks: number | undefined;

/** Seconds from bash's `times` ("0m1.250s 0m0.130s" per line; the second line is the children's). */
function childrenCpuSeconds(times: string): number | null {
  const line = times.trim().split('\n')[1];
  if (!line) return null;
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

/** The machine the figures were measured on. */
function machine() {
  const model =
    /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ??
    os.cpus()[0]?.model ??
    'unknown';
  const redisVersion = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1];
  return {
    cpus: os.cpus().length,
    model,
    memGb: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    redis: redisVersion ?? 'unknown',
    kernel: os.release(),
  };
}

/** How one child run went, and how busy the machine was meanwhile. */
interface ChildRun {
  json: unknown;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  wallMs: number;
  /** 1-minute load average: at the start, the largest seen, at the end. */
  loadavg1: { start: number; max: number; end: number };
  /** Share of all CPUs busy (any process) while the bench ran, in %: 100 = every core busy. */
  machineCpuBusyPct: number;
  /** CPU seconds the bench used, every process of it (Redis, Fireline children) included. */
  benchCpuSec: number | null;
  /** Share of all CPUs that other processes on the machine used meanwhile, in %. */
  othersCpuPct: number | null;
  /** Share of all CPUs the hypervisor gave to other guests meanwhile, in %. */
  stealPct: number;
  error?: string;
}

let running: ReturnType<typeof spawn> | undefined;

/** Signals a child's whole process group (its redis-server and Fireline children too). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: the group is already gone, which is what was wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function runChild(file: string, timeoutMs: number, env: Record<string, string> = {}): Promise<ChildRun> {
  const t0 = performance.now();
  const cpu0 = cpuJiffies();
  const load = { start: os.loadavg()[0]!, max: os.loadavg()[0]!, end: 0 };
  const sampler = setInterval(() => {
    load.max = Math.max(load.max, os.loadavg()[0]!);
  }, LOAD_SAMPLE_MS);
  // bash reports on fd 3 the CPU time of everything the bench ran (waited-for descendants).
  const child = spawn('bash', ['-c', 'npx tsx "bench/$1"; rc=$?; times >&3; exit $rc', 'bench', file], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
    detached: true,
  });
  running = child;
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  let times = '';
  child.stdio[3]?.on('data', (c: Buffer) => {
    times += c.toString();
  });
  let timedOut = false;
  let killer: NodeJS.Timeout | undefined;
  const overrun = setTimeout(() => {
    timedOut = true;
    progress(`${file} overran ${timeoutMs} ms: stopping it`);
    killGroup(child.pid, 'SIGTERM');
    killer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
  }, timeoutMs);
  return new Promise((resolve) => {
    const finish = (exitCode: number | null, signal: string | null, spawnError?: Error) => {
      clearTimeout(overrun);
      clearTimeout(killer);
      clearInterval(sampler);
      // No group kill here: once the group is empty its id may belong to someone else's.
      running = undefined;
      const cpu1 = cpuJiffies();
      const jiffies = Math.max(1, cpu1.total - cpu0.total);
      clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
      const benchCpuSec = childrenCpuSeconds(times);
      load.end = os.loadavg()[0]!;
      load.max = Math.max(load.max, load.end);
      const text = Buffer.concat(chunks).toString();
      let json: unknown = null;
      let error = spawnError?.message;
      const start = text.indexOf('{');
      if (start >= 0) {
        try {
          json = JSON.parse(text.slice(start));
        } catch (err) {
          error ??= `stdout is not one JSON object: ${(err as Error).message}`;
        }
      } else error ??= 'no JSON on stdout';
      if (timedOut) error = `killed after ${timeoutMs} ms`;
      else if (exitCode !== 0) error ??= `exited with ${exitCode ?? signal}`;
      resolve({
        json: error === undefined ? json : null,
        exitCode,
        signal,
        timedOut,
        wallMs: Math.round(performance.now() - t0),
        loadavg1: { start: round(load.start), max: round(load.max), end: round(load.end) },
        machineCpuBusyPct: round(((cpu1.busy - cpu0.busy) / jiffies) * 100, 1),
        benchCpuSec: benchCpuSec === null ? null : round(benchCpuSec),
        othersCpuPct:
          benchCpuSec === null
            ? null
            : round(Math.max(0, (cpu1.busy - cpu0.busy - benchCpuSec * clockTicks) / jiffies) * 100, 1),
        stealPct: round(((cpu1.steal - cpu0.steal) / jiffies) * 100, 1),
        ...(error === undefined ? {} : { error }),
      });
    };
    child.once('error', (err) => finish(null, null, err));
    child.once('close', (code, signal) => finish(code, signal));
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    killGroup(running?.pid, 'SIGTERM');
    process.exit(130);
  });

async function main(): Promise<number> {
  const start = performance.now();
  const date = new Date().toISOString();
  const host = machine();
  progress(
    `${host.cpus} × ${host.model}, ${host.memGb} GB, Node ${host.node}, Redis ${host.redis}; load ${os.loadavg().map((x) => round(x))}`,
  );
  const results: Record<string, unknown> = {};
  const runs: Record<string, Omit<ChildRun, 'json'>> = {};
  for (const bench of BENCHES) {
    const left = TOTAL_BUDGET_MS - (performance.now() - start);
    if (left < 10_000) {
      progress(`${bench.file}: skipped, ${Math.round(left)} ms of the budget left`);
      results[bench.key] = null;
      runs[bench.key] = {
        exitCode: null,
        signal: null,
        timedOut: true,
        wallMs: 0,
        loadavg1: { start: 0, max: 0, end: 0 },
        machineCpuBusyPct: 0,
        benchCpuSec: null,
        othersCpuPct: null,
        stealPct: 0,
        error: 'skipped: out of time',
      };
      continue;
    }
    progress(`── ${bench.file} (at most ${Math.round(Math.min(bench.capMs, left) / 1000)} s)`);
    const { json, ...run } = await runChild(
      bench.file,
      Math.min(bench.capMs, left),
      'env' in bench ? bench.env : {},
    );
    results[bench.key] = json;
    runs[bench.key] = run;
    progress(
      `── ${bench.file}: ${run.error ?? 'ok'} in ${run.wallMs} ms; load ${run.loadavg1.start} → max ${run.loadavg1.max}; machine CPU ${run.machineCpuBusyPct}% busy, ${run.othersCpuPct ?? '?'}% of it other processes`,
    );
  }
  const typed = results as unknown as BenchResults;
  const out = {
    machine: host,
    date,
    totalMs: Math.round(performance.now() - start),
    results: typed,
    ratios: ratiosOf(typed),
    targets: targetsOf(typed),
    runs,
  };
  process.stderr.write(tableOf(typed, out.ratios, out.targets, runs));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return Object.values(results).every((r) => r !== null) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killGroup(running?.pid, 'SIGKILL');
    process.exit(1);
  },
);
