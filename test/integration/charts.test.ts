import type { ServerResponse } from 'node:http';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import { createAdapters } from '../../src/adapters/index.ts';
import type { Chart } from '../../src/engine/chart.ts';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { QUEUES } from '../../src/queues/catalog.ts';
import { startApi } from '../helpers/api-server.ts';
import {
  type Cleanups,
  chartRunbook,
  METRIC,
  metricStack,
  openMetricIncident,
  pipelineWith,
  verifiedAndCharted,
} from '../helpers/metric-stack.ts';
import { eventsUntil, FAST_WORKERS, httpServer, testPipeline } from '../helpers/pipeline.ts';
import { startReceiver } from '../helpers/receiver.ts';

const redisUrl = inject('redisUrl');

/**
 * Issue 14: each metric diagnostic keeps a chart of its query around the alert. A real Prometheus
 * scrapes an exporter whose value rises past the threshold; the automated remediation brings it
 * down (a script POSTs to the test, which lowers the exporter), and its `verify` re-runs the check:
 * the incident then has the chart of the rise and the chart of the fall, served as JSON, SVG and
 * PNG, and Slack gets the chart as an image through a signed link only when Fireline's public URL
 * is not a loopback address.
 */
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const open = openMetricIncident;

/**
 * The stack's Prometheus behind a recording proxy: instant queries pass at once, range queries go
 * to `onRange` (which may answer them itself, or `pass` them on later).
 */
async function prometheusProxy(
  stack: { prometheus: { url: string } },
  onRange: (res: ServerResponse, pass: () => void) => void,
) {
  return httpServer((req, res) => {
    const pass = () =>
      void fetch(`${stack.prometheus.url}${req.url}`).then(
        async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
          res.end(await r.text());
        },
        (err: Error) => {
          res.writeHead(502);
          res.end(err.message);
        },
      );
    if (req.url?.startsWith('/api/v1/query_range')) onRange(res, pass);
    else pass();
  });
}

const finite = (c: Chart) => c.series.flatMap((s) => s.points).filter((v): v is number => v !== null);

