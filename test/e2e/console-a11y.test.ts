import { describe, expect, inject, it } from 'vitest';
import { eventsUntil } from '../helpers/pipeline.ts';
import { AUTH, consoleSession, expectAccessible, see, signIn, startConsoleApp } from './console-harness.ts';

const redisUrl = inject('redisUrl');

/** What the page functions below use of the browser (the tests compile without the DOM library). */
interface BrowserGlobals {
  document: { activeElement: unknown };
  getComputedStyle(el: unknown): { outlineStyle: string; outlineWidth: string };
}

describe('responder console: accessibility and keyboard', () => {
  const s = consoleSession();

  it('the incidents list, an incident page and a runbook have no serious axe violations, light and dark', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.app.openGate();
    const id = await s.app.trigger();
    await eventsUntil(s.app.pipeline, id, (e) => e.type === 'remediation.awaiting_approval');
    for (const colorScheme of ['light', 'dark'] as const) {
      s.context = await s.browser.newContext({ colorScheme, viewport: { width: 1280, height: 800 } });
      const page = await s.context.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto(`${s.app.url}/`);
      await page.getByLabel('Access token').waitFor();
      await expectAccessible(page, `token prompt (${colorScheme})`);
      await signIn(page, AUTH.operatorToken);
      await see(page.locator('.incident-list'), 'Checkout database saturated');
      await expectAccessible(page, `incidents list (${colorScheme})`);

      await page.getByRole('link', { name: /Checkout database saturated/ }).click();
      await see(page.locator('[data-step="restart_pool"]'), 'Needs approval');
      await see(page.locator('[data-step="check_db_connections"]'), 'Critical');
      await expectAccessible(page, `incident page (${colorScheme})`);

      await page.goto(`${s.app.url}/runbooks/checkout-db`);
      await see(page.locator('main'), 'Rule 1');
      await expectAccessible(page, `runbook diagram (${colorScheme})`);
      await s.context.close();
      s.context = undefined;
    }
  });

  it('works from the keyboard: Tab reaches Acknowledge with a visible focus ring, Enter acts', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.app.openGate();
    const id = await s.app.trigger();
    s.context = await s.browser.newContext({ viewport: { width: 375, height: 800 } });
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${s.app.url}/incidents/${id}`);
    await page.getByLabel('Access token').focus();
    await page.keyboard.type(AUTH.operatorToken);
    await page.keyboard.press('Enter');
    await see(page.locator('[data-step="restart_pool"]'), 'Needs approval');

    const focused = () =>
      page.evaluate(() => {
        const g = globalThis as unknown as BrowserGlobals;
        const el = g.document.activeElement as { textContent: string | null } | null;
        const style = el ? g.getComputedStyle(el) : null;
        return {
          text: el?.textContent?.trim() ?? '',
          outline: style ? `${style.outlineStyle} ${style.outlineWidth}` : '',
        };
      });
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const now = await focused();
      seen.push(now.text);
      if (now.text === 'Acknowledge') {
        expect(now.outline, 'focus ring on Acknowledge').toBe('solid 3px');
        break;
      }
    }
    expect(seen.at(-1), `Tab order: ${seen.join(' → ')}`).toBe('Acknowledge');
    await page.keyboard.press('Enter');
    await see(page.locator('.actions'), 'Acknowledged: escalation is cancelled.');
    expect((await s.app.pipeline.deps.store.get(id))?.acknowledged).toBe(true);
  });
});
