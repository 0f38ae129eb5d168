import { afterEach, describe, inject, it } from 'vitest';
import { type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import { acknowledge } from '../../src/incidents/operations.ts';
import { eventsUntil } from '../helpers/pipeline.ts';
import {
  AUTH,
  consoleSession,
  expectTimelineMatchesStore,
  see,
  signIn,
  startConsoleApp,
} from './console-harness.ts';

const redisUrl = inject('redisUrl');

describe('responder console: live updates survive a lost connection', () => {
  const redises: PrivateRedis[] = [];
  // Registered before the session: runs after it, once the app that used these Redises is closed.
  afterEach(async () => {
    for (const r of redises.splice(0)) await r.stop();
  });
  const s = consoleSession();

  it('the server goes away: the page says reconnecting, then catches up with every event it missed, once', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.app.openGate();
    const id = await s.app.trigger();
    await eventsUntil(s.app.pipeline, id, (e) => e.type === 'remediation.awaiting_approval');
    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${s.app.url}/incidents/${id}`);
    await signIn(page, AUTH.operatorToken);
    await see(page.locator('.page-head').first(), 'Live');
    await expectTimelineMatchesStore(page, s.app.pipeline, id);

    const pipeline = s.app.pipeline;
    await s.app.restartHttp(async () => {
      await page.getByTestId('reconnecting').first().waitFor();
      // Happens while the console cannot hear it.
      await acknowledge(pipeline.deps, id, 'slack:U42');
      await pipeline.deps.store.appendEvent(id, {
        type: 'note',
        actor: 'slack:U42',
        message: 'written while the console was offline',
      });
    });

    await page.getByTestId('reconnecting').first().waitFor({ state: 'detached' });
    await see(page.getByTestId('timeline'), 'written while the console was offline');
    await see(page.getByTestId('timeline'), 'slack:U42 acknowledged the incident');
    await expectTimelineMatchesStore(page, s.app.pipeline, id);
    // The incident itself was read again after the reconnect, not only the timeline.
    await see(page.getByTestId('escalation'), 'Escalation cancelled: the incident is acknowledged.');
    await see(page.locator('.actions'), 'Acknowledged');
  });

  it('the incidents list picks up incidents opened while it was disconnected', async () => {
    s.app = await startConsoleApp(redisUrl);
    s.app.openGate();
    s.context = await s.browser.newContext({ viewport: { width: 375, height: 800 } });
    const page = await s.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${s.app.url}/`);
    await signIn(page, AUTH.viewerToken);
    await see(page.locator('main'), 'No open incidents.');
    await see(page.locator('.page-head'), 'Live');

    let opened = '';
    const current = s.app;
    await s.app.restartHttp(async () => {
      await page.getByTestId('reconnecting').first().waitFor();
      const [outcome] = await current.pipeline.intake(
        {
          source: 'manual',
          status: 'firing',
          labels: { alertname: 'CheckoutDbSaturated', cluster: 'us-2' },
          annotations: {},
          fingerprint: 'offline-1',
          startsAt: new Date().toISOString(),
        },
        { runbookId: 'checkout-db', actor: 'test' },
      );
      if (outcome?.outcome !== 'opened')
        throw new Error(`expected an opened incident, got ${JSON.stringify(outcome)}`);
      opened = outcome.incidentId;
    });
    await page.getByTestId('reconnecting').first().waitFor({ state: 'detached' });
    await see(page.locator(`a[href="/incidents/${opened}"]`), 'Checkout database saturated');
  });

  it('Redis goes away: the page shows the API reason instead of going quiet, and recovers by itself', async () => {
    const redis = await startRedis();
    redises.push(redis);
    s.app = await startConsoleApp(redis.url);
    s.app.openGate();
    const id = await s.app.trigger();
    await eventsUntil(s.app.pipeline, id, (e) => e.type === 'remediation.awaiting_approval');
    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await s.context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${s.app.url}/incidents/${id}`);
    await signIn(page, AUTH.operatorToken);
    await see(page.locator('.page-head').first(), 'Live');

    // With Redis down the stream is refused (503), which EventSource does not retry by itself.
    await redis.stop();
    await s.app.restartHttp(async () => {});
    await see(page.locator('main'), 'Redis is unavailable; retry shortly');
    await page.getByTestId('reconnecting').first().waitFor();

    redises.push(await startRedis([], { port: redis.port }));
    await page.getByTestId('reconnecting').first().waitFor({ state: 'detached', timeout: 45_000 });
    await page.getByText('Redis is unavailable').waitFor({ state: 'detached' });
    await expectTimelineMatchesStore(page, s.app.pipeline, id);
  });
});
