import { InvariantError } from '../errors.ts';
import {
  type Chart,
  type ChartMarker,
  type ChartMarkerKind,
  type ChartSeries,
  type ChartThreshold,
  clipText,
  MAX_MARKER_LABEL,
  MAX_NAME_CHARS,
  MAX_POINTS,
  MAX_QUERY_CHARS,
  MAX_REASON_CHARS,
  MAX_SERIES,
  oneLine,
} from './chart-types.ts';
import type { EventType } from './types.ts';

/**
 * Metric charts for diagnostics (issue 14): the window of a Prometheus range query around the
 * alert, the chart built from its result matrix, and the incident's moments to mark on it. Pure:
 * the worker runs the query and stores `encodeChart(chart)`; `chart-svg.ts` draws it.
 */

export { decodeChart, encodeChart } from './chart-encode.ts';
export { thresholdsFromInterpret } from './chart-interpret.ts';
export type {
  Chart,
  ChartLevel,
  ChartMarker,
  ChartMarkerKind,
  ChartSeries,
  ChartThreshold,
} from './chart-types.ts';
export { MAX_POINTS, MAX_SERIES, MAX_STORED_BYTES } from './chart-types.ts';

const SECOND_MS = 1_000;
/** How much of the time before the alert to show: enough to see the metric turn. */
const DEFAULT_LEAD_MS = 30 * 60_000;

/** The grid a chart is drawn on: unix ms of the first and last point, and the step between. */
export interface ChartWindow {
  from: number;
  to: number;
  step: number;
}

/**
 * The range query's window: from `windowMs` (by default 30 minutes) before the alert started to
 * `now`. The step is a whole number of seconds (Prometheus' unit), at least
 * the window / (MAX_POINTS - 1) so the grid never has more than MAX_POINTS points; a smaller
 * `stepMs` is raised to that. `from` is aligned down to a multiple of the step so that the grid is
 * exactly Prometheus' evaluation times for `start=from&end=to&step=step`, and `to` is the last
 * grid point at or before `now`.
 */
export function chartWindow(opts: {
  alertStartedAt: number;
  now: number;
  windowMs?: number;
  stepMs?: number;
}): ChartWindow {
  const { now } = opts;
  if (!Number.isFinite(now) || !Number.isFinite(opts.alertStartedAt)) {
    throw new InvariantError(`chartWindow: times must be finite (now ${now}, alert ${opts.alertStartedAt})`);
  }
  // An alert stamped in the future (clock skew at the source) is treated as starting now.
  const alertAt = Math.min(opts.alertStartedAt, now);
  const rawFrom = alertAt - Math.max(0, opts.windowMs ?? DEFAULT_LEAD_MS);
  const minStep = Math.max(SECOND_MS, ceilTo((now - rawFrom) / (MAX_POINTS - 1), SECOND_MS));
  const asked =
    opts.stepMs !== undefined && Number.isFinite(opts.stepMs) ? ceilTo(opts.stepMs, SECOND_MS) : 0;
  const step = Math.max(minStep, asked);
  // Aligning down adds less than one step, and the step covers span / (MAX_POINTS - 1): the grid
  // from the aligned start to now still has at most MAX_POINTS points.
  const from = Math.floor(rawFrom / step) * step;
  return { from, to: from + Math.floor((now - from) / step) * step, step };
}

