/**
 * The data of a metric chart kept with an incident (issue 14). Types and limits only, shared by
 * `chart.ts` (building), `chart-encode.ts` (storage) and `chart-svg.ts` (drawing); they live apart
 * so that those modules import one base instead of each other. Import them from `chart.ts`.
 */

/** The level of an `interpret` rule a threshold line comes from. */
export type ChartLevel = 'critical' | 'warning' | 'healthy';

/** A horizontal line on the chart: where `value op <value>` becomes true. */
export interface ChartThreshold {
  level: ChartLevel;
  /** Seen from the metric's side: `>` means "above `value`". */
  op: '>' | '>=' | '<' | '<=';
  value: number;
  /** `interpret`: read from the step's interpret rule; `runbook`: declared by the author. */
  source: 'interpret' | 'runbook';
}

/**
 * One line of the chart: a value per grid point (`from`, `from + step`, …). `null` is a gap (no
 * sample, or a sample that was NaN or ±Inf), so a drawn line breaks there instead of lying.
 */
export interface ChartSeries {
  name: string;
  points: (number | null)[];
}

/** A small chart of what a query returned around the alert, small enough to keep in the incident. */
export interface Chart {
  v: 1;
  /** `log_count`: a per-minute count of matching log lines. */
  kind: 'metric' | 'log_count';
  /** The query drawn (PromQL or LogQL), for the title and tooltip; untrusted text. */
  query: string;
  /** Unix ms of the first grid point. */
  from: number;
  /** Grid step in ms. */
  step: number;
  /** Unix ms of the last grid point: `from + step * (points.length - 1)`. */
  to: number;
  /** At most MAX_SERIES, highest first; every series has the same number of points (≤ MAX_POINTS). */
  series: ChartSeries[];
  /** How many series the query returned beyond those kept. */
  omittedSeries: number;
  thresholds: ChartThreshold[];
  /** Why there is no data (the range query's failure, or "no samples in the window"). */
  missing?: string;
}

export type ChartMarkerKind =
  | 'alert_started'
  | 'incident_opened'
  | 'remediation_started'
  | 'remediation_finished'
  | 'verify';

/** A moment of the incident drawn as a vertical line across the chart. */
export interface ChartMarker {
  /** Unix ms. */
  at: number;
  kind: ChartMarkerKind;
  /** Short text (≤ MAX_MARKER_LABEL characters); untrusted (may hold a step id). */
  label: string;
}

/** Points per series: enough for a readable line at 720 px, few enough to store. */
export const MAX_POINTS = 240;
/** Series kept per chart; more lines are unreadable anyway. */
export const MAX_SERIES = 5;
/** The stored form's ceiling in UTF-8 bytes: a chart rides along in the incident document. */
export const MAX_STORED_BYTES = 4096;
/** Characters of a series name. */
export const MAX_NAME_CHARS = 80;
/** Characters of the query kept with the chart. */
export const MAX_QUERY_CHARS = 300;
/** Characters of a `missing` reason. */
export const MAX_REASON_CHARS = 200;
/** Characters of a marker label. */
export const MAX_MARKER_LABEL = 40;

/** `text` cut to `max` code points, the last one an ellipsis when cut (never splits a surrogate pair). */
export function clipText(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return max <= 0 ? '' : `${chars.slice(0, max - 1).join('')}…`;
}

/** `text` on one line: runs of whitespace (newlines included) as one space, trimmed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
