import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { createMetrics } from '../../src/producer/metrics.ts';
import { type HttpServer, listen } from '../../src/producer/server.ts';
import { actionMarker, call } from '../helpers/api.ts';
import { FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';
import { consoleRunbook, consoleSession, see, watchErrors } from './console-harness.ts';

const redisUrl = inject('redisUrl');

/** A page of another origin (another port of this machine) that posts to Fireline as it loads. */
function attackerPage(target: string): string {
  const pause = `${target}/api/v1/remediations/pause`;
  return `<!doctype html><title>cute cats</title>
<iframe name="sink"></iframe>
<form id="plain" method="post" enctype="text/plain" action="${pause}" target="sink">
  <input name='{"paused":true,"x":"' value='"}' />
</form>
<form id="url" method="post" action="${pause}" target="sink"><input name="paused" value="true" /></form>
<script>
  fetch(${JSON.stringify(pause)}, { method: 'POST', mode: 'no-cors' }).catch(() => {});
  fetch(${JSON.stringify(pause)}, { method: 'POST', mode: 'no-cors', body: 'x=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' } }).catch(() => {});
  document.getElementById('plain').submit();
  setTimeout(() => { document.getElementById('url').submit(); document.title = 'sent'; }, 300);
</script>`;
}

describe('the console with authentication off (loopback only), in Chromium', () => {
  let pipeline: Pipeline | undefined;
  let http: HttpServer | undefined;
  let attacker: Server | undefined;
  // Registered before the session: runs after it, once the page's context is closed.
  afterEach(async () => {
    attacker?.closeAllConnections();
    await new Promise((resolve) => (attacker ? attacker.close(resolve) : resolve(undefined)));
    await http?.close();
    await pipeline?.close(5000);
    pipeline = http = attacker = undefined;
  });
  const s = consoleSession();

  async function start(): Promise<{ pipeline: Pipeline; url: string }> {
    pipeline = await testPipeline(redisUrl, [consoleRunbook('/dev/null', actionMarker().path)]);
    await pipeline.startWorkers(FAST_WORKERS);
    const metrics = createMetrics({ pipeline, logger: pipeline.deps.logger });
    const deps = { pipeline, auth: {}, logger: pipeline.deps.logger, runbookPaths: [] };
    http = await listen(deps, metrics, '127.0.0.1', 0);
    return { pipeline, url: http.url };
  }

  it('acts on an incident from its own page, at 127.0.0.1 and at localhost', async () => {
    const { pipeline, url } = await start();
    const port = new URL(url).port;
    s.context = await s.browser.newContext();
    for (const base of [url, `http://localhost:${port}`]) {
      const opened = await call(url, 'POST', '/api/v1/incidents', {
        body: { runbookId: 'checkout-db', labels: { cluster: base } },
      });
      expect(opened.status, opened.text).toBe(201);
      const id = opened.body.incidentId as string;
      const page = await s.context.newPage();
      page.setDefaultTimeout(20_000);
      const errors = watchErrors(page);
      await page.goto(`${base}/incidents/${id}`);
      await page.getByRole('button', { name: 'Acknowledge' }).click();
      await see(page.locator('.actions'), 'Acknowledged: escalation is cancelled.');
      expect((await pipeline.deps.store.get(id))?.acknowledged, base).toBe(true);
      errors.check();
      await page.close();
    }
  });

  it('a page of another origin cannot pause remediations with a form or a no-cors fetch', async () => {
    const { pipeline, url } = await start();
    attacker = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(attackerPage(url)),
    );
    await new Promise<void>((resolve) => attacker!.listen(0, '127.0.0.1', resolve));
    const evil = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
    s.context = await s.browser.newContext();
    const page = await s.context.newPage();
    await page.goto(evil);
    await page.waitForFunction("document.title === 'sent'");
    // Give the second form time to arrive before looking.
    await page.waitForTimeout(500);
    expect(await pipeline.deps.queues.byName.remediations.isPaused()).toBe(false);
  });
});
