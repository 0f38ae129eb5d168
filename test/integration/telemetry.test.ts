import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { alertRoutes } from '../../src/producer/routes/alerts.ts';
import { type RunningTelemetry, startTelemetry } from '../../src/runtime/telemetry.ts';
import { latencyGroup, postJson } from '../helpers/alert-webhooks.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, httpServer, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * Two diagnostics (so the flow has siblings) whose output carries `secret`, a decision, and an
 * automated fix that appends to `marker`: every hop of the pipeline runs.
 */
function tracedRunbook(secret: string, marker: string) {
  const probe = `console.log(JSON.stringify({ token: '${secret}', used_pct: 97 }))`;
  return `
id: traced-latency
name: Traced latency
severity: P2
service: payment-service
triggers:
  - type: alert
    alertName: PaymentServiceHighLatency
diagnostics:
  - id: pool
    name: Pool
    type: shell_command
    config: { command: [node, -e, "${probe}"] }
    interpret: { critical: "json.used_pct >= 90", healthy: "json.used_pct < 90" }
  - id: probe
    name: Probe
    type: shell_command
    config: { command: [node, -e, "${probe}"] }
    interpret: { critical: "exit_code != 0", healthy: "exit_code == 0" }
decisionTree:
  - condition: "diagnostics.pool.status == 'critical'"
    then: [fix]
remediations:
  - id: fix
    name: Fix
    type: automated
    action:
      type: run_script
      config:
        command: [node, -e, "require('fs').appendFileSync(process.argv[1], 'fix\\\\n')", "${marker}"]
escalation:
  primary: "#payments"
  escalateAfterMinutes: 15
`;
}

/** One line per span, `name` (parent name), for failure messages. */
function describeSpans(spans: readonly ReadableSpan[]): string {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  return spans
    .map((s) => `${s.name} (parent: ${byId.get(s.parentSpanContext?.spanId ?? '')?.name ?? '-'})`)
    .join('\n');
}

