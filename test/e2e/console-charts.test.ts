import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Chart } from '../../src/engine/chart.ts';
import { createMetrics } from '../../src/producer/metrics.ts';
import { listen } from '../../src/producer/server.ts';
import {
  type Cleanups,
  metricStack,
  openMetricIncident,
  pipelineWith,
  verifiedAndCharted,
} from '../helpers/metric-stack.ts';
import { eventsUntil } from '../helpers/pipeline.ts';
import {
  AUTH,
  type ConsoleApp,
  consoleSession,
  expectAccessible,
  screenshotPath,
  see,
  signIn,
  startConsoleApp,
  watchErrors,
} from './console-harness.ts';

const redisUrl = inject('redisUrl');

const STEP_MS = 15_000;

/**
 * A chart of the database check around now: two pods' pool use climbing through the critical
 * line (90) with a gap in one of them; after the fix (`verify`), both back well under it.
 */
function poolChart(now: number, phase: 'diagnosis' | 'verify'): Chart {
  const from = Math.floor((now - 28 * 60_000) / STEP_MS) * STEP_MS;
  const n = 121;
  const wave = (i: number, base: number) => Math.round((base + 8 * Math.sin(i / 9)) * 10) / 10;
  const climb = (i: number, base: number) =>
    phase === 'verify' ? wave(i, 40) : wave(i, base + (i / n) * 45);
  return {
    v: 1,
    kind: 'metric',
    query: 'max by (pod) (pg_pool_used_ratio{service="checkout"}) * 100',
    from,
    to: from + (n - 1) * STEP_MS,
    step: STEP_MS,
    series: [
      { name: '{pod="checkout-db-0"}', points: Array.from({ length: n }, (_, i) => climb(i, 50)) },
      {
        name: '{pod="checkout-db-1"}',
        points: Array.from({ length: n }, (_, i) => (i >= 40 && i < 52 ? null : climb(i, 40))),
      },
    ],
    omittedSeries: 0,
    thresholds: [
      { level: 'critical', op: '>=', value: 90, source: 'interpret' },
      { level: 'warning', op: '>=', value: 75, source: 'interpret' },
    ],
  };
}

/** Error log lines per minute: a burst as the pool filled. */
function errorLogChart(now: number): Chart {
  const step = 60_000;
  const from = Math.floor((now - 29 * step) / step) * step;
  return {
    v: 1,
    kind: 'log_count',
    query: '{app="checkout"} |= "error"',
    from,
    to: from + 29 * step,
    step,
    series: [
      {
        name: '',
        points: Array.from({ length: 30 }, (_, i) => (i === 12 ? null : i < 20 ? 2 + (i % 3) : 40 + 3 * i)),
      },
    ],
    omittedSeries: 0,
    thresholds: [{ level: 'warning', op: '>', value: 50, source: 'runbook' }],
  };
}

function missingChart(now: number): Chart {
  return {
    v: 1,
    kind: 'metric',
    query: 'sum(rate(http_requests_total{code=~"5.."}[5m]))',
    from: now - 30 * 60_000,
    to: now,
    step: STEP_MS,
    series: [],
    omittedSeries: 0,
    thresholds: [],
    missing: 'Prometheus answered 503 Service Unavailable',
  };
}

/** An incident of the console runbook, diagnosed, its plan waiting for an approval. */
async function diagnosedIncident(app: ConsoleApp): Promise<string> {
  app.openGate();
  const id = await app.trigger();
  await eventsUntil(app.pipeline, id, (e) => e.type === 'remediation.awaiting_approval');
  return id;
}

/**
 * A diagnosed incident whose database check has its pool chart and whose error-rate check has the
 * chart `errorRate` makes (a missing one, or a log count).
 */
async function withCharts(app: ConsoleApp, errorRate: (now: number) => Chart) {
  const id = await diagnosedIncident(app);
  const now = Date.now();
  const { store } = app.pipeline.deps;
  await store.setChart(
    id,
    'check_db_connections',
    poolChart(now, 'diagnosis'),
    charted('check_db_connections'),
  );
  await store.setChart(id, 'check_error_rate', errorRate(now), charted('check_error_rate'));
  return { id, now };
}

/** The incident's page in a new tab of `context`, signed in as a viewer, its errors watched. */
async function openIncident(context: BrowserContext, app: ConsoleApp, id: string) {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = watchErrors(page);
  await page.goto(`${app.url}/incidents/${id}`);
  await signIn(page, AUTH.viewerToken);
  return { page, errors };
}

/** The event the chart job records with a chart (src/incidents/charts.ts). */
const charted = (key: string) => ({
  type: 'diagnostic.charted' as const,
  actor: 'system',
  message: `${key}: chart`,
  data: { stepId: key.replace(/^verify:/, ''), key },
});

