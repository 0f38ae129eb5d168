/**
 * What `npm run bench` (bench/all.ts) makes of the four benches' JSON: the ratios to the same-run
 * baselines (hand-written JS, raw BullMQ, a bare node:http API, the in-process executor), issue
 * 13's targets with the figure, its baseline, the ratio and whether it is met, and the readable
 * table. Only the fields read here are typed; a bench that produced nothing is `null` and its
 * figures show as "–".
 */
import { round } from './lib.ts';

interface Latency {
  p50Ms: number;
  p99Ms: number;
}

/** The fields of bench/engine.ts's JSON read here. */
export interface EngineResult {
  opsPerSec: { median: number };
  handWritten: { opsPerSec: { median: number } };
  /** Engine CPU time per op ÷ the hand-written one's. */
  ratio: number;
  targetRatio: number;
  meetsTarget: boolean;
}

/** A figure per incident of the storm and of the raw flow, and their ratio to a target. */
interface VsRaw {
  ratio: number;
  targetRatio: number;
}

/** The fields of bench/pipeline.ts's JSON read here. */
export interface PipelineResult {
  overhead: { fireline: Latency; rawBullmq: Latency; ratioP50: number; targetRatio: number; meets: boolean };
  storm: {
    alerts: number;
    incidents: number;
    exact: boolean;
    incidentsPerSec: number;
    rawBullmqFlowsPerSec: number;
    throughputRatio: number;
    targetThroughputRatio: number;
    cpuMsPerIncident: VsRaw & {
      fireline: { nodeMs: number; redisMs: number; totalMs: number };
      rawBullmq: { nodeMs: number; redisMs: number; totalMs: number };
    };
    redisCommandsPerIncident: VsRaw & { fireline: number; rawBullmq: number };
    peakRssMb: number;
    targetRssMb: number;
    redisBytesPerIncident: number;
    targetBytes: number;
    meets: {
      incidentsPerSec: boolean;
      cpuPerIncident: boolean;
      redisCommandsPerIncident: boolean;
      peakRss: boolean;
      redisBytes: boolean;
    };
  };
  /** Issue 14 (bench/chart-cost.ts); absent in runs from before it. */
  charts?: {
    bytesPerIncident: ChartSide;
    p50Ms: ChartSide;
  };
}

/** A figure with a metric step's chart on and off. */
interface ChartSide {
  on: number;
  off: number;
  ratio: number;
  targetRatio: number;
  meets: boolean;
}

/** The fields of bench/ingest.ts's JSON read here. */
export interface IngestResult {
  reqPerSec: number;
  latencyMs: { p50: number; p99: number };
  accepted: number;
  incidents: number;
  exact: boolean;
  targets: { reqPerSec: number; p99Ms: number; apiCpuRatio: number };
  meets: { reqPerSec: boolean; p99Ms: boolean; apiCpu: boolean };
  apiCpuMsPerAlert: {
    fireline: number;
    baseline: number;
    ratio: number;
    targetRatio: number;
    firelineWithWorker: number;
    ratioWithWorker: number;
  };
  baseline: { reqPerSec: number; latencyMs: { p99: number } };
  detail: { apiAlone: { reqPerSec: number; latencyMs: { p99: number } } };
}

/** The fields of bench/in-process.ts's JSON read here. */
export interface InProcessResult {
  latency: Latency & { cpuMsPerIncident: number };
  throughput: { incidentsPerSec: number; cpuMsPerIncident: number; latencyUnderLoad: Latency };
}

/** The fields of bench/history-stats.ts's JSON read here (issue 15). */
export interface HistoryResult {
  incidents: number;
  allRunbooks: { medianMs: number; p90Ms: number; vsBaseline: number };
  oneRunbook: { medianMs: number };
  baseline: { medianMs: number };
  targetMs: number;
  meetsTarget: boolean;
}

/** The fields of bench/history-cost.ts's JSON read here (issue 15). */
export interface HistoryCostResult {
  off: { median: number };
  postgres: { median: number };
  pglite: { median: number };
  ratio: { postgres: number; pglite: number };
  target: { ratio: number; meets: boolean };
}

/** The fields of bench/durability.ts's JSON read here (issue 16). */
export interface DurabilityResult {
  oneAtATime: { ackP50Ms: { primary: number; replica: number; ratio: number } };
  storm: {
    ackP50Ms: { primary: number; replica: number; ratio: number };
    incidentsPerSec: { primary: number; replica: number; ratio: number; targetRatio: number };
    meets: boolean;
  };
}

