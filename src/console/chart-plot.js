import uPlot from 'uplot';

/**
 * uPlot's side of a chart view (see chart.js): the options, the theme's colours, and the draw hook
 * that puts the thresholds and the incident's moments on the canvas; with the words and numbers
 * both the canvas and the text around it use.
 */

export const HEIGHT = 220;

/** Okabe–Ito colours without their red, orange and yellow (those belong to the thresholds). */
const PALETTE = {
  light: ['#0072B2', '#009E73', '#CC79A7', '#0F172A', '#56B4E9'],
  dark: ['#56B4E9', '#2EC4A0', '#E7A3C9', '#E2E8F0', '#5B9BD5'],
};

/** The band above the plot where the moments are labelled: rows of ROW_PX CSS pixels. */
const MARKER_ROWS = 2;
const ROW_PX = 16;

/** Moments as their short label on the canvas. */
const MARKER_SHORT = {
  alert_started: 'alert',
  incident_opened: 'opened',
  remediation_started: 'fix started',
  remediation_finished: 'fix done',
  verify: 'verify',
};

/** Moments as the key under the chart names them when the API gave no label. */
const MARKER_WORD = {
  alert_started: 'Alert started',
  incident_opened: 'Incident opened',
  remediation_started: 'Remediation started',
  remediation_finished: 'Remediation finished',
  verify: 'Verify',
};

const OP = { '>=': '≥', '<=': '≤', '>': '>', '<': '<' };

/** Threshold levels: their word and the theme colour of their line. */
const LEVEL = {
  critical: { word: 'Critical', colour: 'critical' },
  warning: { word: 'Warning', colour: 'warning' },
  healthy: { word: 'Healthy', colour: 'healthy' },
};
const level = (t) => LEVEL[t.level] ?? LEVEL.warning;

/** `14:05` in local time. */
export function hhmm(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

const hhmmss = (ms) =>
  new Date(ms).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });

const plain = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });
const compact = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3, notation: 'compact' });

/** A value as a responder reads it: three significant digits, `12.3K` for large ones. */
export function formatValue(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'no data';
  return Math.abs(v) >= 10_000 ? compact.format(v) : plain.format(v);
}

/** A series name short enough for the legend: Prometheus' braces dropped, long ones cut. */
export function seriesLabel(name, title) {
  const bare = String(name ?? '').replace(/^\{(.*)\}$/, '$1');
  if (!bare) return title || 'value';
  return bare.length > 48 ? `${bare.slice(0, 47)}…` : bare;
}

/**
 * The thresholds worth a line: `healthy: value < 90` beside `critical: value >= 90` is the same
 * boundary, and its green line would hide the alarm's (the SVG draws them the same way).
 */
export const drawnThresholds = (thresholds = []) =>
  thresholds.filter(
    (t) => t.level !== 'healthy' || !thresholds.some((o) => o.level !== 'healthy' && o.value === t.value),
  );

export const thresholdWords = (t) => `${level(t).word} ${OP[t.op] ?? t.op} ${formatValue(t.value)}`;
export const markerWords = (m) => m.label || MARKER_WORD[m.kind] || m.kind;

/** The x of point i, in seconds (uPlot's unit for time). */
export function xs(chart) {
  const n = Math.max(0, ...chart.series.map((s) => s.points.length));
  return Array.from({ length: n }, (_, i) => (chart.from + i * chart.step) / 1000);
}

/** The lowest and highest value of all series, or null when there is none. */
export function extent(chart) {
  let min = Infinity;
  let max = -Infinity;
  for (const s of chart.series)
    for (const v of s.points)
      if (v !== null && Number.isFinite(v)) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
  return min <= max ? { min, max } : null;
}

