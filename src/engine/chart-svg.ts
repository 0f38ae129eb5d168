import { formatCompact, niceTicks, tickLabels, timeTicks, utcTime } from './chart-scale.ts';
import { clip, esc, line, r, text, textWidth } from './chart-svg-text.ts';
import { type Chart, type ChartMarker, type ChartThreshold, clipText, oneLine } from './chart-types.ts';

/**
 * A chart as a self-contained SVG 1.1 document, for the console and for the PNG that resvg makes of
 * it for Slack: so only what both draw the same — presentation attributes, no CSS, no scripts, no
 * external references, `sans-serif` text. Every text from the chart (series names are alert labels,
 * the query and reasons come from outside) is untrusted and XML-escaped. The output depends on the
 * arguments only: no ids, no clock; coordinates are rounded to 0.1 px.
 */

export interface ChartSvgOptions {
  title: string;
  theme: 'light' | 'dark';
  /** Pixels; default 720. */
  width?: number;
  /** Pixels; default 260. */
  height?: number;
}

interface Theme {
  background: string;
  text: string;
  muted: string;
  grid: string;
  axis: string;
  /** Okabe–Ito hues (safe for the common colour-vision deficiencies), lighter on the dark theme. */
  series: readonly string[];
  levels: Record<ChartThreshold['level'], string>;
}

const THEMES: Record<ChartSvgOptions['theme'], Theme> = {
  light: {
    background: '#ffffff',
    text: '#1f2937',
    muted: '#6b7280',
    grid: '#e5e7eb',
    axis: '#9ca3af',
    series: ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9'],
    levels: { critical: '#dc2626', warning: '#d97706', healthy: '#16a34a' },
  },
  dark: {
    background: '#0f172a',
    text: '#e2e8f0',
    muted: '#94a3b8',
    grid: '#1e293b',
    axis: '#475569',
    series: ['#56b4e9', '#e69f00', '#2dd4a7', '#e3a3c7', '#f0e442'],
    levels: { critical: '#f87171', warning: '#fbbf24', healthy: '#4ade80' },
  },
};

const OP_SYMBOL: Record<ChartThreshold['op'], string> = { '>': '>', '>=': '≥', '<': '<', '<=': '≤' };
const PAD = 8;
/** At most this many rows of marker labels, and no more than fill the top third of the plot. */
const MARKER_ROWS = 5;

