import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import {
  drawnThresholds,
  extent,
  formatValue,
  HEIGHT,
  hhmm,
  markerWords,
  plotOptions,
  seriesLabel,
  themeColours,
  thresholdWords,
  xs,
} from './chart-plot.js';
import { html } from './ui.js';

/**
 * A diagnostic's chart (the API's chart view: `{ title, summary, chart, markers }`) drawn with
 * uPlot: one line per series (bars for log counts), a gap at each null, the runbook's thresholds
 * as dashed lines and the incident's moments (alert, remediation, verify) as vertical lines, all
 * drawn on the canvas by a draw hook. The legend under it shows the time and each value at the
 * cursor. The same thresholds and moments are listed as text under the chart (`ChartKey`), and a
 * screen reader gets the summary plus each series' range.
 */

/** `light` or `dark`, as the console's style sheets choose it, following changes. */
export function useTheme() {
  const query = matchMedia('(prefers-color-scheme: dark)');
  const [dark, setDark] = useState(query.matches);
  useEffect(() => {
    const changed = (e) => setDark(e.matches);
    query.addEventListener('change', changed);
    return () => query.removeEventListener('change', changed);
  }, []);
  return dark ? 'dark' : 'light';
}

/** What the chart shows, in words, for a screen reader. */
function describe(view) {
  const { chart } = view;
  const parts = [`${view.title}, ${hhmm(chart.from)} to ${hhmm(chart.to)}.`];
  for (const s of chart.series) {
    const values = s.points.filter((v) => v !== null && Number.isFinite(v));
    if (values.length === 0) parts.push(`${seriesLabel(s.name, view.title)}: no data.`);
    else
      parts.push(
        `${seriesLabel(s.name, view.title)}: lowest ${formatValue(Math.min(...values))}, highest ${formatValue(Math.max(...values))}, last ${formatValue(values.at(-1))}.`,
      );
  }
  if (chart.omittedSeries > 0) parts.push(`${chart.omittedSeries} more series not shown.`);
  return parts.join(' ');
}

function Plot({ view, theme }) {
  const box = useRef(null);
  const legend = useRef(null);
  const signature = JSON.stringify([view.chart, view.markers, view.title]);
  useEffect(() => {
    const el = box.current;
    const legendEl = legend.current;
    const colours = themeColours(el, theme);
    const data = [xs(view.chart), ...view.chart.series.map((s) => s.points)];
    let plot = null;
    const observer = new ResizeObserver(([entry]) => {
      const width = Math.floor(entry.contentRect.width);
      if (width <= 0) return;
      if (!plot) plot = new uPlot(plotOptions(view, colours, width, legendEl), data, el);
      else if (width !== plot.width) plot.setSize({ width, height: HEIGHT });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot?.destroy();
      legendEl.replaceChildren();
    };
  }, [signature, theme]);

  const { chart } = view;
  return html`<div class="chart">
    <div class="chart-plot" ref=${box} role="img" aria-label=${view.summary || view.title}></div>
    <div class="chart-legend" ref=${legend} aria-hidden="true"></div>
    ${chart.omittedSeries > 0 && html`<p class="muted chart-note">${chart.omittedSeries} more series not shown.</p>`}
    <p class="visually-hidden">${describe(view)}</p>
  </div>`;
}

/** Whether a view has a chart to draw (not one that says why there is none). */
export const drawable = (view) => !view.chart.missing && extent(view.chart) !== null;

/**
 * The thresholds and the moments of the drawn charts in `views` (a step's chart and its verify
 * re-run share them), as text: the canvas labels are small, and a screen reader reads these.
 */
export function ChartKey({ views }) {
  const drawn = views.filter((v) => v && drawable(v));
  if (drawn.length === 0) return null;
  const thresholds = new Map();
  for (const v of drawn)
    for (const t of drawnThresholds(v.chart.thresholds)) thresholds.set(thresholdWords(t), t);
  const moments = new Map();
  for (const v of drawn)
    for (const m of v.markers ?? [])
      if (m.at >= v.chart.from && m.at <= v.chart.to) moments.set(`${m.at} ${m.kind} ${m.label}`, m);
  if (thresholds.size === 0 && moments.size === 0) return null;
  return html`<ul class="chart-key" aria-label="Lines on the chart">
    ${[...thresholds].map(
      ([words, t]) =>
        html`<li class=${`key-threshold key-${t.level}`}><span class="swatch" aria-hidden="true"></span>${words}</li>`,
    )}
    ${[...moments.values()]
      .sort((a, b) => a.at - b.at)
      .map(
        (m) =>
          html`<li class="key-marker"><span class="swatch" aria-hidden="true"></span><time datetime=${new Date(m.at).toISOString()}>${hhmm(m.at)}</time> <span>${markerWords(m)}</span></li>`,
      )}
  </ul>`;
}

/**
 * The chart of one diagnostic (or of its verify re-run), or why there is none; with its key under
 * it unless `withKey` is false (a pair of charts shows one key for both).
 */
export function MetricChart({ view, theme, withKey = true }) {
  const { chart } = view;
  if (chart.missing) return html`<p class="chart-missing muted">No chart: ${chart.missing}</p>`;
  if (!extent(chart)) return html`<p class="chart-missing muted">No chart: no data in this window</p>`;
  return html`<${Plot} view=${view} theme=${theme} />${withKey && html`<${ChartKey} views=${[view]} />`}`;
}