/** The verify of "Kill idle connections" re-ran the database check: its chart, then its event. */
async function verified(app: ConsoleApp, id: string, now: number): Promise<void> {
  const { store } = app.pipeline.deps;
  await store.setChart(
    id,
    'verify:check_db_connections',
    poolChart(now + 60_000, 'verify'),
    charted('verify:check_db_connections'),
  );
  await store.appendEvent(id, {
    type: 'remediation.verified',
    actor: 'system',
    message: 'Verify after Kill idle connections: check_db_connections healthy',
    data: {
      stepId: 'kill_idle_connections',
      healthy: true,
      verdicts: [{ stepId: 'check_db_connections', status: 'healthy' }],
    },
  });
}

/** What the page functions below use of the browser (the tests compile without the DOM library). */
interface BrowserGlobals {
  document: {
    querySelectorAll(selector: string): ArrayLike<CanvasLike>;
    documentElement: { scrollWidth: number; clientWidth: number };
    querySelector(selector: string): ElementLike | null;
  };
  getComputedStyle(el: unknown): { getPropertyValue(name: string): string };
}
interface ElementLike {
  getBoundingClientRect(): { left: number; right: number; top: number; bottom: number; width: number };
}
interface CanvasLike extends ElementLike {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  };
}

/**
 * For each chart canvas of the card: its CSS width, how many pixels are drawn at all, and how many
 * are exactly the theme's critical colour (the threshold line) and marker colour (the moments).
 */
