/**
 * What `npm run bench` (bench/all.ts) makes of the four benches' JSON: the ratios to the
 * raw-BullMQ and in-process baselines, and the readable table (figure, measured, target, met?).
 * Only the fields read here are typed; a bench that produced nothing is `null` and its figures
 * show as "–".
 */
import { round } from './lib.ts';

interface Latency {
  p50Ms: number;
  p99Ms: number;
}

/** The fields of bench/engine.ts's JSON read here. */
export interface EngineResult {
  opsPerSec: { median: number };
  targetOpsPerSec: number;
  meetsTarget: boolean;
}

/** The fields of bench/pipeline.ts's JSON read here. */
export interface PipelineResult {
  overhead: { fireline: Latency; rawBullmq: Latency; ratioP50: number; targetRatio: number; meets: boolean };
  storm: {
    alerts: number;
    incidents: number;
    exact: boolean;
    incidentsPerSec: number;
    target: number;
    peakRssMb: number;
    targetRssMb: number;
    redisBytesPerIncident: number;
    targetBytes: number;
    meets: { incidentsPerSec: boolean; peakRss: boolean; redisBytes: boolean };
    detail: {
      nodeCpuMsPerIncident: number;
      redisCpuMsPerIncident: number;
      rawBullmqFlowsPerSec: number;
      rawBullmq: { nodeCpuMsPerFlow: number; redisCpuMsPerFlow: number };
    };
  };
}

/** The fields of bench/ingest.ts's JSON read here. */
export interface IngestResult {
  reqPerSec: number;
  latencyMs: { p50: number; p99: number };
  accepted: number;
  incidents: number;
  exact: boolean;
  targets: { reqPerSec: number; p99Ms: number };
  meets: { reqPerSec: boolean; p99Ms: boolean };
}

/** The fields of bench/in-process.ts's JSON read here. */
export interface InProcessResult {
  latency: Latency & { cpuMsPerIncident: number };
  throughput: { incidentsPerSec: number; cpuMsPerIncident: number; latencyUnderLoad: Latency };
}

/** Each bench's JSON, or null when it produced none. */
export interface BenchResults {
  engine: EngineResult | null;
  pipeline: PipelineResult | null;
  ingest: IngestResult | null;
  inProcess: InProcessResult | null;
}

const ratio = (a: number | undefined, b: number | undefined): number | null =>
  a === undefined || b === undefined || b === 0 ? null : round(a / b);

