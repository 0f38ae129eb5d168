import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HistoryDb } from '../../src/history/db.ts';
import { archivePass, historyOn, sweepIncidents } from '../../src/incidents/archive.ts';
import type { PipelineDeps } from '../../src/incidents/deps.ts';
import { call } from '../helpers/api.ts';
import { HISTORY_BACKENDS } from '../helpers/history.ts';
import { eventsUntil } from '../helpers/pipeline.ts';
import {
  AUTH,
  consoleSession,
  expectAccessible,
  pageTimelineIds,
  see,
  signIn,
  startConsoleApp,
  watchErrors,
} from './console-harness.ts';

/**
 * Issue 15 in the console: the Effectiveness page (`/stats`) and the search of past incidents on
 * the incident list, against a real Fireline whose history is the embedded PGlite; and an incident
 * swept from Redis, served from the history, still opens on its page.
 */

const redisUrl = inject('redisUrl');

const DAY_MS = 86_400_000;
const UNMATCHED = 'PaymentsQueueStuck';

const pglite = HISTORY_BACKENDS.find((b) => b.name === 'pglite');

/** An Alertmanager v4 group with one firing alert. */
function alertGroup(labels: Record<string, string>) {
  return {
    version: '4',
    groupKey: `{}:{alertname="${labels.alertname}"}`,
    status: 'firing',
    receiver: 'fireline',
    groupLabels: { alertname: labels.alertname },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test:9093',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: { summary: `${labels.alertname} is firing` },
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.test:9090/graph',
      },
    ],
  };
}

/** Posts an alert through the Alertmanager webhook; resolves with the incidents it opened. */
async function postAlert(url: string, labels: Record<string, string>): Promise<string[]> {
  const res = await fetch(`${url}/api/v1/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${AUTH.ingestToken}` },
    body: JSON.stringify(alertGroup(labels)),
  });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const body = JSON.parse(text) as { results: { outcomes: { incidentId?: string }[] }[] };
  return body.results.flatMap((r) => r.outcomes.flatMap((o) => (o.incidentId ? [o.incidentId] : [])));
}

async function act(url: string, path: string, body: unknown = {}): Promise<void> {
  const res = await call(url, 'POST', path, { token: AUTH.operatorToken, body });
  expect(res.status, `${path}: ${res.text}`).toBe(200);
}

/** The archive, run now rather than waiting for its job (which may hold it: then this writes nothing). */
async function archiveNow(deps: PipelineDeps): Promise<void> {
  if (!historyOn(deps)) throw new Error('the history is off');
  await archivePass(deps);
}

/** What the page functions below use of the browser (the tests compile without the DOM library). */
interface BrowserGlobals {
  document: {
    querySelectorAll(selector: string): ArrayLike<{
      width: number;
      height: number;
      getContext(kind: '2d'): {
        getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
      };
    }>;
    documentElement: { scrollWidth: number; clientWidth: number };
  };
}

/** How many pixels each canvas under `selector` has drawn. */
function drawnPixels(page: Page, selector: string): Promise<number[]> {
  return page.evaluate((sel) => {
    const g = globalThis as unknown as BrowserGlobals;
    return Array.from(g.document.querySelectorAll(`${sel} canvas`)).map((canvas) => {
      const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = 0;
      for (let i = 3; i < d.length; i += 4) if ((d[i] ?? 0) > 0) drawn++;
      return drawn;
    });
  }, selector);
}

function pageFits(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const g = globalThis as unknown as BrowserGlobals;
    return g.document.documentElement.scrollWidth <= g.document.documentElement.clientWidth;
  });
}