function cssVar(el, name, fallback) {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/** Colours and font of the page's theme, read from its CSS custom properties. */
export function themeColours(el, theme) {
  return {
    text: cssVar(el, '--text', theme === 'dark' ? '#e2e8f0' : '#0f172a'),
    muted: cssVar(el, '--muted', '#64748b'),
    grid: cssVar(el, '--border', '#cbd5e1'),
    surface: cssVar(el, '--surface', theme === 'dark' ? '#0f172a' : '#ffffff'),
    critical: cssVar(el, '--bad-edge', '#dc2626'),
    warning: cssVar(el, '--warn-edge', '#ca8a04'),
    healthy: cssVar(el, '--good-edge', '#16a34a'),
    marker: cssVar(el, '--neutral-edge', '#64748b'),
    family: getComputedStyle(el).fontFamily || 'system-ui, sans-serif',
    series: PALETTE[theme] ?? PALETTE.light,
  };
}

/** Text with a halo of the surface colour, readable over lines and grid. */
function haloText(ctx, text, x, y, colour, surface) {
  ctx.lineWidth = 3 * uPlot.pxRatio;
  ctx.lineJoin = 'round';
  ctx.strokeStyle = surface;
  ctx.strokeText(text, x, y);
  ctx.fillStyle = colour;
  ctx.fillText(text, x, y);
}

/**
 * Moments seconds apart (alert started, incident opened) share one label, `alert · opened`; the
 * labels then take the first of the band's rows where they touch no other, or go unlabelled (the
 * key under the chart names every moment).
 */
function layoutMarkers(u, markers, px) {
  const { ctx, bbox } = u;
  const groups = [];
  for (const m of [...markers].sort((a, b) => a.at - b.at)) {
    const x = Math.round(u.valToPos(m.at / 1000, 'x', true));
    if (x < bbox.left || x > bbox.left + bbox.width) continue;
    const last = groups.at(-1);
    const word = MARKER_SHORT[m.kind] ?? m.kind;
    if (last && x - last.x < 24 * px) {
      last.xs.push(x);
      if (!last.words.includes(word)) last.words.push(word);
    } else groups.push({ x, xs: [x], words: [word] });
  }
  const rows = [];
  const right = ctx.canvas.width;
  for (const g of groups) {
    const more = g.words.length - 2;
    g.text = g.words.slice(0, 2).join(' · ') + (more > 0 ? ` +${more}` : '');
    const width = ctx.measureText(g.text).width;
    // From the line rightwards, or leftwards when that runs off the canvas.
    g.left = Math.max(0, g.x + width + 4 * px <= right ? g.x + 3 * px : g.x - 3 * px - width);
    g.row = -1;
    for (let r = 0; r < MARKER_ROWS; r++)
      if (rows[r] === undefined || g.left > rows[r] + 6 * px) {
        g.row = r;
        rows[r] = g.left + width;
        break;
      }
  }
  return groups;
}

/** The draw hook: thresholds (dashed, with their level), then the moments (vertical, labelled). */
function drawOverlays(view, colours) {
  return (u) => {
    const { ctx, bbox } = u;
    const px = uPlot.pxRatio;
    const lineHeight = ROW_PX * px;
    ctx.save();
    ctx.font = `${Math.round(12 * px)}px ${colours.family}`;
    ctx.textBaseline = 'bottom';
    ctx.textAlign = 'left';
    for (const t of drawnThresholds(view.chart.thresholds)) {
      const y = Math.round(u.valToPos(t.value, 'y', true));
      if (y < bbox.top || y > bbox.top + bbox.height) continue;
      const colour = colours[level(t).colour];
      ctx.lineWidth = 2 * px;
      ctx.strokeStyle = colour;
      ctx.setLineDash([8 * px, 5 * px]);
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      ctx.setLineDash([]);
      // At the left end, where the series is usually still low: above the line, or under it at the top.
      const textY = y - bbox.top > lineHeight ? y - 3 * px : y + lineHeight;
      haloText(ctx, thresholdWords(t), bbox.left + 4 * px, textY, colour, colours.surface);
    }
    for (const g of layoutMarkers(u, view.markers ?? [], px)) {
      const labelTop = bbox.top - (MARKER_ROWS - Math.max(0, g.row)) * lineHeight;
      ctx.lineWidth = 2 * px;
      ctx.strokeStyle = colours.marker;
      ctx.beginPath();
      for (const x of g.xs) {
        ctx.moveTo(x, g.row === -1 ? bbox.top : labelTop + lineHeight - 2 * px);
        ctx.lineTo(x, bbox.top + bbox.height);
      }
      ctx.stroke();
      if (g.row !== -1)
        haloText(ctx, g.text, g.left, labelTop + lineHeight - 2 * px, colours.text, colours.surface);
    }
    ctx.restore();
  };
}

/** The y axis as wide as its longest label (uPlot's own sizing guesses). */
function yAxisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  const longest = (values ?? []).reduce((a, b) => (String(b).length > a.length ? String(b) : a), '');
  u.ctx.font = axis.font[0];
  return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / uPlot.pxRatio) + 4;
}

