import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Pipeline, PipelineOptions } from '../../src/process/pipeline.ts';
import type { AuthConfig } from '../../src/producer/auth.ts';
import { createMetrics, type Metrics } from '../../src/producer/metrics.ts';
import { type HttpServer, listen } from '../../src/producer/server.ts';
import { actionMarker, call } from '../helpers/api.ts';
import { FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';

/** Tokens of the console tests: an operator acts, a viewer only watches, ingest posts alerts. */
export const AUTH = {
  operatorToken: 'console-operator',
  viewerToken: 'console-viewer',
  ingestToken: 'console-ingest',
} satisfies AuthConfig;

export const SCREENSHOTS = join(import.meta.dirname, 'screenshots');

/** Headless Chromium from Debian, with a fresh profile. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** What a console test works with: one browser for its describe, an app and a context per test. */
export interface ConsoleSession {
  browser: Browser;
  app?: ConsoleApp;
  context?: BrowserContext;
}

/**
 * Call inside a describe: launches the browser before its tests and closes it after them; after
 * each test, closes the `context` and the `app` the test put on the session, and forgets them.
 * After-hooks run last-registered first: a describe's own afterEach/afterAll registered before
 * this call runs after the session's (its context and app are closed by then).
 */
export function consoleSession(): ConsoleSession {
  const session = {} as ConsoleSession;
  beforeAll(async () => {
    session.browser = await launchBrowser();
  });
  afterAll(async () => {
    await session.browser?.close();
  });
  afterEach(async () => {
    await session.context?.close();
    await session.app?.close();
    session.context = undefined;
    session.app = undefined;
  });
  return session;
}

/**
 * A checkout runbook: the database check waits until the test opens its gate (so the page can be
 * seen "running"), then reports 96 % used → critical; the error-rate check is healthy at once.
 * Critical → an automated fix, a fix that needs approval, and a manual check.
 */
export function consoleRunbook(gate: string, marker: string): string {
  const append = (word: string) =>
    `[node, -e, "require('fs').appendFileSync(process.argv[1], '${word}\\\\n')", "${marker}"]`;
  const wait =
    "const fs = require('fs'); const t = setInterval(() => { if (fs.existsSync(process.argv[1])) " +
    '{ clearInterval(t); console.log(JSON.stringify({ used_pct: 96 })); } }, 25);';
  return `
id: checkout-db
name: Checkout database saturated
description: The checkout database connection pool is nearly full
severity: P1
service: checkout
triggers:
  - type: alert
    alertName: CheckoutDbSaturated
diagnostics:
  - id: check_db_connections
    name: Database connections
    description: How full the connection pool is
    type: shell_command
    timeout: 60
    config:
      command: [node, -e, "${wait}", "${gate}"]
    interpret:
      critical: "json.used_pct >= 90"
      warning: "json.used_pct >= 75"
      healthy: "json.used_pct < 75"
  - id: check_error_rate
    name: Error rate
    type: shell_command
    config:
      command: [node, -e, "console.log(JSON.stringify({ errors_pct: 0.4 }))"]
    interpret:
      critical: "json.errors_pct > 5"
      healthy: "json.errors_pct <= 5"
decisionTree:
  - condition: "diagnostics.check_db_connections.status == 'critical'"
    description: Database pool exhausted
    then: [kill_idle_connections, restart_pool, check_dashboards]
  - condition: "diagnostics.check_error_rate.status == 'critical'"
    description: Errors are high
    then: [check_dashboards]
remediations:
  - id: kill_idle_connections
    name: Kill idle connections
    type: automated
    action:
      type: run_script
      config:
        command: ${append('kill')}
  - id: restart_pool
    name: Restart the connection pool
    type: automated
    requiresApproval: true
    action:
      type: run_script
      config:
        command: ${append('restart')}
  - id: check_dashboards
    name: Check the dashboards
    type: manual
    instructions: Open the checkout dashboard and compare p99 latency with last week.
escalation:
  primary: "#checkout-oncall"
  escalateAfterMinutes: 15
`;
}

/** A running Fireline (API with the console, all workers) on the run's private Redis. */
export interface ConsoleApp {
  url: string;
  pipeline: Pipeline;
  /** Opens the diagnostic's gate: the database check finishes. */
  openGate(): void;
  /** What the runbook's actions wrote (`kill`, `restart`). */
  actionsRun(): string[];
  /** Manual trigger through the API as the operator; resolves with the incident id. */
  trigger(labels?: Record<string, string>): Promise<string>;
  /** Drops every HTTP connection and stops listening, runs `whileDown`, then listens again on the same port. */
  restartHttp(whileDown: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/** `extra`: pipeline options beyond the test defaults (a history database, say). */
export async function startConsoleApp(
  redisUrl: string,
  extra: Partial<PipelineOptions> = {},
): Promise<ConsoleApp> {
  const dir = mkdtempSync(join(tmpdir(), 'fireline-console-'));
  const gate = join(dir, 'gate');
  const marker = actionMarker();
  const pipeline = await testPipeline(redisUrl, [consoleRunbook(gate, marker.path)], extra);
  let http: HttpServer | undefined;
  try {
    await pipeline.startWorkers(FAST_WORKERS);
    const metrics: Metrics = createMetrics({ pipeline, logger: pipeline.deps.logger });
    const deps = { pipeline, auth: AUTH, logger: pipeline.deps.logger, runbookPaths: [] };
    http = await listen(deps, metrics, '127.0.0.1', 0);
    const url = http.url;
    const port = Number(new URL(url).port);
    const stopHttp = async () => {
      const closing = http?.close();
      http?.server.closeAllConnections();
      await closing;
      http = undefined;
    };
    return {
      url,
      pipeline,
      openGate: () => writeFileSync(gate, 'open'),
      actionsRun: () => marker.ran(),
      async trigger(labels = { cluster: 'eu-1' }) {
        const res = await call(url, 'POST', '/api/v1/incidents', {
          token: AUTH.operatorToken,
          body: { runbookId: 'checkout-db', labels },
        });
        expect(res.status, res.text).toBe(201);
        return res.body.incidentId as string;
      },
      async restartHttp(whileDown) {
        await stopHttp();
        await whileDown();
        http = await listen(deps, metrics, '127.0.0.1', port);
      },
      async close() {
        await stopHttp();
        await pipeline.close(5000);
      },
    };
  } catch (err) {
    await http?.close();
    await pipeline.close(5000);
    throw err;
  }
}

/** Waits until `locator` shows `text`; on timeout, names what it showed instead. */
export async function see(locator: Locator, text: string | RegExp, timeoutMs = 20_000): Promise<void> {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ timeout: timeoutMs });
  } catch (err) {
    const seen = await locator.allInnerTexts();
    throw new Error(
      `expected ${locator} to show ${text}; it shows:\n${seen.join('\n---\n') || '(nothing)'}`,
      {
        cause: err,
      },
    );
  }
}