function ceilTo(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

/** A window as a grid of `count` points; a window that is not one (from chartWindow) is a bug. */
function gridOf(window: ChartWindow): ChartWindow & { count: number } {
  const { from, to, step } = window;
  const ok = Number.isFinite(from) && Number.isFinite(to) && step > 0 && to >= from;
  const count = ok ? Math.floor((to - from) / step) + 1 : 0;
  if (!ok || count > MAX_POINTS) {
    throw new InvariantError(
      `chart window ${from}..${to} step ${step} is not a grid of ≤ ${MAX_POINTS} points`,
    );
  }
  return { from, step, to: from + (count - 1) * step, count };
}

type ChartKind = Chart['kind'];

/** One series of a Prometheus range query result (`resultType: matrix`), values as numbers. */
export interface MatrixSeries {
  labels: Record<string, string>;
  /** `[unix seconds (may be fractional), value]`; the value may be NaN or ±Inf. */
  values: [number, number][];
}

/**
 * The chart of a range query's matrix. Each sample goes to the nearest grid point (the latest of
 * equally near ones); grid points without one, and NaN/±Inf samples, are gaps (`null`). Only the
 * MAX_SERIES series that peak highest are kept — in an incident the worst series is the one to
 * see — ties by name, series with no finite value last; `omittedSeries` counts the rest. A matrix
 * with no finite sample in the window is a chart with `missing` set.
 */
export function chartFromMatrix(input: {
  kind: ChartKind;
  query: string;
  window: ChartWindow;
  matrix: MatrixSeries[];
  thresholds: ChartThreshold[];
}): Chart {
  const grid = gridOf(input.window);
  const names = seriesNames(input.matrix, input.query);
  const all = input.matrix.map((m, i) => {
    const points = alignToGrid(m.values, grid);
    const finite = points.filter((p): p is number => p !== null);
    return { name: names[i] ?? '', points, peak: finite.length ? Math.max(...finite) : null };
  });
  const base = {
    v: 1 as const,
    kind: input.kind,
    query: clipText(input.query, MAX_QUERY_CHARS),
    from: grid.from,
    step: grid.step,
    to: grid.to,
    thresholds: cleanThresholds(input.thresholds),
  };
  if (all.every((s) => s.peak === null)) {
    return { ...base, series: [], omittedSeries: 0, missing: 'no samples in the window' };
  }
  const ranked = [...all].sort((a, b) => {
    if (a.peak !== b.peak) {
      if (a.peak === null) return 1;
      if (b.peak === null) return -1;
      return b.peak - a.peak;
    }
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  const series: ChartSeries[] = ranked.slice(0, MAX_SERIES).map(({ name, points }) => ({ name, points }));
  return { ...base, series, omittedSeries: all.length - series.length };
}

/** A chart that says why there is nothing to draw (the range query failed, the source is down…). */
export function missingChart(input: {
  kind: ChartKind;
  query: string;
  window: ChartWindow;
  thresholds: ChartThreshold[];
  reason: string;
}): Chart {
  const grid = gridOf(input.window);
  return {
    v: 1,
    kind: input.kind,
    query: clipText(input.query, MAX_QUERY_CHARS),
    from: grid.from,
    step: grid.step,
    to: grid.to,
    series: [],
    omittedSeries: 0,
    thresholds: cleanThresholds(input.thresholds),
    missing: clipText(input.reason, MAX_REASON_CHARS),
  };
}

function alignToGrid(values: [number, number][], grid: { from: number; step: number; count: number }) {
  const points: (number | null)[] = new Array(grid.count).fill(null);
  const distance: number[] = new Array(grid.count).fill(Number.POSITIVE_INFINITY);
  for (const [seconds, value] of values) {
    const at = seconds * SECOND_MS;
    const i = Math.round((at - grid.from) / grid.step);
    if (!(i >= 0 && i < grid.count)) continue; // outside the window (or a NaN time)
    const d = Math.abs(at - (grid.from + i * grid.step));
    if (d > distance[i]!) continue;
    distance[i] = d;
    points[i] = Number.isFinite(value) ? value : null;
  }
  return points;
}

/**
 * Legend names. One series: its metric name, or its labels when it has any. Several: their labels
 * without `__name__` (the query already says which metric), unless two would then read the same;
 * the labels that tell them apart first, so that a clipped legend still shows them. A series with
 * no label besides `__name__` is named by it, or by the query.
 */
function seriesNames(matrix: MatrixSeries[], query: string): string[] {
  const first = matrix[0]?.labels ?? {};
  const shared = (k: string) => matrix.length > 1 && matrix.every((m) => m.labels[k] === first[k]);
  const name = (labels: Record<string, string>, withMetric: boolean) => {
    const metric = labels.__name__;
    const keys = Object.keys(labels)
      .filter((k) => k !== '__name__')
      .sort((a, b) => Number(shared(a)) - Number(shared(b)) || (a < b ? -1 : a > b ? 1 : 0));
    if (keys.length === 0) return clipText(metric || query, MAX_NAME_CHARS);
    const body = `{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
    return clipText(withMetric && metric ? `${metric}${body}` : body, MAX_NAME_CHARS);
  };
  const single = matrix.length === 1;
  const plain = matrix.map((m) => name(m.labels, single));
  if (new Set(plain).size === plain.length) return plain;
  return matrix.map((m) => name(m.labels, true));
}

function cleanThresholds(thresholds: ChartThreshold[]): ChartThreshold[] {
  return thresholds
    .filter((t) => Number.isFinite(t.value))
    .map(({ level, op, value, source }) => ({ level, op, value, source }));
}

// ── markers ──────────────────────────────────────────────────────────────────────────────────

/** Timeline events drawn on the chart; `satisfies` keeps the names those of EVENT_TYPES. */
const MARKER_EVENTS = {
  'remediation.started': { kind: 'remediation_started', words: 'started' },
  'remediation.succeeded': { kind: 'remediation_finished', words: 'succeeded' },
  'remediation.failed': { kind: 'remediation_finished', words: 'failed' },
  // A step whose result we could not learn, or a dry run, has finished all the same.
  'remediation.outcome_unknown': { kind: 'remediation_finished', words: 'outcome unknown' },
  'remediation.dry_run': { kind: 'remediation_finished', words: 'dry run' },
  'remediation.verified': { kind: 'verify', words: 'verified' },
} satisfies Partial<Record<EventType, { kind: ChartMarkerKind; words: string }>>;

/**
 * The incident's moments to draw on its chart: the alert start, the incident opening, and the
 * remediation steps' start, end and verification from the timeline, in time order. Times that do
 * not parse are left out (a marker is decoration, never a reason to fail).
 */
export function chartMarkers(input: {
  alertStartedAt: string | undefined;
  incidentCreatedAt: string;
  events: readonly { type: string; at: string; message: string; data?: Record<string, unknown> }[];
}): ChartMarker[] {
  const markers: ChartMarker[] = [];
  const add = (at: string | undefined, kind: ChartMarkerKind, label: string) => {
    const ms = at === undefined ? Number.NaN : Date.parse(at);
    if (Number.isFinite(ms)) markers.push({ at: ms, kind, label: markerLabel(label) });
  };
  add(input.alertStartedAt, 'alert_started', 'alert started');
  add(input.incidentCreatedAt, 'incident_opened', 'incident opened');
  for (const event of input.events) {
    if (!Object.hasOwn(MARKER_EVENTS, event.type)) continue;
    const { kind, words } = MARKER_EVENTS[event.type as keyof typeof MARKER_EVENTS];
    const stepId =
      typeof event.data?.stepId === 'string' && event.data.stepId ? event.data.stepId : 'remediation';
    const healthy = event.data?.healthy;
    const verdict =
      kind !== 'verify' || typeof healthy !== 'boolean' ? '' : healthy ? ' healthy' : ' unhealthy';
    const tail = ` ${words}${verdict}`;
    add(event.at, kind, `${clipText(oneLine(stepId), MAX_MARKER_LABEL - tail.length)}${tail}`);
  }
  // Array.prototype.sort is stable: moments at the same time keep the order above.
  return markers.sort((a, b) => a.at - b.at);
}

/** At most MAX_MARKER_LABEL characters on one line (a long step id is cut, not the words after it). */
function markerLabel(text: string): string {
  return clipText(oneLine(text), MAX_MARKER_LABEL);
}
