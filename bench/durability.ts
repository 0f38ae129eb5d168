/**
 * The cost of FIRELINE_DURABILITY=replica (issue 16), run by `FIRELINE_DURABILITY=replica npm run
 * bench:pipeline`: one private primary with one replica on loopback (nothing on disk), the same
 * five-check runbook as the pipeline bench, workers in this process. Each delivery is what the
 * alert route does before it answers 2xx: `intake(alert)` then `durability.confirm()` (a no-op in
 * `primary` mode; INCR + WAIT 1, shared by concurrent callers, in `replica` mode).
 *
 * Both modes run on the same pair, in ROUNDS interleaved rounds (primary, replica, primary, …):
 * (a) one at a time: a delivery's time to its 2xx, and to `decision.made`;
 * (b) a storm: STORM_ALERTS distinct alerts × 5 deliveries, STORM_IN_FLIGHT in flight: the
 *     deliveries' 2xx times, incidents/s to the last decision, WAIT commands sent.
 * Medians over the rounds; the ratios are replica ÷ primary of the same run.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startReplicated } from '../scripts/harness/redis-sentinel.ts';
import { createCatalog } from '../src/engine/catalog.ts';
import type { Alert } from '../src/engine/types.ts';
import { createLogger } from '../src/logger.ts';
import { createPipeline, type Pipeline } from '../src/process/pipeline.ts';
import type { DurabilityMode } from '../src/redis/durability.ts';
import type { WorkerSettings } from '../src/workers/index.ts';
import { benchAlert, compileFiveChecks } from './five-checks.ts';
import {
  commandStats,
  countingHttpServer,
  deadline,
  latencySummary,
  progress,
  round,
  runLimited,
} from './lib.ts';

const ROUNDS = 3;
const ONE_AT_A_TIME = 100;
const STORM_ALERTS = 1000;
const DELIVERIES_PER_ALERT = 5;
const STORM_IN_FLIGHT = 200;
const STORM_DEADLINE_MS = 120_000;
/** Storm incidents/s with the replica wait at least this share of primary mode's, same run. */
const TARGET_THROUGHPUT_RATIO = 0.9;
const SETTINGS: WorkerSettings = {
  diagnosticConcurrency: 50,
  remediationRatePerMinute: 1000,
  remediationConcurrency: 5,
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** A pipeline in `mode` with workers, and when each incident's decision arrived. */
async function start(url: string, prefix: string, mode: DurabilityMode, baseUrl: string) {
  const pipeline: Pipeline = createPipeline({
    redisUrl: url,
    prefix,
    catalog: createCatalog([compileFiveChecks(baseUrl)]),
    logger: createLogger({ level: 'silent' }),
    dryRun: false,
    durability: { mode, timeoutMs: 2000 },
  });
  await pipeline.ready();
  await pipeline.startWorkers(SETTINGS);
  const decidedAt = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  const follower = await pipeline.progress.follow(null, '0', (e) => {
    if (e.type !== 'decision.made' || decidedAt.has(e.incidentId)) return;
    const at = performance.now();
    decidedAt.set(e.incidentId, at);
    waiters.get(e.incidentId)?.(at);
  });
  const decided = (id: string) =>
    decidedAt.has(id)
      ? Promise.resolve(decidedAt.get(id) as number)
      : new Promise<number>((resolve) => waiters.set(id, resolve));
  /** The alert route's work before its 2xx; throws when the API would answer 503. */
  const deliver = async (a: Alert) => {
    const outcomes = await pipeline.intake(a);
    const durable = await pipeline.deps.durability.confirm();
    if (!durable.ok) throw new Error(`a delivery would have been answered 503: ${durable.reason}`);
    return outcomes;
  };
  return {
    pipeline,
    decidedAt,
    decided,
    deliver,
    async close() {
      await follower.stop();
      await pipeline.close(10_000);
    },
  };
}

async function oneRound(url: string, admin: Redis, baseUrl: string, mode: DurabilityMode, r: number) {
  const waitsBefore = (await commandStats(admin)).wait?.calls ?? 0;
  const f = await start(url, `bench-d${r}${mode[0]}`, mode, baseUrl);
  try {
    const ack: number[] = [];
    const toDecision: number[] = [];
    for (let i = 0; i < ONE_AT_A_TIME; i++) {
      const t0 = performance.now();
      const [o] = await f.deliver(benchAlert(`o${i}`, `d${r}${mode}-o${i}`));
      ack.push(performance.now() - t0);
      if (o?.outcome !== 'opened') throw new Error(`alert ${i}: ${JSON.stringify(o)}`);
      toDecision.push((await Promise.race([f.decided(o.incidentId), deadline(10_000, 'a decision')])) - t0);
    }
    const deliveries = Array.from({ length: STORM_ALERTS }, (_, i) =>
      benchAlert(`s${i}`, `d${r}${mode}-s${i}`),
    ).flatMap((a) => Array.from({ length: DELIVERIES_PER_ALERT }, () => a));
    const stormAck: number[] = [];
    const opened: string[] = [];
    const t0 = performance.now();
    await Promise.race([
      runLimited(deliveries, STORM_IN_FLIGHT, async (a) => {
        const t = performance.now();
        for (const o of await f.deliver(a)) if (o.outcome === 'opened') opened.push(o.incidentId);
        stormAck.push(performance.now() - t);
      }),
      deadline(STORM_DEADLINE_MS, 'storm deliveries'),
    ]);
    const deliveriesMs = performance.now() - t0;
    const last = Math.max(
      ...(await Promise.race([
        Promise.all(opened.map((id) => f.decided(id))),
        deadline(STORM_DEADLINE_MS, 'storm decisions'),
      ])),
    );
    if (opened.length !== STORM_ALERTS) throw new Error(`storm opened ${opened.length} of ${STORM_ALERTS}`);
    const waits = ((await commandStats(admin)).wait?.calls ?? 0) - waitsBefore;
    return {
      oneAtATime: { ack: latencySummary(ack), toDecision: latencySummary(toDecision) },
      storm: {
        ack: latencySummary(stormAck),
        deliveriesPerSec: round(deliveries.length / (deliveriesMs / 1000), 1),
        incidentsPerSec: round(STORM_ALERTS / ((last - t0) / 1000), 1),
      },
      waitCommands: waits,
    };
  } finally {
    await f.close();
  }
}

export async function durabilityBench() {
  const pair = await startReplicated(1);
  progress(`primary ${pair.primary.url}, replica ${pair.replicas[0]?.url}`);
  const server = await countingHttpServer();
  const admin = new Redis(pair.primary.url, { maxRetriesPerRequest: null });
  try {
    const rounds: Record<DurabilityMode, Awaited<ReturnType<typeof oneRound>>[]> = {
      primary: [],
      replica: [],
    };
    for (let r = 0; r < ROUNDS; r++)
      for (const mode of ['primary', 'replica'] as const) {
        progress(`round ${r + 1}/${ROUNDS}, FIRELINE_DURABILITY=${mode}`);
        rounds[mode].push(await oneRound(pair.primary.url, admin, server.url, mode, r));
        await admin.flushall();
      }
    const of = (mode: DurabilityMode, pick: (x: (typeof rounds)['primary'][number]) => number) =>
      round(median(rounds[mode].map(pick)));
    const figure = (pick: (x: (typeof rounds)['primary'][number]) => number) => {
      const primary = of('primary', pick);
      const replica = of('replica', pick);
      return { primary, replica, ratio: round(replica / primary) };
    };
    const throughput = figure((x) => x.storm.incidentsPerSec);
    const result = {
      benchmark: 'pipeline-durability',
      topology: 'one primary, one replica, loopback, nothing on disk',
      rounds: ROUNDS,
      oneAtATime: {
        n: ONE_AT_A_TIME,
        ackP50Ms: figure((x) => x.oneAtATime.ack.p50Ms),
        ackP99Ms: figure((x) => x.oneAtATime.ack.p99Ms),
        decisionP50Ms: figure((x) => x.oneAtATime.toDecision.p50Ms),
      },
      storm: {
        alerts: STORM_ALERTS,
        deliveries: STORM_ALERTS * DELIVERIES_PER_ALERT,
        inFlight: STORM_IN_FLIGHT,
        ackP50Ms: figure((x) => x.storm.ack.p50Ms),
        ackP99Ms: figure((x) => x.storm.ack.p99Ms),
        deliveriesPerSec: figure((x) => x.storm.deliveriesPerSec),
        incidentsPerSec: { ...throughput, targetRatio: TARGET_THROUGHPUT_RATIO },
        meets: throughput.ratio >= TARGET_THROUGHPUT_RATIO,
      },
      /** WAIT commands per round (one-at-a-time + storm): group commit shares them. */
      waitCommands: {
        primary: rounds.primary.map((x) => x.waitCommands),
        replica: rounds.replica.map((x) => x.waitCommands),
      },
      rawRounds: rounds,
    };
    process.stderr.write(
      [
        '',
        'durability bench (median of rounds)   primary      replica     ratio',
        `one at a time: 2xx p50              ${result.oneAtATime.ackP50Ms.primary} ms     ${result.oneAtATime.ackP50Ms.replica} ms    ${result.oneAtATime.ackP50Ms.ratio}×`,
        `one at a time: decision p50         ${result.oneAtATime.decisionP50Ms.primary} ms     ${result.oneAtATime.decisionP50Ms.replica} ms    ${result.oneAtATime.decisionP50Ms.ratio}×`,
        `storm: 2xx p50 / p99                ${result.storm.ackP50Ms.primary} / ${result.storm.ackP99Ms.primary} ms   ${result.storm.ackP50Ms.replica} / ${result.storm.ackP99Ms.replica} ms`,
        `storm: deliveries/s                 ${result.storm.deliveriesPerSec.primary}       ${result.storm.deliveriesPerSec.replica}      ${result.storm.deliveriesPerSec.ratio}×`,
        `storm: incidents/s                  ${throughput.primary}       ${throughput.replica}      ${throughput.ratio}× (≥ ${TARGET_THROUGHPUT_RATIO}× ${result.storm.meets ? 'ok' : 'MISSED'})`,
        '',
      ].join('\n'),
    );
    return result;
  } finally {
    admin.disconnect();
    await server.close();
    await pair.stop();
  }
}