describe('responder console: effectiveness and past incidents (issue 15)', () => {
  let history: { db: HistoryDb; close(): Promise<void> } | undefined;
  const shots = mkdtempSync(join(tmpdir(), 'fireline-console-history-'));

  beforeAll(async () => {
    if (!pglite) throw new Error('no pglite history backend');
    history = await pglite.open();
  }, 180_000);
  // Registered before the session: the history closes after the browser and the apps.
  afterAll(async () => {
    await history?.close();
  });
  const s = consoleSession();

  it('shows each runbook’s numbers, its weeks and the coverage; finds a past incident by a label value; opens a swept one', async () => {
    if (!history) throw new Error('no history database');
    s.app = await startConsoleApp(redisUrl, { history: history.db });
    const { url, pipeline } = s.app;
    const { deps } = pipeline;
    s.app.openGate();

    // One incident from an alert, worked through by a person and resolved; one triggered by hand, left open.
    const [first] = await postAlert(url, {
      alertname: 'CheckoutDbSaturated',
      pod: 'checkout-db-7f9c',
      cluster: 'eu-1',
    });
    if (!first) throw new Error('the alert opened no incident');
    const second = await s.app.trigger({ cluster: 'us-2', pod: 'checkout-db-2b1a' });
    await eventsUntil(pipeline, first, (e) => e.type === 'remediation.awaiting_approval');
    await eventsUntil(pipeline, second, (e) => e.type === 'remediation.awaiting_approval');
    await act(url, `/api/v1/incidents/${first}/ack`);
    await act(url, `/api/v1/incidents/${first}/approvals/restart_pool`, { decision: 'approve' });
    await act(url, `/api/v1/incidents/${first}/steps/check_dashboards/complete`);
    await eventsUntil(
      pipeline,
      first,
      (e) => e.type === 'remediation.succeeded' && e.data?.stepId === 'restart_pool',
    );
    await act(url, `/api/v1/incidents/${first}/resolve`, { comment: 'pool restarted' });
    // An alert no runbook handles.
    expect(await postAlert(url, { alertname: UNMATCHED, queue: 'settlements', cluster: 'eu-1' })).toEqual([]);

    await expect
      .poll(
        async () => {
          await archiveNow(deps);
          const stats = await call(url, 'GET', '/api/v1/stats', { token: AUTH.viewerToken });
          const runbook = stats.body.runbooks?.find(
            (r: { runbookId: string }) => r.runbookId === 'checkout-db',
          );
          return {
            status: stats.status,
            incidents: runbook?.incidents,
            resolved: runbook?.resolved,
            unmatched: stats.body.coverage?.unmatched?.map((u: { alertname: string }) => u.alertname),
          };
        },
        { timeout: 30_000, interval: 500 },
      )
      .toEqual({ status: 200, incidents: 2, resolved: 1, unmatched: [UNMATCHED] });

    for (const colorScheme of ['light', 'dark'] as const) {
      s.context = await s.browser.newContext({ colorScheme, viewport: { width: 1280, height: 900 } });
      const page = await s.context.newPage();
      page.setDefaultTimeout(20_000);
      const errors = watchErrors(page);
      await page.goto(`${url}/stats`);
      await signIn(page, AUTH.viewerToken);
      await see(page.locator('h1'), 'Effectiveness');
      expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Effectiveness');

      const card = page.locator('[data-runbook="checkout-db"]');
      await see(card.locator('h2'), 'Checkout database saturated');
      await see(card.locator('.figure', { hasText: 'Incidents' }), /2\s*·\s*1 resolved/);
      await see(card.locator('.figure', { hasText: 'Time to resolve' }), /median/);
      await see(card.locator('.figure', { hasText: 'Time to acknowledge' }), /median/);
      await see(card.locator('.figure', { hasText: 'Resolved without a human' }), '0 %');
      await see(card.locator('.figure', { hasText: 'Escalations' }), '0');
      // Actions, rules and manual steps, with the runbook's names for the steps.
      const actions = card.getByRole('region', { name: 'Actions' });
      await see(actions, /Kill idle connections[\s\S]*run_script/);
      await see(actions, /Restart the connection pool[\s\S]*Succeeded 1/);
      await see(card.getByRole('region', { name: 'Rules' }), /Rule 1\s+Database pool exhausted/);
      await see(card.getByRole('region', { name: 'Manual steps' }), /Check the dashboards\s*1/);

      // The two week charts: drawn, each with its words.
      const incidentsChart = card.locator('[data-chart="incidents"]');
      await incidentsChart.locator('canvas').waitFor();
      await expect
        .poll(() => drawnPixels(page, '[data-runbook="checkout-db"] [data-chart="incidents"]'))
        .toEqual([expect.any(Number)]);
      const [drawn] = await drawnPixels(page, '[data-runbook="checkout-db"] [data-chart="incidents"]');
      expect(drawn, 'the incidents chart draws its bars and axes').toBeGreaterThan(2000);
      const plot = incidentsChart.locator('.chart-plot');
      expect(await plot.getAttribute('role')).toBe('img');
      expect(await plot.getAttribute('aria-label')).toMatch(/Incidents per week over .*: 2 in all/);
      await see(card.locator('[data-chart="resolve"] .chart-summary'), /Median time to resolve per week: /);
      await card.locator('[data-chart="resolve"] canvas').waitFor();

      // Coverage: the alert no runbook handles, with its labels.
      const coverage = page.locator('.coverage');
      await see(coverage, 'No runbook handles these');
      const unmatched = coverage.getByRole('region', { name: 'Alerts no runbook handles' });
      await see(unmatched, new RegExp(`${UNMATCHED}\\s*1`));
      await see(unmatched, 'queue=settlements');

      await expectAccessible(page, `stats page (${colorScheme})`);
      const shot = join(shots, `stats-${colorScheme}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`stats page screenshot (${colorScheme}): ${shot}`);

      if (colorScheme === 'light') {
        // The filters: a range and a runbook, kept in the address.
        await page.getByRole('button', { name: 'Last 7 days' }).click();
        await expect.poll(() => new URL(page.url()).search).toBe('?range=7d');
        await see(card.locator('.figure', { hasText: 'Incidents' }), /2\s*·\s*1 resolved/);
        await page.getByRole('button', { name: 'Custom' }).click();
        await page.getByLabel('From (first day)').waitFor();
        await see(page.locator('.stats-range'), /Incidents opened from/);
        await page.getByLabel('Runbook', { exact: true }).selectOption('checkout-db');
        await expect.poll(() => new URL(page.url()).searchParams.get('runbook')).toBe('checkout-db');
        await see(page.locator('h1'), 'Effectiveness: Checkout database saturated');
        await see(card.locator('.figure', { hasText: 'Incidents' }), /2\s*·\s*1 resolved/);
        await page.screenshot({ path: join(shots, 'stats-custom-light.png') });

        // From the runbook's page to its effectiveness.
        await page.goto(`${url}/runbooks/checkout-db`);
        await page.getByRole('link', { name: /Effectiveness: how well this runbook works/ }).click();
        await expect.poll(() => new URL(page.url()).search).toBe('?runbook=checkout-db');
        await see(page.locator('h1'), 'Effectiveness: Checkout database saturated');
        await see(card.locator('.figure', { hasText: 'Incidents' }), /2\s*·\s*1 resolved/);
        // The menu's Effectiveness opens the page anew: every runbook again.
        await page.getByRole('navigation').getByRole('link', { name: 'Effectiveness' }).click();
        await expect.poll(() => page.locator('h1').textContent()).toBe('Effectiveness');
        expect(await page.getByLabel('Runbook', { exact: true }).inputValue()).toBe('');
        await page.goBack();
        await see(page.locator('h1'), 'Effectiveness: Checkout database saturated');

        // On a phone: nothing wider than the screen.
        await page.setViewportSize({ width: 375, height: 800 });
        await card.locator('[data-chart="resolve"] canvas').waitFor();
        await expect.poll(() => pageFits(page), { timeout: 5000 }).toBe(true);
        await page.screenshot({ path: join(shots, 'stats-375-light.png'), fullPage: true });
        await card.locator('.stats-parts').screenshot({ path: join(shots, 'stats-375-tables-light.png') });
        await page.setViewportSize({ width: 1280, height: 900 });
      }
      errors.check();
      await s.context.close();
      s.context = undefined;
    }

    // The search of past incidents, on the incident list.
    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = watchErrors(page);
    await page.goto(`${url}/`);
    await signIn(page, AUTH.viewerToken);
    const live = page.getByRole('list', { name: 'Incidents', exact: true });
    await see(live, 'Checkout database saturated');
    expect(
      await live.locator(`a[href="/incidents/${first}"]`).count(),
      'resolved: not in the open list',
    ).toBe(0);
    const box = page.getByLabel('Search past incidents');
    await box.fill('checkout-db-7f9c');
    await box.press('Enter');
    const found = page.getByRole('list', { name: 'Past incidents found' });
    await see(found, 'Checkout database saturated');
    await see(page.locator('main'), '1 past incident matches “checkout-db-7f9c”.');
    expect(await found.locator(`a[href="/incidents/${first}"]`).count()).toBe(1);
    expect(await found.locator(`a[href="/incidents/${second}"]`).count()).toBe(0);
    await see(found, 'Resolved');
    expect(new URL(page.url()).search).toBe('?q=checkout-db-7f9c');
    await expectAccessible(page, 'search results');
    await page.screenshot({ path: join(shots, 'search.png'), fullPage: true });

    // Two words, both must match: the other incident's cluster and the shared service.
    await box.fill('us-2 checkout');
    await box.press('Enter');
    await see(page.locator('main'), '1 past incident matches “us-2 checkout”.');
    expect(await found.locator(`a[href="/incidents/${second}"]`).count()).toBe(1);

    // Cleared: the live list is back; so it is from the menu's Incidents while searching.
    await page.getByRole('button', { name: 'Clear' }).click();
    await see(live, 'Checkout database saturated');
    await see(page.getByRole('group', { name: 'Show' }), 'Resolved');
    expect(await found.count()).toBe(0);
    expect(new URL(page.url()).search).toBe('');
    await box.fill('checkout-db-7f9c');
    await box.press('Enter');
    await see(found, 'Checkout database saturated');
    await page.getByRole('navigation').getByRole('link', { name: 'Incidents' }).click();
    await see(live, 'Checkout database saturated');
    expect(await box.inputValue()).toBe('');

    // Swept from Redis: the incident's page still opens, from the history, with its whole timeline.
    const archived = await deps.history?.timeline(first, { limit: 1000 });
    expect(await sweepIncidents({ ...deps, now: () => new Date(Date.now() + 91 * DAY_MS) })).toEqual({
      removed: 1,
    });
    expect(await deps.store.get(first), 'swept from Redis').toBeNull();
    await box.fill('checkout-db-7f9c');
    await box.press('Enter');
    await found.locator(`a[href="/incidents/${first}"]`).click();
    await see(page.locator('.summary'), '✓ Resolved');
    await see(page.locator('.next'), 'This incident is resolved.');
    await expect
      .poll(() => pageTimelineIds(page), { timeout: 20_000 })
      .toEqual((archived ?? []).map((e) => e.id));
    await see(page.locator('[data-testid="timeline"]'), 'pool restarted');
    // Back: the search is still there.
    await page.goBack();
    await see(found, 'Checkout database saturated');
    errors.check();
  });

  it('says the history is off, as a notice, on the stats page and in the search', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = watchErrors(page);
    await page.goto(`${s.app.url}/stats`);
    await signIn(page, AUTH.viewerToken);
    const notice = page.locator('[data-testid="history-off"]');
    await see(notice, 'No history to measure.');
    await see(notice, 'FIRELINE_HISTORY=on');
    expect(await page.locator('.panel.fail').count(), 'not an error page').toBe(0);
    await expectAccessible(page, 'stats page, history off');

    await page.goto(`${s.app.url}/`);
    await see(page.locator('main'), 'No open incidents.');
    await page.getByLabel('Search past incidents').fill('checkout');
    await page.getByLabel('Search past incidents').press('Enter');
    await see(notice, 'Past incidents cannot be searched.');
    await see(notice, 'FIRELINE_HISTORY=on');
    errors.check();
  });
});