/** Fireline's figures over the baselines' (and the ingest figures over their targets). */
export function ratiosOf({ pipeline: p, ingest: i, inProcess: ip }: BenchResults) {
  const stormCpu = p && p.storm.detail.nodeCpuMsPerIncident + p.storm.detail.redisCpuMsPerIncident;
  const rawCpu = p && p.storm.detail.rawBullmq.nodeCpuMsPerFlow + p.storm.detail.rawBullmq.redisCpuMsPerFlow;
  return {
    pipelineVsRawBullmqP50: ratio(p?.overhead.fireline.p50Ms, p?.overhead.rawBullmq.p50Ms),
    pipelineVsRawBullmqP99: ratio(p?.overhead.fireline.p99Ms, p?.overhead.rawBullmq.p99Ms),
    pipelineVsInProcessP50: ratio(p?.overhead.fireline.p50Ms, ip?.latency.p50Ms),
    pipelineVsInProcessP99: ratio(p?.overhead.fireline.p99Ms, ip?.latency.p99Ms),
    rawBullmqVsInProcessP50: ratio(p?.overhead.rawBullmq.p50Ms, ip?.latency.p50Ms),
    stormVsRawBullmqThroughput: ratio(p?.storm.incidentsPerSec, p?.storm.detail.rawBullmqFlowsPerSec),
    stormVsInProcessThroughput: ratio(p?.storm.incidentsPerSec, ip?.throughput.incidentsPerSec),
    /** Node + Redis CPU per storm incident over the raw flow's, and over the in-process CPU. */
    stormCpuVsRawBullmq: ratio(stormCpu ?? undefined, rawCpu ?? undefined),
    stormCpuVsInProcess: ratio(stormCpu ?? undefined, ip?.throughput.cpuMsPerIncident),
    ingestReqPerSecVsTarget: ratio(i?.reqPerSec, i?.targets.reqPerSec),
    ingestP99VsTarget: ratio(i?.latencyMs.p99, i?.targets.p99Ms),
    /** Alerts accepted per second over the incidents per second the seed's blocking request could finish. */
    ingestVsInProcessThroughput: ratio(i?.reqPerSec, ip?.throughput.incidentsPerSec),
    /** Ingest p99 over the seed's request latency at the same 50 in flight. */
    ingestP99VsInProcessLoadedP99: ratio(i?.latencyMs.p99, ip?.throughput.latencyUnderLoad.p99Ms),
  };
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

const show = (x: number | null | undefined, unit = ''): string =>
  x === null || x === undefined ? '–' : `${x.toLocaleString('en-US')}${unit}`;
const met = (b: boolean | undefined): string => (b === undefined ? '–' : b ? 'yes' : 'NO');
const times = (x: number | null): string => (x === null ? '–' : `${x}×`);

/** The table bench/all.ts prints on stderr. */
export function tableOf(
  r: BenchResults,
  ratios: ReturnType<typeof ratiosOf>,
  runs: Record<string, RunInfo>,
): string {
  const { engine: e, pipeline: p, ingest: i, inProcess: ip } = r;
  const s = p?.storm;
  const rows: string[][] = [
    ['figure', 'measured', 'target', 'met', 'vs raw BullMQ', 'vs in-process'],
    [
      'engine judge+decide ops/s (CPU time)',
      show(e?.opsPerSec.median),
      '≥ 100,000',
      met(e?.meetsTarget),
      '',
      '',
    ],
    [
      'pipeline intake→decision p50',
      show(p?.overhead.fireline.p50Ms, ' ms'),
      '≤ 1.5× raw',
      met(p?.overhead.meets),
      times(ratios.pipelineVsRawBullmqP50),
      times(ratios.pipelineVsInProcessP50),
    ],
    [
      'pipeline intake→decision p99',
      show(p?.overhead.fireline.p99Ms, ' ms'),
      '',
      '',
      times(ratios.pipelineVsRawBullmqP99),
      times(ratios.pipelineVsInProcessP99),
    ],
    [
      '  raw BullMQ flow p50 / p99',
      `${show(p?.overhead.rawBullmq.p50Ms)} / ${show(p?.overhead.rawBullmq.p99Ms)} ms`,
      '',
      '',
      '',
      times(ratios.rawBullmqVsInProcessP50),
    ],
    ['storm incidents (2,000 alerts × 5)', show(s?.incidents), '= 2,000', met(s?.exact), '', ''],
    [
      'storm incidents/s',
      show(s?.incidentsPerSec),
      '≥ 400',
      met(s?.meets.incidentsPerSec),
      times(ratios.stormVsRawBullmqThroughput),
      times(ratios.stormVsInProcessThroughput),
    ],
    [
      'storm CPU ms/incident (node + redis)',
      s ? `${s.detail.nodeCpuMsPerIncident} + ${s.detail.redisCpuMsPerIncident}` : '–',
      '',
      '',
      times(ratios.stormCpuVsRawBullmq),
      times(ratios.stormCpuVsInProcess),
    ],
    ['storm peak RSS', show(s?.peakRssMb, ' MB'), '≤ 300 MB', met(s?.meets.peakRss), '', ''],
    [
      'storm Redis bytes/incident',
      show(s?.redisBytesPerIncident),
      '≤ 20,480',
      met(s?.meets.redisBytes),
      '',
      '',
    ],
    [
      'ingest req/s (1 alert each)',
      show(i?.reqPerSec),
      '≥ 2,000',
      met(i?.meets.reqPerSec),
      '',
      times(ratios.ingestVsInProcessThroughput),
    ],
    [
      'ingest p99',
      show(i?.latencyMs.p99, ' ms'),
      '≤ 50 ms',
      met(i?.meets.p99Ms),
      '',
      times(ratios.ingestP99VsInProcessLoadedP99),
    ],
    [
      'ingest accepted = incidents',
      i ? `${i.accepted} = ${i.incidents}` : '–',
      'equal',
      met(i?.exact),
      '',
      '',
    ],
    [
      'in-process start→decision p50 / p99',
      ip ? `${ip.latency.p50Ms} / ${ip.latency.p99Ms} ms` : '–',
      'baseline',
      '',
      '',
      '',
    ],
    ['in-process incidents/s (50 in flight)', show(ip?.throughput.incidentsPerSec), 'baseline', '', '', ''],
    [
      'in-process p99 at 50 in flight',
      show(ip?.throughput.latencyUnderLoad.p99Ms, ' ms'),
      'baseline',
      '',
      '',
      '',
    ],
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