describe('OpenTelemetry tracing', () => {
  let telemetry: RunningTelemetry | undefined;
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  const dirs: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    await telemetry?.shutdown();
    for (const c of cleanups.splice(0)) await c();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    api = pipeline = telemetry = undefined;
  });

  it('one alert is one trace: ingest → trigger → flow → diagnostics → evaluate → remediate', async () => {
    const exporter = new InMemorySpanExporter();
    // A real SDK (NodeTracerProvider); only the exporter is swapped for one the test can read.
    telemetry = await startTelemetry({ FIRELINE_OTEL: 'otlp', OTEL_SERVICE_NAME: 'fireline-test' }, logger, {
      exporter,
    });
    expect(telemetry.bullmqTelemetry, 'tracing on must give BullMQ a telemetry').toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'fireline-otel-'));
    dirs.push(dir);
    const secret = `facts-${randomUUID()}`;
    const marker = join(dir, 'fixes.log');
    pipeline = await testPipeline(redisUrl, [tracedRunbook(secret, marker)], {
      telemetry: telemetry.bullmqTelemetry,
    });
    await pipeline.startWorkers(FAST_WORKERS);
    api = await startApi(pipeline, [alertRoutes]);

    // The sender's own trace (Alertmanager can send one): Fireline's spans must continue it.
    const senderTraceId = randomBytes(16).toString('hex');
    const senderSpanId = randomBytes(8).toString('hex');
    const hostile = `$(touch /tmp/x-${randomUUID()}) "} or vector(1)`;
    const group = latencyGroup(['pod-1']);
    group.alerts[0]!.labels.instance = hostile;
    const res = await postJson(`${api.url}/api/v1/alerts/alertmanager`, group, {
      traceparent: `00-${senderTraceId}-${senderSpanId}-01`,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const incidentId: string = res.body.results[0].outcomes[0].incidentId;
    expect(incidentId, JSON.stringify(res.body)).toMatch(/^inc-/);

    await eventsUntil(pipeline, incidentId, (e) => e.type === 'remediation.succeeded');
    expect(readFileSync(marker, 'utf8')).toBe('fix\n');
    // The timeline event is written inside the job; its span ends once BullMQ marks it complete.
    const remediated = (s: ReadableSpan) =>
      s.name === 'process remediations' && s.attributes['incident.id'] === incidentId;
    await expect.poll(() => exporter.getFinishedSpans().filter(remediated).length).toBe(1);

    const all = exporter.getFinishedSpans();
    const ingest = all.filter((s) => s.name === 'alert.ingest');
    expect(
      ingest.map((s) => s.attributes['incident.id']),
      describeSpans(all),
    ).toEqual([[incidentId]]);
    expect(ingest[0]!.attributes['runbook.id']).toEqual(['traced-latency']);
    const traceId = ingest[0]!.spanContext().traceId;
    expect(traceId, 'the ingest span continues the sender trace').toBe(senderTraceId);
    expect(ingest[0]!.parentSpanContext?.spanId).toBe(senderSpanId);

    // Every span about this incident is in that one trace.
    const aboutIncident = all.filter((s) => s.attributes['incident.id'] === incidentId);
    expect(new Set(aboutIncident.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    const inTrace = all.filter((s) => s.spanContext().traceId === traceId);
    const names = inTrace.map((s) => s.name);
    for (const [name, count] of [
      ['alert.ingest', 1],
      ['add triggers.trigger', 1],
      ['process triggers', 1],
      ['addFlow decisions', 1],
      ['addNode diagnostics', 2],
      ['process diagnostics', 2],
      ['process decisions', 1],
      ['add remediations.remediate', 1],
      ['process remediations', 1],
    ] as const)
      expect(names.filter((n) => n === name).length, `${name} in:\n${describeSpans(inTrace)}`).toBe(count);

    // One tree: each span's parent is in the trace, but the ingest span's, which is the sender's.
    const ids = new Set(inTrace.map((s) => s.spanContext().spanId));
    const orphans = inTrace.filter((s) => s !== ingest[0] && !ids.has(s.parentSpanContext?.spanId ?? ''));
    expect(
      orphans.map((s) => s.name),
      describeSpans(inTrace),
    ).toEqual([]);
    // Ids on the job spans, for finding the trace of an incident or a step.
    const processed = inTrace.filter((s) => s.name.startsWith('process '));
    expect(processed.map((s) => s.attributes['incident.id'])).toEqual(processed.map(() => incidentId));
    expect(
      inTrace
        .filter((s) => s.name === 'process diagnostics')
        .map((s) => s.attributes['step.id'])
        .sort(),
    ).toEqual(['pool', 'probe']);
    expect(inTrace.find((s) => s.name === 'process remediations')?.attributes['runbook.id']).toBe(
      'traced-latency',
    );

    // Nothing from the alert or from the diagnostics' output is on any span (job results are dropped).
    const exported = JSON.stringify(all.map((s) => ({ a: s.attributes, e: s.events, st: s.status })));
    expect(exported).not.toContain(secret);
    expect(exported).not.toContain('or vector(1)');
    expect(exported).not.toContain('/tmp/x-');
  });

  it('otlp: spans go over OTLP/HTTP to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, named by OTEL_SERVICE_NAME', async () => {
    const bodies: string[] = [];
    const collector = await httpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => {
        bodies.push(body);
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
    cleanups.push(collector.close);
    const before = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${collector.url}/otlp/v1/traces`;
    cleanups.push(async () => {
      if (before === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = before;
    });
    telemetry = await startTelemetry(
      { FIRELINE_OTEL: 'otlp', OTEL_SERVICE_NAME: 'fireline-otlp-test' },
      logger,
    );
    trace.getTracer('check').startSpan('otlp.check').end();
    // Shutdown flushes the batch: the collector has it when this resolves.
    await telemetry.shutdown();
    expect(collector.requests).toEqual(['POST /otlp/v1/traces']);
    expect(bodies[0]).toContain('"otlp.check"');
    expect(bodies[0]).toContain('"fireline-otlp-test"');
  });

  it('off: startTelemetry returns no telemetry and registers no SDK (spans stay no-ops)', async () => {
    telemetry = await startTelemetry({ FIRELINE_OTEL: 'off', OTEL_SERVICE_NAME: 'fireline' }, logger);
    expect(telemetry.bullmqTelemetry).toBeUndefined();
    const span = trace.getTracer('check').startSpan('check');
    expect(span.isRecording(), 'a span started with tracing off must be a no-op').toBe(false);
    span.end();
  });

  it('off: loading Fireline and starting telemetry imports no OpenTelemetry SDK or bullmq-otel module', async () => {
    // A separate process, as Fireline runs: module-resolution hooks record every module it loads.
    const dir = mkdtempSync(join(tmpdir(), 'fireline-otel-off-'));
    dirs.push(dir);
    const loaded = join(dir, 'loaded.txt');
    const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(loaded)}, resolved.url + '\\n');
  return resolved;
}`;
    const hooksFile = join(dir, 'hooks.mjs');
    writeFileSync(hooksFile, hooks);
    const src = (p: string) => pathToFileURL(join(process.cwd(), 'src', p)).href;
    const script = `
import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooksFile).href)});
const { loadConfig } = await import(${JSON.stringify(src('config.ts'))});
await import(${JSON.stringify(src('main.ts'))});
await import(${JSON.stringify(src('producer/server.ts'))});
const { startTelemetry } = await import(${JSON.stringify(src('runtime/telemetry.ts'))});
const { createLogger } = await import(${JSON.stringify(src('logger.ts'))});
const config = loadConfig({});
const t = await startTelemetry(config, createLogger({ level: 'silent' }));
await t.shutdown();
console.log(JSON.stringify({ mode: config.FIRELINE_OTEL, telemetry: t.bullmqTelemetry !== undefined }));
`;
    const env = { ...process.env };
    delete env.FIRELINE_OTEL;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: process.cwd(), env, timeout: 30_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toEqual({ mode: 'off', telemetry: false });
    const urls = readFileSync(loaded, 'utf8').trim().split('\n');
    // The hooks saw the app's modules (so an empty list can't pass by accident)...
    expect(urls.some((u) => u.endsWith('/src/workers/index.ts'))).toBe(true);
    expect(urls.some((u) => u.endsWith('/src/producer/routes/alerts.ts'))).toBe(true);
    // ...and no SDK: only the API package, whose tracer is a no-op without one, may load.
    const sdk = urls.filter((u) => /@opentelemetry\/(?!api\/)|bullmq-otel/.test(u));
    expect(sdk).toEqual([]);
  });
});