/** Signs in on the token prompt. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The ids of the timeline entries the page shows, in order. */
export function pageTimelineIds(page: Page): Promise<string[]> {
  return page
    .locator('[data-testid="timeline"] [data-event-id]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-event-id') ?? ''));
}

/** Waits until the page's timeline is exactly the store's (same ids, same order, none twice). */
export async function expectTimelineMatchesStore(page: Page, pipeline: Pipeline, incidentId: string) {
  await expect
    .poll(
      async () => {
        const [shown, stored] = await Promise.all([
          pageTimelineIds(page),
          pipeline.deps.store.timeline(incidentId).then((events) => events.map((e) => e.id)),
        ]);
        return {
          missing: stored.filter((id) => !shown.includes(id)),
          shown: shown.length,
          stored: stored.length,
          sameOrder: shown.join() === stored.join(),
        };
      },
      { timeout: 20_000, interval: 200 },
    )
    .toMatchObject({ missing: [], sameOrder: true });
}

/** Collects page errors and CSP violations; `check` fails naming them. */
export function watchErrors(page: Page): { check(): void } {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  return {
    check: () => expect(errors, 'errors in the page').toEqual([]),
  };
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, name);
}

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** What axe needs of the browser (the tests compile without the DOM library). */
interface AxeGlobals {
  document: unknown;
  axe: {
    run(
      context: unknown,
      options: object,
    ): Promise<{
      violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
      passes: unknown[];
    }>;
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core'), 'utf8');

/** Runs axe-core in the page (evaluated through the debugger protocol, so the CSP stays on). */
async function axeViolations(page: Page): Promise<Violation[]> {
  await page.evaluate(axeSource);
  const { passes, violations } = await page.evaluate(async () => {
    const g = globalThis as unknown as AxeGlobals;
    const result = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return {
      passes: result.passes.length,
      violations: result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(' ')),
      })),
    };
  });
  expect(passes, 'axe checked something').toBeGreaterThan(0);
  return violations;
}

/** Prints every axe violation on the page, and fails on serious or critical ones. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const violations = await axeViolations(page);
  for (const v of violations)
    console.log(`axe ${what}: ${v.impact} ${v.id}: ${v.help} at ${v.targets.slice(0, 3).join(', ')}`);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `serious or critical axe violations on ${what}`).toEqual([]);
}