describe('metric charts: the evidence around the alert, drawn', () => {
  it('holds the rise, the threshold and the markers; after verify the fall; JSON, SVG and PNG', async () => {
    const stack = await metricStack(cleanups);
    const pipeline = await pipelineWith(redisUrl, cleanups, stack, { publicUrl: 'http://127.0.0.1:3000' });
    const id = await open(pipeline);
    const seen = await eventsUntil(pipeline, id, verifiedAndCharted, 30_000);
    expect(stack.lowered, 'the remediation lowered the metric').toHaveLength(1);

    const charts = await pipeline.deps.store.charts(id);
    expect(Object.keys(charts).sort()).toEqual(['latency', 'verify:latency']);
    const first = charts.latency!;
    expect(first.missing).toBeUndefined();
    expect(first.step).toBe(1000);
    expect(first.thresholds).toEqual([
      { level: 'critical', op: '>=', value: 90, source: 'interpret' },
      { level: 'healthy', op: '<', value: 90, source: 'interpret' },
    ]);
    expect(first.series.map((s) => s.name)).toHaveLength(1);
    expect(Math.min(...finite(first)), 'the chart shows the value before the rise').toBeCloseTo(10, 0);
    expect(Math.max(...finite(first)), 'and the rise').toBeCloseTo(95, 0);
    const after = charts['verify:latency']!;
    const tail = after.series[0]!.points.filter((v): v is number => v !== null).at(-1);
    expect(tail, 'the verify chart ends after the fall').toBeCloseTo(20, 0);
    expect(Math.max(...finite(after)), 'beside the rise').toBeCloseTo(95, 0);

    const api = await startApi(pipeline, [incidentRoutes]);
    cleanups.push(api.close);
    const listed = await fetch(`${api.url}/api/v1/incidents/${id}/charts`);
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as {
      charts: { key: string; phase: string; title: string; markers: { kind: string }[]; svgUrl: string }[];
    };
    expect(body.charts.map((c) => [c.key, c.phase, c.title])).toEqual([
      ['latency', 'diagnosis', 'Payment p99 latency'],
      ['verify:latency', 'verify', 'Payment p99 latency'],
    ]);
    const kinds = body.charts[0]!.markers.map((m) => m.kind);
    for (const kind of [
      'alert_started',
      'incident_opened',
      'remediation_started',
      'remediation_finished',
      'verify',
    ])
      expect(kinds, `markers: ${kinds.join(', ')}`).toContain(kind);
    expect(seen.some((e: TimelineEvent) => e.type === 'decision.made')).toBe(true);

    const svg = await fetch(`${api.url}${body.charts[0]!.svgUrl}`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(svg.headers.get('content-security-policy')).toContain("default-src 'none'");
    const text = await svg.text();
    expect(text.startsWith('<svg')).toBe(true);
    expect(text).toContain('Payment p99 latency');
    expect(text).toMatch(/critical\s*(≥|&gt;=|>=)\s*90/);

    for (const theme of ['light', 'dark'] as const) {
      const png = await fetch(`${api.url}/api/v1/incidents/${id}/charts/verify:latency.png?theme=${theme}`);
      expect(png.status).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
      const image = PNG.sync.read(Buffer.from(await png.arrayBuffer()));
      expect(image.width).toBeGreaterThanOrEqual(720);
      expect(image.height).toBeGreaterThanOrEqual(200);
      const pixel = (x: number, y: number): [number, number, number] => {
        const i = (image.width * y + x) * 4;
        return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
      };
      const corner = pixel(2, 2);
      const lightness = (corner[0] + corner[1] + corner[2]) / 3;
      if (theme === 'light') expect(lightness, `light background ${corner}`).toBeGreaterThan(200);
      else expect(lightness, `dark background ${corner}`).toBeLessThan(80);
      // Something is drawn besides the background: more than a few distinct colours.
      const colours = new Set<string>();
      for (let y = 0; y < image.height; y += 3)
        for (let x = 0; x < image.width; x += 3) colours.add(pixel(x, y).join(','));
      expect(colours.size, 'distinct colours in the PNG').toBeGreaterThan(20);
    }

    // The report: report.md links each chart under the public URL; report.html holds them inline.
    const md = await (await fetch(`${api.url}/api/v1/incidents/${id}/report.md`)).text();
    expect(md).toContain('## Charts');
    expect(md).toContain(`(<http://127.0.0.1:3000/api/v1/incidents/${id}/charts/latency.svg>)`);
    expect(md).toContain(`/charts/verify%3Alatency.svg>)`);
    const html = await fetch(`${api.url}/api/v1/incidents/${id}/report.html`);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await html.text();
    expect(page.match(/<figure role="img" aria-label="[^"]*"><svg /g), 'both charts inline').toHaveLength(2);
    expect(page).not.toContain('<img');
    expect(page).toContain('<h2>Charts</h2>');

    const missing = await fetch(`${api.url}/api/v1/incidents/${id}/charts/nothing.svg`);
    expect(missing.status).toBe(404);
    const bad = await fetch(`${api.url}/api/v1/incidents/${id}/charts/latency.gif`);
    expect(bad.status).toBe(400);
  });

  it('Slack gets the critical chart through a signed link that expires and refuses a changed signature; none at a loopback URL', async () => {
    const stack = await metricStack(cleanups);
    const slack = await startReceiver();
    cleanups.push(slack.close);
    const publicUrl = 'https://fireline.example.test';
    const pipeline = await pipelineWith(redisUrl, cleanups, stack, { publicUrl, slackUrl: slack.url });
    const id = await open(pipeline);
    await eventsUntil(
      pipeline,
      id,
      (e) => e.type === 'notification.sent' && (e.data as { kind?: string }).kind === 'update',
      30_000,
    );
    const messages = slack.json<{ blocks: { type: string; image_url?: string; alt_text?: string }[] }>();
    const images = messages.flatMap((m) => m.blocks.filter((b) => b.type === 'image'));
    expect(images, 'one image block: the critical latency chart in the update').toHaveLength(1);
    const link = new URL(images[0]!.image_url!);
    expect(link.origin).toBe(publicUrl);
    expect(link.pathname).toBe(`/api/v1/chart-images/${id}/latency.png`);
    expect(images[0]!.alt_text).toContain('Payment p99 latency');

    const api = await startApi(pipeline, [incidentRoutes], {
      auth: { viewerToken: 'viewer-token-0123456789', operatorToken: 'operator-token-0123456789' },
    });
    cleanups.push(api.close);
    // No token: the signature is the permission.
    const ok = await fetch(`${api.url}${link.pathname}${link.search}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    const sig = link.searchParams.get('sig')!;
    const changed = new URL(link);
    changed.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
    expect((await fetch(`${api.url}${changed.pathname}${changed.search}`)).status).toBe(403);
    const otherChart = `${api.url}/api/v1/chart-images/${id}/verify:latency.png${link.search}`;
    expect((await fetch(otherChart)).status, 'the link opens its own chart only').toBe(403);
    const expired = await pipeline.deps.chartLinks.sign(id, 'latency', Date.now() - 1000);
    const refused = await fetch(`${api.url}${expired}`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('not valid');
    // The token-guarded route still wants its token.
    expect((await fetch(`${api.url}/api/v1/incidents/${id}/charts/latency.png`)).status).toBe(401);

    // The same incident on a Fireline whose public URL is loopback: no image block.
    const local = await startReceiver();
    cleanups.push(local.close);
    const loopback = await pipelineWith(redisUrl, cleanups, stack, {
      publicUrl: 'http://127.0.0.1:3000',
      slackUrl: local.url,
    });
    stack.exporter.set(METRIC, { service: 'pay' }, 95);
    await stack.prometheus.waitFor(
      `max(${METRIC})`,
      (r) => (r as { value: [number, string] }[])[0]?.value[1] === '95',
    );
    const other = await open(loopback);
    await eventsUntil(
      loopback,
      other,
      (e) => e.type === 'notification.sent' && (e.data as { kind?: string }).kind === 'update',
      30_000,
    );
    const blocks = local.json<{ blocks: { type: string }[] }>().flatMap((m) => m.blocks);
    expect(blocks.filter((b) => b.type === 'image')).toEqual([]);
  });

  it('chart: false draws nothing; a range query that fails leaves the verdict alone and says why', async () => {
    const stack = await metricStack(cleanups);
    const none = await pipelineWith(redisUrl, cleanups, stack, {
      publicUrl: 'http://127.0.0.1:3000',
      chart: 'chart: false',
    });
    const a = await open(none);
    await eventsUntil(none, a, (e) => e.type === 'decision.made', 20_000);
    expect(await none.deps.store.charts(a)).toEqual({});
    expect((await none.deps.store.get(a))?.verdicts.latency?.status).toBe('critical');

    // Prometheus answers instant queries; its range queries fail (a proxy in front refuses them).
    const proxy = await prometheusProxy(stack, (res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'range queries are off' }));
    });
    cleanups.push(proxy.close);
    const failing = await testPipeline(redisUrl, [chartRunbook(stack.lowerUrl)], {
      adapters: createAdapters(ConnectionsSchema.parse({ prometheus: { url: proxy.url } })),
    });
    cleanups.push(() => failing.close(5000));
    await failing.startWorkers(FAST_WORKERS, [QUEUES.triggers, QUEUES.diagnostics, QUEUES.decisions]);
    const b = await open(failing);
    await eventsUntil(failing, b, (e) => e.type === 'decision.made', 20_000);
    expect((await failing.deps.store.get(b))?.verdicts.latency?.status).toBe('critical');
    // Stored beside the verdict, or a moment later by the chart job when the check was faster.
    await expect
      .poll(async () => Object.keys(await failing.deps.store.charts(b)), { timeout: 5000 })
      .toEqual(['latency']);
    const chart = (await failing.deps.store.charts(b)).latency!;
    expect(chart.series).toEqual([]);
    expect(chart.missing).toContain('range queries are off');
    expect(proxy.requests.some((r) => r.startsWith('GET /api/v1/query_range'))).toBe(true);
  });

  it('a slow range query does not hold the decision: the chart comes after it, from a job of its own', async () => {
    const stack = await metricStack(cleanups);
    // Prometheus behind a proxy that holds range queries back 1.5 s; instant queries pass at once.
    const proxy = await prometheusProxy(stack, (_res, pass) => setTimeout(pass, 1500));
    cleanups.push(proxy.close);
    const slow = await testPipeline(redisUrl, [chartRunbook(stack.lowerUrl)], {
      adapters: createAdapters(ConnectionsSchema.parse({ prometheus: { url: proxy.url } })),
    });
    cleanups.push(() => slow.close(5000));
    await slow.startWorkers(FAST_WORKERS, [QUEUES.triggers, QUEUES.diagnostics, QUEUES.decisions]);
    const id = await open(slow);
    const seen = await eventsUntil(slow, id, (e) => e.type === 'diagnostic.charted', 20_000);
    const at = (type: string) => seen.findIndex((e) => e.type === type);
    expect(at('decision.made'), seen.map((e) => e.type).join(', ')).toBeGreaterThan(-1);
    expect(at('decision.made'), 'decided before the chart came').toBeLessThan(at('diagnostic.charted'));
    const chart = (await slow.deps.store.charts(id)).latency!;
    expect(chart.missing).toBeUndefined();
    expect(Math.max(...finite(chart))).toBeCloseTo(95, 0);
    // Asked twice: beside the check (cancelled when the check was done), then by the chart job.
    expect(proxy.requests.filter((r) => r.startsWith('GET /api/v1/query_range'))).toHaveLength(2);
  });
});
