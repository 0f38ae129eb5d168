import { Resvg } from '@resvg/resvg-js';
import { renderChartSvg } from '../engine/chart-svg.ts';
import type { ChartView } from '../incidents/charts.ts';

export type ChartTheme = 'light' | 'dark';
export type ChartFormat = 'svg' | 'png';

/**
 * A chart view as an image: the engine's SVG (src/engine/chart-svg.ts), or that SVG rendered to PNG
 * by resvg (the machine's fonts; Debian's fonts-dejavu-core has the ones it needs) at twice its
 * size, sharp on a phone and in Slack.
 */
export function chartImage(view: ChartView, format: ChartFormat, theme: ChartTheme): Buffer {
  const svg = renderChartSvg(view.chart, view.markers, { title: chartTitle(view), theme });
  if (format === 'svg') return Buffer.from(svg, 'utf8');
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return png.render().asPng();
}

/** The title drawn on a chart: the step's name, and which run it shows. */
export function chartTitle(view: ChartView): string {
  return view.phase === 'verify' ? `${view.title} — verify` : view.title;
}