/** The chart as an SVG document; see the module comment. */
export function renderChartSvg(chart: Chart, markers: ChartMarker[], opts: ChartSvgOptions): string {
  const width = size(opts.width, 720, 240);
  const height = size(opts.height, 260, 160);
  const theme = THEMES[opts.theme];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${esc(oneLine(opts.title))}</title>`,
    `<desc>${esc(`${chartSummary(chart, opts.title)}. Query: ${oneLine(chart.query)}`)}</desc>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="${theme.background}"/>`,
  ];
  const note = chart.omittedSeries > 0 ? `+${chart.omittedSeries} more series` : '';
  if (note) out.push(text(width - PAD, 18, note, { size: 10, fill: theme.muted, anchor: 'end' }));
  const titleRoom = width - 2 * PAD - (note ? textWidth(note, 10) + 12 : 0);
  out.push(text(PAD, 18, clip(opts.title, titleRoom, 13), { size: 13, fill: theme.text, bold: true }));

  if (chart.missing !== undefined || chart.series.length === 0) {
    const message = `No data: ${oneLine(chart.missing ?? 'no series')}`;
    out.push(
      text(width / 2, height / 2, clip(message, width - 4 * PAD, 12), {
        size: 12,
        fill: theme.muted,
        anchor: 'middle',
      }),
    );
    return `${out.join('\n')}\n</svg>\n`;
  }

  const legend = chart.series.length > 1;
  const box = {
    left: 52,
    right: width - (chart.thresholds.length ? 108 : 16),
    top: 30,
    bottom: height - 22 - (legend ? 16 : 0),
  };
  const [lo, hi] = yDomain(chart);
  const y = (v: number) => box.bottom - ((v - lo) / (hi - lo)) * (box.bottom - box.top);
  const span = chart.to - chart.from;
  const x = (t: number) =>
    span > 0 ? box.left + ((t - chart.from) / span) * (box.right - box.left) : (box.left + box.right) / 2;

  const ticks = niceTicks(lo, hi);
  tickLabels(ticks).forEach((label, i) => {
    const at = y(ticks[i]!);
    out.push(line(box.left, at, box.right, at, theme.grid));
    out.push(text(box.left - 6, at + 3.5, label, { size: 10, fill: theme.muted, anchor: 'end' }));
  });
  for (const tick of timeTicks(chart.from, chart.to)) {
    const at = x(tick.at);
    out.push(line(at, box.top, at, box.bottom, theme.grid));
    out.push(text(at, box.bottom + 14, tick.label, { size: 10, fill: theme.muted, anchor: 'middle' }));
  }
  out.push(line(box.left, box.bottom, box.right, box.bottom, theme.axis));
  out.push(line(box.left, box.top, box.left, box.bottom, theme.axis));

  out.push(...thresholdLines(chart.thresholds, y, box, theme));
  out.push(...seriesLines(chart, x, y, theme));
  out.push(...markerLines(markers, chart, x, box, theme));
  if (legend) out.push(...legendItems(chart, box, height - 9, theme));
  return `${out.join('\n')}\n</svg>\n`;
}

type Box = { left: number; right: number; top: number; bottom: number };

/** Each series as polylines broken at its gaps; a lone sample between gaps as a dot. */
function seriesLines(chart: Chart, x: (t: number) => number, y: (v: number) => number, theme: Theme) {
  const out: string[] = [];
  chart.series.forEach((series, i) => {
    const colour = theme.series[i % theme.series.length]!;
    const px = (index: number) => r(x(chart.from + index * chart.step));
    for (const run of runs(series.points)) {
      if (run.length === 1) {
        const [{ index, value }] = run as [{ index: number; value: number }];
        out.push(`<circle cx="${px(index)}" cy="${r(y(value))}" r="1.8" fill="${colour}"/>`);
      } else {
        const points = run.map((p) => `${px(p.index)},${r(y(p.value))}`).join(' ');
        out.push(
          `<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>`,
        );
      }
    }
  });
  return out;
}

/** One swatch and clipped name per series, in equal slots along the bottom. */
function legendItems(chart: Chart, box: Box, baseline: number, theme: Theme) {
  const slot = (box.right - box.left) / chart.series.length;
  return chart.series.flatMap((series, i) => {
    const left = box.left + i * slot;
    const colour = theme.series[i % theme.series.length]!;
    return [
      line(left, baseline - 3.5, left + 12, baseline - 3.5, colour, 'stroke-width="2.5"'),
      text(left + 16, baseline, clip(series.name, slot - 22, 10), { size: 10, fill: theme.text }),
    ];
  });
}

/** Dashed level lines, labelled in the right margin; labels pushed apart so that none overlap. */
function thresholdLines(thresholds: ChartThreshold[], y: (v: number) => number, box: Box, theme: Theme) {
  const out: string[] = [];
  // `healthy: value < 90` beside `critical: value >= 90` is the same boundary: one line, the alarm's.
  const drawn = thresholds.filter(
    (t) => t.level !== 'healthy' || !thresholds.some((o) => o.level !== 'healthy' && o.value === t.value),
  );
  const placed = drawn.map((t) => ({ t, at: y(t.value), labelAt: y(t.value) + 3.5 }));
  const byHeight = [...placed].sort((a, b) => a.at - b.at);
  byHeight.forEach((p, i) => {
    const above = byHeight[i - 1];
    if (above && p.labelAt < above.labelAt + 11) p.labelAt = above.labelAt + 11;
  });
  // Pushed below the plot: push back up from the bottom.
  let limit = box.bottom + 3.5;
  for (const p of byHeight.reverse()) {
    p.labelAt = Math.min(p.labelAt, limit);
    limit = p.labelAt - 11;
  }
  for (const { t, at, labelAt } of placed) {
    const colour = theme.levels[t.level];
    out.push(line(box.left, at, box.right, at, colour, 'stroke-width="1.2" stroke-dasharray="6 4"'));
    const label = `${t.level} ${OP_SYMBOL[t.op]} ${formatCompact(t.value)}`;
    out.push(text(box.right + 4, labelAt, label, { size: 10, fill: colour }));
  }
  return out;
}

/**
 * Vertical lines at the incident's moments within the window. Each label goes right of its line,
 * else left of it, in the first of a few rows at the top where it overlaps no label already placed
 * (else where it overlaps least): moments minutes apart stay readable.
 */
function markerLines(markers: ChartMarker[], chart: Chart, x: (t: number) => number, box: Box, theme: Theme) {
  const out: string[] = [];
  const count = Math.max(1, Math.min(MARKER_ROWS, Math.floor((box.bottom - box.top) / 3 / 11)));
  const rows: [number, number][][] = Array.from({ length: count }, () => []);
  const overlap = (row: [number, number][], [s, e]: [number, number]) =>
    row.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, e + 6) - Math.max(a, s - 6)), 0);
  for (const marker of markers) {
    if (marker.at < chart.from || marker.at > chart.to) continue;
    const at = x(marker.at);
    const label = clipText(oneLine(marker.label), 24);
    const w = textWidth(label, 9);
    const right: [number, number] = [at + 3, at + 3 + w];
    const left: [number, number] = [at - 3 - w, at - 3];
    const sides = [right, left].filter(([s, e]) => s >= box.left && e <= box.right);
    const options = (sides.length ? sides : [at + w < box.right ? right : left]).flatMap((span) =>
      rows.map((row, index) => ({ span, index, cost: overlap(row, span) })),
    );
    // Sorting is stable: among equal costs the first option (right side, top row) wins.
    const best = options.sort((p, q) => p.cost - q.cost)[0]!;
    const mark = line(at, box.top, at, box.bottom, theme.muted, 'stroke-width="1" stroke-dasharray="2 3"');
    // A label that would cross another is left out (text on text reads as neither); the line keeps
    // it as its title, and the incident's timeline has every moment.
    if (best.cost > 0) {
      out.push(`<g><title>${esc(label)}</title>${mark}</g>`);
      continue;
    }
    rows[best.index]!.push(best.span);
    out.push(mark);
    out.push(
      text(best.span === right ? at + 3 : at - 3, box.top + 9 + best.index * 11, label, {
        size: 9,
        fill: theme.text,
        anchor: best.span === right ? 'start' : 'end',
        halo: theme.background,
      }),
    );
  }
  return out;
}

/** The y range: the data and every threshold, 5 % beyond (not below 0 for data that never is). */
function yDomain(chart: Chart): [number, number] {
  const values = [
    ...chart.series.flatMap((s) => s.points.filter((p): p is number => p !== null && Number.isFinite(p))),
    ...chart.thresholds.map((t) => t.value),
  ];
  if (values.length === 0) return [0, 1];
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return [min - pad, max + pad];
  }
  const pad = (max - min) * 0.05;
  return [min >= 0 ? Math.max(0, min - pad) : min - pad, max + pad];
}

/** A whole number of pixels, at least `min`; `fallback` for none (or nonsense). */
function size(asked: number | undefined, fallback: number, min: number): number {
  return asked !== undefined && Number.isFinite(asked) ? Math.max(min, Math.round(asked)) : fallback;
}

/** The runs of consecutive non-null points: a gap breaks the line. */
function runs(points: (number | null)[]): { index: number; value: number }[][] {
  const out: { index: number; value: number }[][] = [];
  let current: { index: number; value: number }[] = [];
  points.forEach((value, index) => {
    if (value === null || !Number.isFinite(value)) {
      if (current.length) out.push(current);
      current = [];
    } else {
      current.push({ index, value });
    }
  });
  if (current.length) out.push(current);
  return out;
}

/**
 * One line for alt text and Slack: `payment p99 latency: 1 series, 12:00–12:45 UTC, last 0.93
 * (critical ≥ 0.5)` — the last value of the top series, and the first level (critical, warning,
 * healthy) whose threshold it meets. Plain text: each channel escapes it for itself.
 */
export function chartSummary(chart: Chart, title: string = chart.query): string {
  const name = clipText(oneLine(title), 80) || 'chart';
  const range = `${utcTime(chart.from)}–${utcTime(chart.to)} UTC`;
  if (chart.missing !== undefined || chart.series.length === 0) {
    return `${name}: no data (${oneLine(chart.missing ?? 'no series')}), ${range}`;
  }
  const more = chart.omittedSeries > 0 ? ` (+${chart.omittedSeries} more)` : '';
  const last = chart.series[0]!.points.findLast((p): p is number => p !== null && Number.isFinite(p));
  if (last === undefined) return `${name}: ${chart.series.length} series${more}, ${range}`;
  const order = ['critical', 'warning', 'healthy'];
  const met = [...chart.thresholds]
    .sort((a, b) => order.indexOf(a.level) - order.indexOf(b.level))
    .find((t) => meets(last, t));
  const level = met ? ` (${met.level} ${OP_SYMBOL[met.op]} ${formatCompact(met.value)})` : '';
  return `${name}: ${chart.series.length} series${more}, ${range}, last ${formatCompact(last)}${level}`;
}

function meets(value: number, t: ChartThreshold): boolean {
  if (t.op === '>') return value > t.value;
  if (t.op === '>=') return value >= t.value;
  if (t.op === '<') return value < t.value;
  return value <= t.value;
}