function canvasPixels(page: Page, selector: string) {
  return page.evaluate((sel) => {
    const g = globalThis as unknown as BrowserGlobals;
    const rgb = (value: string) => {
      const hex = value.trim().replace('#', '');
      return [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    };
    const root = g.document.querySelector(':root');
    const style = g.getComputedStyle(root);
    const critical = rgb(style.getPropertyValue('--bad-edge'));
    const marker = rgb(style.getPropertyValue('--neutral-edge'));
    // An opaque pixel within 3 of the colour in each channel (the line's core, not its antialiasing).
    const near = (px: number[], c: number[]) =>
      px[3] === 255 && c.every((v, k) => Math.abs((px[k] ?? 0) - v) < 4);
    return Array.from(g.document.querySelectorAll(`${sel} canvas`)).map((canvas) => {
      const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = 0;
      let criticalPx = 0;
      let markerPx = 0;
      for (let i = 0; i < d.length; i += 4) {
        const px = [d[i] ?? 0, d[i + 1] ?? 0, d[i + 2] ?? 0, d[i + 3] ?? 0];
        if ((px[3] ?? 0) > 0) drawn++;
        if (near(px, critical)) criticalPx++;
        if (near(px, marker)) markerPx++;
      }
      return { cssWidth: canvas.getBoundingClientRect().width, drawn, criticalPx, markerPx };
    });
  }, selector);
}

function pageFits(page: Page) {
  return page.evaluate(() => {
    const g = globalThis as unknown as BrowserGlobals;
    return g.document.documentElement.scrollWidth <= g.document.documentElement.clientWidth;
  });
}

describe('responder console: metric charts in the diagnostic cards', () => {
  const s = consoleSession();

  it('draws the chart of a step with its thresholds and moments, and the verify chart beside it once verified', async () => {
    s.app = await startConsoleApp(redisUrl);
    const { id, now } = await withCharts(s.app, missingChart);

    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const { page, errors } = await openIncident(s.context, s.app, id);
    const card = page.locator('[data-step="check_db_connections"]');
    await see(card, 'Critical');
    await card.locator('.chart-plot canvas').first().waitFor();
    await see(
      page.locator('[data-step="check_error_rate"]'),
      'No chart: Prometheus answered 503 Service Unavailable',
    );
    expect(await card.locator('figure').count(), 'one chart before a verify').toBe(1);

    // A verify ran: the page reads the charts again and shows the re-run beside the first.
    await verified(s.app, id, now);
    await see(card.locator('figcaption'), 'After Kill idle connections (verify)');
    await see(card.locator('figcaption'), 'At diagnosis');
    errors.check();
  });

  it('is readable, accessible and hoverable at desktop width and at 375 px, light and dark', async () => {
    s.app = await startConsoleApp(redisUrl);
    const { id, now } = await withCharts(s.app, errorLogChart);
    await verified(s.app, id, now);

    for (const colorScheme of ['light', 'dark'] as const)
      for (const width of [1280, 375]) {
        const what = `${width} px, ${colorScheme}`;
        s.context = await s.browser.newContext({ colorScheme, viewport: { width, height: 900 } });
        const { page, errors } = await openIncident(s.context, s.app, id);
        const card = page.locator('[data-step="check_db_connections"]');
        await see(card.locator('figcaption'), 'After Kill idle connections (verify)');
        const figures = card.locator('figure');
        await figures.nth(1).locator('canvas').waitFor();

        // Drawn: lines, the critical threshold in the theme's red, the moments as vertical lines.
        await expect
          .poll(() => canvasPixels(page, '[data-step="check_db_connections"]'), { timeout: 10_000 })
          .toHaveLength(2);
        const pixels = await canvasPixels(page, '[data-step="check_db_connections"]');
        for (const [i, p] of pixels.entries()) {
          expect(p.drawn, `chart ${i} (${what}) has drawn pixels`).toBeGreaterThan(2000);
          expect(p.criticalPx, `chart ${i} (${what}) shows the critical threshold`).toBeGreaterThan(50);
          expect(p.markerPx, `chart ${i} (${what}) shows the moments`).toBeGreaterThan(50);
        }
        const key = card.locator('.chart-key').first();
        await see(key, 'Critical ≥ 90');
        await see(key, 'Warning ≥ 75');
        await see(key, /\d\d:\d\d\s+alert started/);
        const plot = card.locator('.chart-plot').first();
        expect(await plot.getAttribute('role')).toBe('img');
        expect(await plot.getAttribute('aria-label')).toContain('Database connections');

        // Side by side on a desktop, one above the other on a phone; nothing wider than the screen.
        const [a, b] = [await figures.nth(0).boundingBox(), await figures.nth(1).boundingBox()];
        if (width === 375)
          expect(b?.y ?? 0, `stacked (${what})`).toBeGreaterThanOrEqual((a?.y ?? 0) + (a?.height ?? 0));
        else expect(b?.y, `side by side (${what})`).toBe(a?.y);
        expect(await pageFits(page), `no horizontal scroll (${what})`).toBe(true);

        // Hovering the plot shows the time and each series' value there.
        await card.scrollIntoViewIfNeeded();
        const over = card.locator('.u-over').first();
        const box = await over.boundingBox();
        if (!box) throw new Error('no plot area');
        await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2);
        const legend = card.locator('.chart-legend').first();
        await see(legend, /Time:?\s*\d\d:\d\d:\d\d/);
        await see(legend, /checkout-db-0"?:?\s*\d+(\.\d+)?/);

        await expectAccessible(page, what);
        // A log count: bars, with the runbook's own threshold.
        const logs = page.locator('[data-step="check_error_rate"]');
        await see(logs.locator('.chart-key'), 'Warning > 50');
        expect((await canvasPixels(page, '[data-step="check_error_rate"]'))[0]?.drawn).toBeGreaterThan(2000);
        await logs.screenshot({
          path: screenshotPath(`charts-logs-${width === 375 ? '375' : 'desktop'}-${colorScheme}.png`),
        });
        await card.screenshot({
          path: screenshotPath(`charts-${width === 375 ? '375' : 'desktop'}-${colorScheme}.png`),
        });
        if (width === 1280)
          await page.screenshot({ path: screenshotPath(`charts-page-${colorScheme}.png`), fullPage: true });
        errors.check();
        await s.context.close();
        s.context = undefined;
      }
  });
});

/**
 * End to end (issue 14): a real Prometheus scrapes a metric that rises past the threshold, the
 * automated fix lowers it and its verify re-runs the check (test/helpers/metric-stack.ts); the
 * card shows the rise with the threshold and the fix's moments, and the verify's fall beside it.
 */
describe('responder console: a real metric, end to end', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const s = consoleSession();

  it('shows the rise, the threshold, the remediation and, after verify, the fall', async () => {
    const stack = await metricStack(cleanups);
    const pipeline = await pipelineWith(redisUrl, cleanups, stack, { publicUrl: 'http://127.0.0.1:3000' });
    const metrics = createMetrics({ pipeline, logger: pipeline.deps.logger });
    const http = await listen(
      { pipeline, auth: AUTH, logger: pipeline.deps.logger, runbookPaths: [] },
      metrics,
      '127.0.0.1',
      0,
    );
    cleanups.push(async () => {
      http.server.closeAllConnections();
      await http.close();
    });
    const id = await openMetricIncident(pipeline);
    await eventsUntil(pipeline, id, verifiedAndCharted, 30_000);

    for (const colorScheme of ['light', 'dark'] as const)
      for (const width of [1280, 375]) {
        const what = `${width} px, ${colorScheme}`;
        const context = await s.browser.newContext({ colorScheme, viewport: { width, height: 900 } });
        cleanups.push(() => context.close());
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        const errors = watchErrors(page);
        await page.goto(`${http.url}/incidents/${id}`);
        await signIn(page, AUTH.viewerToken);
        const card = page.locator('[data-step="latency"]');
        await see(card.locator('figcaption'), 'At diagnosis');
        await see(card.locator('figcaption'), 'After Lower the latency (verify)');
        await card.locator('figure').nth(1).locator('canvas').waitFor();
        await expect
          .poll(() => canvasPixels(page, '[data-step="latency"]'), { timeout: 10_000 })
          .toHaveLength(2);
        await card.screenshot({
          path: screenshotPath(`charts-e2e-${width === 375 ? '375' : 'desktop'}-${colorScheme}.png`),
        });
        for (const [i, p] of (await canvasPixels(page, '[data-step="latency"]')).entries()) {
          expect(p.drawn, `chart ${i} (${what}) has drawn pixels`).toBeGreaterThan(1000);
          expect(p.criticalPx, `chart ${i} (${what}) shows the critical threshold`).toBeGreaterThan(50);
        }
        const key = card.locator('.chart-key').first();
        await see(key, 'Critical ≥ 90');
        await see(key, /lower started/);
        expect(await pageFits(page), `no horizontal scroll (${what})`).toBe(true);
        await expectAccessible(page, what);
        errors.check();
      }
  });
});
