import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import {
  AUTH,
  consoleSession,
  expectTimelineMatchesStore,
  screenshotPath,
  see,
  signIn,
  startConsoleApp,
  watchErrors,
} from './console-harness.ts';

const redisUrl = inject('redisUrl');

describe('responder console, end to end in Chromium', () => {
  const s = consoleSession();

  it('guides an operator through an incident: live verdicts, rationale, approve, manual step, ack, resolve, report', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = watchErrors(page);

    await page.goto(`${s.app.url}/`);
    await signIn(page, AUTH.operatorToken);
    await see(page.locator('main'), 'No open incidents.');
    await see(page.locator('header'), 'Operator');

    // The list follows the global event stream: the new incident appears without a reload.
    const id = await s.app.trigger();
    const row = page.getByRole('link', { name: /Checkout database saturated/ });
    await row.waitFor();
    await see(row, 'P1');
    await row.click();
    await page.waitForURL(`**/incidents/${id}`);

    // Why it ran, and the database check seen running before its verdict arrives.
    await see(page.locator('section', { hasText: 'Why this ran' }), /alert CheckoutDbSaturated fired/);
    const db = page.locator('[data-step="check_db_connections"]');
    await see(db, 'Running');
    await see(page.locator('[data-step="check_error_rate"]'), 'Healthy');
    s.app.openGate();
    await see(db, '✗ Critical');
    await see(db, 'check_db_connections is critical: json.used_pct 96 ≥ 90');
    await see(db, /Took \d+(\.\d)? (ms|s)/);

    // The decision's reasoning: which rule held, on which values.
    const rules = page.locator('.rule');
    await see(rules.nth(0), '✓ Held');
    await see(rules.nth(0), 'Database pool exhausted');
    await see(rules.nth(0), `diagnostics.check_db_connections.status "critical" = 'critical'`);
    await see(rules.nth(1), 'Did not hold');

    // The plan: the automated step ran, the approval waits, the escalation counts down.
    await see(page.locator('[data-step="kill_idle_connections"]'), 'Succeeded');
    const approval = page.locator('[data-step="restart_pool"]');
    await see(approval, 'Needs approval');
    await see(page.getByTestId('escalation'), /Escalates to #checkout-oncall in 1[45]:\d\d/);
    await see(page.locator('.next'), 'Approve or reject “Restart the connection pool”.');

    await page.screenshot({ path: screenshotPath('incident-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: screenshotPath('incident-375.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    await approval.getByLabel('Comment (optional)').fill('pool is stuck, restarting');
    await approval.getByRole('button', { name: 'Approve' }).click();
    await see(approval, 'Approved “Restart the connection pool”: it is queued to run.');
    await see(approval, 'Succeeded');
    await see(approval, 'pool is stuck, restarting');
    expect(s.app.actionsRun()).toEqual(['kill', 'restart']);

    const manual = page.locator('[data-step="check_dashboards"]');
    await see(manual, 'Open the checkout dashboard and compare p99 latency with last week.');
    await manual.getByLabel(/Done/).check();
    await see(manual, 'Marked “Check the dashboards” done.');
    await see(manual, '✓ Done');
    expect(await manual.getByRole('checkbox').isChecked()).toBe(true);

    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await see(page.locator('.actions'), 'Acknowledged: escalation is cancelled.');
    await see(page.getByTestId('escalation'), 'Escalation cancelled: the incident is acknowledged.');

    await page.getByRole('button', { name: 'Resolve…' }).click();
    await page.getByLabel('What fixed it?').fill('restarted the pool; latency back to normal');
    await page.getByRole('button', { name: 'Yes, resolve' }).click();
    await see(page.locator('.summary'), '✓ Resolved');
    await see(page.locator('.next'), 'This incident is resolved.');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Post-incident report' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${id}.md`);
    const report = readFileSync(await download.path(), 'utf8');
    for (const part of [
      `# Incident ${id}: Checkout database saturated (P1)`,
      'check\\_db\\_connections',
      'Database pool exhausted',
      'restart\\_pool',
      'pool is stuck, restarting',
      'restarted the pool; latency back to normal',
    ])
      expect(report, `report should contain ${part}`).toContain(part);
    await see(page.locator('.actions'), `Report downloaded as ${id}.md.`);

    await expectTimelineMatchesStore(page, s.app.pipeline, id);
    errors.check();
  });

  it('a viewer token sees the incident, but approving is disabled and says why', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.app.openGate();
    const id = await s.app.trigger();
    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${s.app.url}/incidents/${id}`);
    await signIn(page, AUTH.viewerToken);
    await see(page.locator('header'), 'Viewer (read-only)');

    const approval = page.locator('[data-step="restart_pool"]');
    await see(approval, 'Needs approval');
    const approve = approval.getByRole('button', { name: 'Approve' });
    expect(await approve.isDisabled(), 'Approve is disabled for a viewer').toBe(true);
    expect(await approval.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
    await see(approval, 'Your token can view but not act');
    expect(await approve.getAttribute('aria-describedby')).toBe('why-restart_pool');
    expect(await page.getByRole('button', { name: 'Acknowledge' }).isDisabled()).toBe(true);
    expect(await page.locator('[data-step="check_dashboards"]').getByRole('checkbox').isDisabled()).toBe(
      true,
    );
    // Reading is not an action: the report still downloads.
    expect(await page.getByRole('button', { name: 'Post-incident report' }).isDisabled()).toBe(false);

    const incident = await s.app.pipeline.deps.store.get(id);
    expect(incident?.plan.find((s) => s.stepId === 'restart_pool')?.state).toBe('awaiting_approval');
  });

  it('a wrong token is refused on the prompt, with the reason', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.context = await s.browser.newContext();
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${s.app.url}/runbooks`);
    await signIn(page, 'not-a-token');
    await see(page.locator('main'), 'the bearer token is not valid');
    await signIn(page, AUTH.viewerToken);
    await see(page.locator('main'), 'Checkout database saturated');
  });
});