/** uPlot's options for a view, `width` CSS pixels wide. */
export function plotOptions(view, colours, width, legendEl) {
  const { chart } = view;
  const bars = chart.kind === 'log_count';
  const axis = {
    stroke: colours.text,
    font: `12px ${colours.family}`,
    grid: { stroke: colours.grid, width: 1 },
    ticks: { stroke: colours.grid, width: 1, size: 4 },
  };
  const range = extent(chart);
  const thresholds = (chart.thresholds ?? []).map((t) => t.value);
  const to = Math.max(chart.to, chart.from + (xs(chart).length - 1) * chart.step);
  // Bars stand centred on their time: half a step more on each side, or the end ones are cut.
  const half = bars ? chart.step / 2 : 0;
  const markersShown = (view.markers ?? []).some((m) => m.at >= chart.from - half && m.at <= to + half);
  return {
    width,
    height: HEIGHT,
    // Room above the plot for the moments' labels, so they never hide a line.
    padding: [markersShown ? MARKER_ROWS * ROW_PX + 6 : 12, null, null, null],
    legend: {
      mount: (_u, table) => legendEl.append(table),
      markers: { fill: (_u, i) => colours.series[(i - 1) % colours.series.length] },
    },
    cursor: { drag: { x: false, y: false }, points: { size: 8 } },
    scales: {
      x: { time: true, range: () => [(chart.from - half) / 1000, (to + half) / 1000] },
      y: {
        // Thresholds stay in view: how far a line is from its threshold is what a responder reads.
        range: (_u, min, max) => {
          const values = [...thresholds, ...(range ? [range.min, range.max] : [])];
          const lo = Math.min(...values, bars ? 0 : Infinity);
          const hi = Math.max(...values);
          if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [min ?? 0, max ?? 1];
          // Headroom over the top line for its label.
          const top = hi === lo ? lo + 1 : hi + (hi - lo) * 0.12;
          return uPlot.rangeNum(lo, top, 0.1, true);
        },
      },
    },
    axes: [
      {
        ...axis,
        size: 28,
        space: 70,
        incrs: [60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400],
        values: (_u, splits) => splits.map((s) => hhmm(s * 1000)),
      },
      { ...axis, size: yAxisSize, values: (_u, splits) => splits.map(formatValue) },
    ],
    series: [
      { label: 'Time', value: (_u, v) => (v === null || v === undefined ? '—' : hhmmss(v * 1000)) },
      ...chart.series.map((s, i) => {
        const stroke = colours.series[i % colours.series.length];
        return {
          label: seriesLabel(s.name, view.title),
          stroke,
          width: 2,
          spanGaps: false,
          // Away from the chart: a dash, not "no data" (the cursor is nowhere).
          value: (_u, v, _s, idx) => (idx === null || idx === undefined ? '—' : formatValue(v)),
          ...(bars
            ? { fill: `${stroke}99`, paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } }
            : {}),
        };
      }),
    ],
    hooks: { draw: [drawOverlays(view, colours)] },
  };
}