/** Each bench's JSON, or null when it produced none. */
export interface BenchResults {
  engine: EngineResult | null;
  pipeline: PipelineResult | null;
  ingest: IngestResult | null;
  inProcess: InProcessResult | null;
  /** Absent in runs from before issue 15. */
  history?: HistoryResult | null;
  historyCost?: HistoryCostResult | null;
  /** Absent in runs from before issue 16. */
  durability?: DurabilityResult | null;
}

const ratio = (a: number | undefined, b: number | undefined): number | null =>
  a === undefined || b === undefined || b === 0 ? null : round(a / b);

/** Fireline's figures over the baselines' (and the ingest figures over issue 4's absolute goals). */
export function ratiosOf({ engine: e, pipeline: p, ingest: i, inProcess: ip }: BenchResults) {
  const stormCpu = p?.storm.cpuMsPerIncident.fireline.totalMs;
  return {
    /** Engine CPU time per op over the hand-written JS's (hand-written ops/s ÷ the engine's). */
    engineVsHandWritten: e?.ratio ?? null,
    pipelineVsRawBullmqP50: ratio(p?.overhead.fireline.p50Ms, p?.overhead.rawBullmq.p50Ms),
    pipelineVsRawBullmqP99: ratio(p?.overhead.fireline.p99Ms, p?.overhead.rawBullmq.p99Ms),
    pipelineVsInProcessP50: ratio(p?.overhead.fireline.p50Ms, ip?.latency.p50Ms),
    pipelineVsInProcessP99: ratio(p?.overhead.fireline.p99Ms, ip?.latency.p99Ms),
    rawBullmqVsInProcessP50: ratio(p?.overhead.rawBullmq.p50Ms, ip?.latency.p50Ms),
    stormVsRawBullmqThroughput: p?.storm.throughputRatio ?? null,
    stormVsInProcessThroughput: ratio(p?.storm.incidentsPerSec, ip?.throughput.incidentsPerSec),
    /** Node + Redis CPU per storm incident over the raw flow's, and over the in-process CPU. */
    stormCpuVsRawBullmq: p?.storm.cpuMsPerIncident.ratio ?? null,
    stormCpuVsInProcess: ratio(stormCpu, ip?.throughput.cpuMsPerIncident),
    /** Redis commands per storm incident over the raw flow's (INFO commandstats deltas). */
    stormRedisCommandsVsRawBullmq: p?.storm.redisCommandsPerIncident.ratio ?? null,
    /** API process CPU per accepted alert, each API alone: Fireline's over the bare node:http one's. */
    ingestApiCpuVsBaseline: i?.apiCpuMsPerAlert.ratio ?? null,
    /** The same with the worker running during Fireline's measured phase. */
    ingestApiCpuWithWorkerVsBaseline: i?.apiCpuMsPerAlert.ratioWithWorker ?? null,
    /** Alerts/s of each API alone under the same load: Fireline's over the baseline's. */
    ingestApiAloneReqPerSecVsBaseline: ratio(i?.detail.apiAlone.reqPerSec, i?.baseline.reqPerSec),
    ingestReqPerSecVsTarget: ratio(i?.reqPerSec, i?.targets.reqPerSec),
    ingestP99VsTarget: ratio(i?.latencyMs.p99, i?.targets.p99Ms),
    /** Alerts accepted per second over the incidents per second the seed's blocking request could finish. */
    ingestVsInProcessThroughput: ratio(i?.reqPerSec, ip?.throughput.incidentsPerSec),
    /** Ingest p99 over the seed's request latency at the same 50 in flight. */
    ingestP99VsInProcessLoadedP99: ratio(i?.latencyMs.p99, ip?.throughput.latencyUnderLoad.p99Ms),
  };
}

/** One of issue 13's targets: the figure, its same-run baseline, the ratio, the target, met or not. */
export interface TargetCheck {
  figure: string;
  measured: number | null;
  /** The same-run baseline's figure; null for an absolute target. */
  baseline: number | null;
  baselineIs: string | null;
  /** measured ÷ baseline (the engine: CPU time per op ÷ the baseline's); null for an absolute target. */
  ratio: number | null;
  /** `≤ 1.5×` for a ratio, `≤ 300 MB` for an absolute target. */
  target: string;
  met: boolean | null;
}

