import { describe, expect, inject, it } from 'vitest';
import {
  AUTH,
  consoleSession,
  expectAccessible,
  screenshotPath,
  see,
  signIn,
  startConsoleApp,
} from './console-harness.ts';

/**
 * The Setup page (the doctor's report of the running Fireline) and the incident page's "not
 * wired" banner, in Chromium. The console app's runbook escalates to #checkout-oncall and no Slack
 * webhook is configured: the Setup page shows that check failed with the variable to set, and the
 * incident says so above its actions.
 */

const redisUrl = inject('redisUrl');

describe('responder console: Setup', () => {
  const s = consoleSession();

  it('shows every check with its fix, and the incident page names what its runbook needs but nobody configured; light and dark pass axe', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.app.openGate();
    const id = await s.app.trigger();
    for (const colorScheme of ['light', 'dark'] as const) {
      s.context = await s.browser.newContext({ colorScheme, viewport: { width: 1280, height: 900 } });
      const page = await s.context.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto(`${s.app.url}/`);
      await signIn(page, AUTH.viewerToken);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Setup' }).click();
      expect(new URL(page.url()).pathname).toBe('/setup');
      const slack = page.locator('[data-check="connection.slack:#checkout-oncall"]');
      await see(slack, 'Failed');
      await see(
        slack,
        "SLACK_WEBHOOK_URL (every channel), or connections.slack.webhooks['#checkout-oncall'] in fireline.yaml",
      );
      await see(page.locator('[data-check="redis.reachable"]'), 'OK');
      await see(page.locator('[data-check="connection.program:node"]'), /found at \//);
      await see(page.locator('[data-check="settings.tokens"]'), 'on: the API and console ask for a token');
      await expect(page.getByRole('link', { name: 'Setup' }).getAttribute('aria-current')).resolves.toBe(
        'page',
      );
      await page.screenshot({ path: screenshotPath(`setup-${colorScheme}.png`), fullPage: true });
      await expectAccessible(page, `setup page (${colorScheme})`);

      await page.goto(`${s.app.url}/incidents/${id}`);
      const banner = page.getByRole('note');
      await see(banner, 'Not wired: this runbook needs what is not configured');
      await see(banner, 'Slack #checkout-oncall');
      await see(banner, 'SLACK_WEBHOOK_URL');
      await page.screenshot({ path: screenshotPath(`incident-not-wired-${colorScheme}.png`) });
      await expectAccessible(page, `incident page with the not-wired banner (${colorScheme})`);
      await banner.getByRole('link', { name: 'See the whole setup' }).click();
      await see(page.locator('h1'), 'Setup');
      await s.context.close();
      s.context = undefined;
    }
  });
});
