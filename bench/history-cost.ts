/**
 * The cost of the incident history (issue 15): the pipeline bench's storm — 2,000 distinct alerts
 * of the five-check runbook, each delivered 5 times, 200 in flight, workers in this process — run
 * with the history off, on the machine's PostgreSQL (a scratch database), and on the embedded
 * PGlite (in memory), interleaved (off, postgres, pglite, off, …), each run on a fresh prefix of
 * one private redis-server. Per run: incidents/s (first intake → last `decision.made`) and, with the
 * history on, how long after the last decision the history held every incident's decision (archive lag).
 * Target: the median incidents/s with the history on (PostgreSQL) ≥ 0.95× with it off — the
 * archive is never the bottleneck.
 *
 * Prints one JSON object on stdout, progress on stderr. `npm run bench:history-cost`.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createDatabase } from '../scripts/harness/postgres.ts';
import { createCatalog } from '../src/engine/catalog.ts';
import { type HistoryDb, openHistoryDb } from '../src/history/db.ts';
import { createLogger } from '../src/logger.ts';
import { createPipeline } from '../src/process/pipeline.ts';
import type { WorkerSettings } from '../src/workers/index.ts';
import { benchAlert, compileFiveChecks } from './five-checks.ts';
import {
  countingHttpServer,
  deadline,
  processCpuSeconds,
  progress,
  round,
  runLimited,
  startPrivateRedis,
} from './lib.ts';

const ALERTS = Number(process.env.BENCH_HISTORY_ALERTS ?? 2000);
const DELIVERIES = 5;
const IN_FLIGHT = 200;
const ROUNDS = Number(process.env.BENCH_HISTORY_ROUNDS ?? 3);
const TARGET_RATIO = 0.95;
const STORM_DEADLINE_MS = 120_000;
const ARCHIVE_DEADLINE_MS = 60_000;
const SETTINGS: WorkerSettings = {
  diagnosticConcurrency: 50,
  remediationRatePerMinute: 1000,
  remediationConcurrency: 5,
};

type Mode = 'off' | 'postgres' | 'pglite';
const MODES = (process.env.BENCH_HISTORY_MODES ?? 'off,postgres,pglite').split(',') as Mode[];

async function storm(
  redisUrl: string,
  baseUrl: string,
  mode: Mode,
  history: HistoryDb | undefined,
  n: number,
) {
  const prefix = `bench-h${n}`;
  const pipeline = createPipeline({
    redisUrl,
    prefix,
    catalog: createCatalog([compileFiveChecks(baseUrl)]),
    logger: createLogger({ level: 'silent' }),
    dryRun: false,
    ...(history ? { history } : {}),
  });
  await pipeline.ready();
  await pipeline.startWorkers(SETTINGS);
  let decisions = 0;
  let lastDecisionAt = 0;
  let allDecided!: () => void;
  const decided = new Promise<void>((r) => {
    allDecided = r;
  });
  const follower = await pipeline.progress.follow(null, '0', (e) => {
    if (e.type !== 'decision.made') return;
    lastDecisionAt = performance.now();
    if (++decisions === ALERTS) allDecided();
  });
  try {
    const deliveries = Array.from({ length: ALERTS }, (_, i) => benchAlert(`h${n}-${i}`)).flatMap((a) =>
      Array.from({ length: DELIVERIES }, () => a),
    );
    const cpu0 = { node: process.cpuUsage(), postgres: postgresCpuSeconds() };
    const t0 = performance.now();
    const ticker = setInterval(
      () =>
        progress(`  ${mode}: ${decisions} decided after ${Math.round((performance.now() - t0) / 1000)} s`),
      10_000,
    );
    await Promise.race([
      runLimited(deliveries, IN_FLIGHT, async (a) => {
        await pipeline.intake(a);
      }).then(() => decided),
      deadline(STORM_DEADLINE_MS, `${mode} storm`),
    ]);
    clearInterval(ticker);
    const incidentsPerSec = round(ALERTS / ((lastDecisionAt - t0) / 1000), 1);
    const nodeCpu = process.cpuUsage(cpu0.node);
    // CPU per incident up to the last decision: this process (pipeline, workers, PGlite) and the
    // PostgreSQL server's processes (its backends, WAL writer, autovacuum).
    const cpuMsPerIncident = {
      node: round((nodeCpu.user + nodeCpu.system) / 1000 / ALERTS),
      postgres: round(((postgresCpuSeconds() - cpu0.postgres) * 1000) / ALERTS),
    };
    let archiveLagMs: number | null = null;
    if (history) {
      const stop = performance.now() + ARCHIVE_DEADLINE_MS;
      for (;;) {
        const [row] = await history.query<{ n: number }>(
          'SELECT count(*) AS n FROM incidents WHERE prefix = $1 AND evidence_at IS NOT NULL',
          [prefix],
        );
        if ((row?.n ?? 0) >= ALERTS) break;
        if (performance.now() > stop) throw new Error(`${mode}: the history holds ${row?.n} of ${ALERTS}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      archiveLagMs = Math.round(performance.now() - lastDecisionAt);
    }
    return { mode, incidentsPerSec, cpuMsPerIncident, archiveLagMs };
  } finally {
    await follower.stop();
    await pipeline.close(10_000);
  }
}

/** CPU seconds of every process of the machine's PostgreSQL server (user `postgres`). */
function postgresCpuSeconds(): number {
  const pids = execFileSync('pgrep', ['-u', 'postgres'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  let total = 0;
  for (const pid of pids) {
    try {
      total += processCpuSeconds(Number(pid));
    } catch {
      // a backend that ended meanwhile: its CPU is gone with it, and it was an idle one
    }
  }
  return total;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const redis = await startPrivateRedis();
  const server = await countingHttpServer();
  const flush = new Redis(redis.url, { maxRetriesPerRequest: null });
  const scratch = await createDatabase('fireline_bench');
  const fail = (err: Error) => progress(`history database error: ${err.message}`);
  const dbs: Record<Exclude<Mode, 'off'>, HistoryDb> = {
    postgres: await openHistoryDb({ url: scratch.url }, fail),
    pglite: await openHistoryDb({ memory: true }, fail),
  };
  const runs: Awaited<ReturnType<typeof storm>>[] = [];
  try {
    let n = 0;
    for (let round_ = 0; round_ < ROUNDS; round_++)
      for (const mode of MODES) {
        progress(`history: storm ${round_ + 1}/${ROUNDS}, history ${mode}`);
        const run = await storm(redis.url, server.url, mode, mode === 'off' ? undefined : dbs[mode], n++);
        progress(
          `  ${run.incidentsPerSec} incidents/s, CPU ms/incident node ${run.cpuMsPerIncident.node} + postgres ${run.cpuMsPerIncident.postgres}, archive lag ${run.archiveLagMs ?? '-'} ms`,
        );
        runs.push(run);
        await flush.flushall();
      }
  } finally {
    await dbs.postgres.close();
    await dbs.pglite.close();
    await scratch.drop();
    flush.disconnect();
    await server.close();
    await redis.stop();
  }
  const of = (mode: Mode) => runs.filter((r) => r.mode === mode);
  const summary = Object.fromEntries(
    (['off', 'postgres', 'pglite'] as const).map((mode) => [
      mode,
      {
        incidentsPerSec: of(mode).map((r) => r.incidentsPerSec),
        median: median(of(mode).map((r) => r.incidentsPerSec)),
        archiveLagMs: of(mode).map((r) => r.archiveLagMs),
        cpuMsPerIncident: of(mode).map((r) => r.cpuMsPerIncident),
      },
    ]),
  ) as Record<
    Mode,
    {
      incidentsPerSec: number[];
      median: number;
      archiveLagMs: (number | null)[];
      cpuMsPerIncident: { node: number; postgres: number }[];
    }
  >;
  const ratio = round(summary.postgres.median / summary.off.median, 3);
  const pgliteRatio = round(summary.pglite.median / summary.off.median, 3);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'history-cost',
      alerts: ALERTS,
      deliveriesPerAlert: DELIVERIES,
      rounds: ROUNDS,
      ...summary,
      ratio: { postgres: ratio, pglite: pgliteRatio },
      target: { ratio: TARGET_RATIO, meets: ratio >= TARGET_RATIO },
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    progress(`history bench failed: ${(err as Error).stack}`);
    process.exit(1);
  },
);