/** Issue 13's targets, each with its figure and baseline of this run. */
export function targetsOf({
  engine: e,
  pipeline: p,
  ingest: i,
  history: h,
  historyCost: hc,
  durability: d,
}: BenchResults) {
  const s = p?.storm;
  const cpu = s?.cpuMsPerIncident;
  const alerts = (s?.alerts ?? 2000).toLocaleString('en-US');
  const checks = {
    engine: {
      figure: 'engine judge × 5 + decide, ops/s of CPU time (ratio: time per op)',
      measured: e?.opsPerSec.median ?? null,
      baseline: e?.handWritten.opsPerSec.median ?? null,
      baselineIs: 'the payment runbook hand-written in plain JS',
      ratio: e?.ratio ?? null,
      target: `≤ ${e?.targetRatio ?? 10}×`,
      met: e?.meetsTarget ?? null,
    },
    pipelineP50: {
      figure: 'pipeline intake → decision.made p50 (ms)',
      measured: p?.overhead.fireline.p50Ms ?? null,
      baseline: p?.overhead.rawBullmq.p50Ms ?? null,
      baselineIs: 'raw BullMQ flow of the same shape',
      ratio: p?.overhead.ratioP50 ?? null,
      target: `≤ ${p?.overhead.targetRatio ?? 1.5}×`,
      met: p?.overhead.meets ?? null,
    },
    stormIncidents: {
      figure: `storm incidents from ${alerts} alerts × 5 deliveries`,
      measured: s?.incidents ?? null,
      baseline: null,
      baselineIs: null,
      ratio: null,
      target: `= ${alerts}`,
      met: s?.exact ?? null,
    },
    stormThroughput: {
      figure: 'storm incidents/s (workers in one process)',
      measured: s?.incidentsPerSec ?? null,
      baseline: s?.rawBullmqFlowsPerSec ?? null,
      baselineIs: 'raw BullMQ flows/s, same shape, same in-flight limit',
      ratio: s?.throughputRatio ?? null,
      target: `≥ ${s?.targetThroughputRatio ?? 0.75}×`,
      met: s?.meets.incidentsPerSec ?? null,
    },
    stormCpu: {
      figure: 'storm CPU ms per incident, Node + Redis',
      measured: cpu?.fireline.totalMs ?? null,
      baseline: cpu?.rawBullmq.totalMs ?? null,
      baselineIs: 'per raw BullMQ flow',
      ratio: cpu?.ratio ?? null,
      target: `≤ ${cpu?.targetRatio ?? 1.5}×`,
      met: s?.meets.cpuPerIncident ?? null,
    },
    stormRedisCommands: {
      figure: 'storm Redis commands per incident',
      measured: s?.redisCommandsPerIncident.fireline ?? null,
      baseline: s?.redisCommandsPerIncident.rawBullmq ?? null,
      baselineIs: 'per raw BullMQ flow',
      ratio: s?.redisCommandsPerIncident.ratio ?? null,
      target: `≤ ${s?.redisCommandsPerIncident.targetRatio ?? 1.5}×`,
      met: s?.meets.redisCommandsPerIncident ?? null,
    },
    stormPeakRss: {
      figure: 'storm peak RSS (MB)',
      measured: s?.peakRssMb ?? null,
      baseline: null,
      baselineIs: null,
      ratio: null,
      target: `≤ ${s?.targetRssMb ?? 300} MB`,
      met: s?.meets.peakRss ?? null,
    },
    stormRedisBytes: {
      figure: 'storm Redis bytes per finished incident',
      measured: s?.redisBytesPerIncident ?? null,
      baseline: null,
      baselineIs: null,
      ratio: null,
      target: `≤ ${(s?.targetBytes ?? 12_288).toLocaleString('en-US')}`,
      met: s?.meets.redisBytes ?? null,
    },
    ingestApiCpu: {
      figure: 'ingest API CPU ms per accepted alert (API alone)',
      measured: i?.apiCpuMsPerAlert.fireline ?? null,
      baseline: i?.apiCpuMsPerAlert.baseline ?? null,
      baselineIs: 'bare node:http API, same Redis calls, same load',
      ratio: i?.apiCpuMsPerAlert.ratio ?? null,
      target: `≤ ${i?.apiCpuMsPerAlert.targetRatio ?? 1.5}×`,
      met: i?.meets.apiCpu ?? null,
    },
    chartBytes: {
      figure: 'Redis bytes per finished incident with a metric step charted',
      measured: p?.charts?.bytesPerIncident.on ?? null,
      baseline: p?.charts?.bytesPerIncident.off ?? null,
      baselineIs: 'the same runbook with chart: false, same run',
      ratio: p?.charts?.bytesPerIncident.ratio ?? null,
      target: `≤ ${p?.charts?.bytesPerIncident.targetRatio ?? 1.1}×`,
      met: p?.charts?.bytesPerIncident.meets ?? null,
    },
    chartP50: {
      figure: 'intake → decision.made p50 (ms) with a metric step charted',
      measured: p?.charts?.p50Ms.on ?? null,
      baseline: p?.charts?.p50Ms.off ?? null,
      baselineIs: 'the same runbook with chart: false, incidents alternating',
      ratio: p?.charts?.p50Ms.ratio ?? null,
      target: `≤ ${p?.charts?.p50Ms.targetRatio ?? 1.1}×`,
      met: p?.charts?.p50Ms.meets ?? null,
    },
    historyStats: {
      figure: `history statistics of every runbook, ${(h?.incidents ?? 100_000).toLocaleString('en-US')} incidents, median ms`,
      measured: h?.allRunbooks.medianMs ?? null,
      baseline: h?.baseline.medianMs ?? null,
      baselineIs: 'SELECT count(*) of the same incidents, same server',
      ratio: h?.allRunbooks.vsBaseline ?? null,
      target: `≤ ${h?.targetMs ?? 200} ms`,
      met: h?.meetsTarget ?? null,
    },
    historyCost: {
      figure: 'storm incidents/s with the history on PostgreSQL (median of 3)',
      measured: hc?.postgres.median ?? null,
      baseline: hc?.off.median ?? null,
      baselineIs: 'the same storm with the history off, interleaved, same run',
      ratio: hc?.ratio.postgres ?? null,
      target: `≥ ${hc?.target.ratio ?? 0.95}×`,
      met: hc?.target.meets ?? null,
    },
    durability: {
      figure: 'storm incidents/s with FIRELINE_DURABILITY=replica (median of 3)',
      measured: d?.storm.incidentsPerSec.replica ?? null,
      baseline: d?.storm.incidentsPerSec.primary ?? null,
      baselineIs: 'the same storm in primary mode on the same primary + replica, interleaved, same run',
      ratio: d?.storm.incidentsPerSec.ratio ?? null,
      target: `≥ ${d?.storm.incidentsPerSec.targetRatio ?? 0.9}×`,
      met: d?.storm.meets ?? null,
    },
  } satisfies Record<string, TargetCheck>;
  return checks;
}

