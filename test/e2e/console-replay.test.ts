import { describe, expect, inject, it } from 'vitest';
import { call } from '../helpers/api.ts';
import { eventsUntil } from '../helpers/pipeline.ts';
import {
  AUTH,
  consoleSession,
  expectAccessible,
  see,
  signIn,
  startConsoleApp,
  watchErrors,
} from './console-harness.ts';

const redisUrl = inject('redisUrl');

/** What the page function below uses of the browser (the tests compile without the DOM library). */
interface BrowserGlobals {
  document: { activeElement: { textContent: string | null } | null };
  navigator: { clipboard: { readText(): Promise<string> } };
}

describe('responder console: save an incident as a runbook test', () => {
  const s = consoleSession();

  it('the button shows the YAML case, the CLI command and that the runbook still agrees; Copy copies the case', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.app.openGate();
    const id = await s.app.trigger();
    await eventsUntil(s.app.pipeline, id, (e) => e.type === 'decision.made');
    const replay = await call(s.app.url, 'GET', `/api/v1/incidents/${id}/replay`, {
      token: AUTH.viewerToken,
    });
    expect(replay.status, replay.text).toBe(200);

    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
    await s.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.app.url });
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = watchErrors(page);
    await page.goto(`${s.app.url}/incidents/${id}`);
    // A viewer may read the replay: saving a test changes nothing in Fireline.
    await signIn(page, AUTH.viewerToken);

    const button = page.getByRole('button', { name: 'Save as runbook test' });
    await expect.poll(() => button.isEnabled(), { timeout: 20_000 }).toBe(true);
    expect(await button.getAttribute('aria-expanded')).toBe('false');
    await button.click();
    expect(await button.getAttribute('aria-expanded')).toBe('true');

    const yaml = page.getByLabel('The test case as YAML');
    await see(yaml, `- name: replay of ${id} (CheckoutDbSaturated,`);
    expect(await yaml.textContent()).toBe(replay.body.testCaseYaml);
    await see(page.getByTestId('replay-command'), `fireline test --from-incident ${id}`);
    await see(page.locator('.replay'), 'The runbook as loaded now decides the same: the case passes.');
    const focused = await page.evaluate(
      () => (globalThis as unknown as BrowserGlobals).document.activeElement?.textContent ?? '',
    );
    expect(focused, 'the reader is taken to the case').toBe('Test case for runbook checkout-db');
    await expectAccessible(page, 'incident page with the runbook test case');

    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await see(page.locator('.replay'), 'Copied.');
    const copied = await page.evaluate(() =>
      (globalThis as unknown as BrowserGlobals).navigator.clipboard.readText(),
    );
    expect(copied).toBe(replay.body.testCaseYaml);

    await button.click();
    expect(await button.getAttribute('aria-expanded')).toBe('false');
    expect(await yaml.isVisible()).toBe(false);
    errors.check();
  });
});