/** Per bench: how long it ran and how busy the machine was meanwhile (from bench/all.ts). */
export interface RunInfo {
  wallMs: number;
  loadavg1: { start: number; max: number; end: number };
  machineCpuBusyPct: number;
  benchCpuSec: number | null;
  othersCpuPct: number | null;
  stealPct: number;
  error?: string;
}

const show = (x: number | string | null | undefined, unit = ''): string =>
  x === null || x === undefined ? '–' : `${typeof x === 'number' ? x.toLocaleString('en-US') : x}${unit}`;
const met = (b: boolean | null | undefined): string =>
  b === null || b === undefined ? '–' : b ? 'yes' : 'NO';
const times = (x: number | null): string => (x === null ? '–' : `${x}×`);

/** The table bench/all.ts prints on stderr: the targets first, then figures with no target. */
export function tableOf(
  r: BenchResults,
  ratios: ReturnType<typeof ratiosOf>,
  targets: ReturnType<typeof targetsOf>,
  runs: Record<string, RunInfo>,
): string {
  const { pipeline: p, ingest: i, inProcess: ip } = r;
  const t = targets;
  const split = (x: { nodeMs: number; redisMs: number } | undefined) =>
    x ? `${x.nodeMs} + ${x.redisMs}` : '–';
  const cpu = p?.storm.cpuMsPerIncident;
  const target = (x: TargetCheck, label: string, vsInProcess = '', shown?: [string, string]): string[] => [
    label,
    shown?.[0] ?? show(x.measured),
    shown?.[1] ?? (x.baselineIs === null ? '' : show(x.baseline)),
    x.ratio === null ? '' : times(x.ratio),
    x.target,
    met(x.met),
    vsInProcess,
  ];
  const info = (label: string, measured: string, baseline = '', r: number | null = null, vsIp = '') => [
    label,
    measured,
    baseline,
    r === null ? '' : times(r),
    '',
    '',
    vsIp,
  ];
  const rows: string[][] = [
    ['figure', 'measured', 'baseline (same run)', 'ratio', 'target', 'met', 'vs in-process'],
    target(t.engine, 'engine judge+decide ops/s (CPU; ratio: time/op)'),
    target(t.pipelineP50, 'pipeline intake→decision p50 ms', times(ratios.pipelineVsInProcessP50)),
    info(
      'pipeline intake→decision p99 ms',
      show(p?.overhead.fireline.p99Ms),
      show(p?.overhead.rawBullmq.p99Ms),
      ratios.pipelineVsRawBullmqP99,
      times(ratios.pipelineVsInProcessP99),
    ),
    target(t.stormIncidents, 'storm incidents (2,000 alerts × 5)'),
    target(t.stormThroughput, 'storm incidents/s (raw flows/s)', times(ratios.stormVsInProcessThroughput)),
    target(t.stormCpu, 'storm CPU ms/incident (node + redis)', times(ratios.stormCpuVsInProcess), [
      split(cpu?.fireline),
      split(cpu?.rawBullmq),
    ]),
    target(t.stormRedisCommands, 'storm Redis commands/incident'),
    target(t.stormPeakRss, 'storm peak RSS MB'),
    target(t.stormRedisBytes, 'storm Redis bytes/incident'),
    target(t.ingestApiCpu, 'ingest API CPU ms/alert (API alone)'),
    info(
      '  the same, worker running',
      show(i?.apiCpuMsPerAlert.firelineWithWorker),
      show(i?.apiCpuMsPerAlert.baseline),
      ratios.ingestApiCpuWithWorkerVsBaseline,
    ),
    info(
      'ingest req/s, API alone',
      show(i?.detail.apiAlone.reqPerSec),
      show(i?.baseline.reqPerSec),
      ratios.ingestApiAloneReqPerSecVsBaseline,
    ),
    info(
      'ingest req/s, worker running (1 alert each)',
      show(i?.reqPerSec),
      '',
      null,
      times(ratios.ingestVsInProcessThroughput),
    ),
    info(
      'ingest p99 ms, worker running',
      show(i?.latencyMs.p99),
      '',
      null,
      times(ratios.ingestP99VsInProcessLoadedP99),
    ),
    [
      'ingest accepted = incidents',
      i ? `${i.accepted} = ${i.incidents}` : '–',
      '',
      '',
      'equal',
      met(i?.exact),
      '',
    ],
    info('in-process start→decision p50 / p99 ms', ip ? `${ip.latency.p50Ms} / ${ip.latency.p99Ms}` : '–'),
    info('in-process incidents/s (50 in flight)', show(ip?.throughput.incidentsPerSec)),
    info('in-process p99 ms at 50 in flight', show(ip?.throughput.latencyUnderLoad.p99Ms)),
    target(t.historyStats, 'history stats, all runbooks, median ms'),
    info('history stats, one runbook, median ms', show(r.history?.oneRunbook.medianMs)),
    target(t.historyCost, 'storm incidents/s, history on PostgreSQL / off'),
    info('storm incidents/s, history on PGlite / off', show(r.historyCost?.ratio.pglite)),
    target(t.durability, 'storm incidents/s, durability replica / primary'),
    info('2xx p50 ms one at a time, replica / primary', show(r.durability?.oneAtATime.ackP50Ms.ratio)),
    info('2xx p50 ms in the storm, replica / primary', show(r.durability?.storm.ackP50Ms.ratio)),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  const load = Object.entries(runs).map(
    ([name, run]) =>
      `${name}: ${Math.round(run.wallMs / 1000)} s, 1-min load ${run.loadavg1.start}→max ${run.loadavg1.max}; all CPUs ${run.machineCpuBusyPct}% busy, other processes ${show(run.othersCpuPct, '%')}, steal ${run.stealPct}%; bench CPU ${show(run.benchCpuSec, ' s')}${run.error ? `; ${run.error}` : ''}`,
  );
  return ['', ...lines, '', ...load, ''].join('\n');
}
