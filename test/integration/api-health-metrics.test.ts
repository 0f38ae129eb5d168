import { afterEach, describe, expect, inject, it } from 'vitest';
import { type ReplicatedRedis, startReplicated } from '../../scripts/harness/redis-sentinel.ts';
import { type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { createMetrics, type Metrics } from '../../src/producer/metrics.ts';
import { healthRoutes } from '../../src/producer/routes/health.ts';
import { metricsRoutes } from '../../src/producer/routes/metrics.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

/** One shell check that reads critical, a rule that runs one script, Slack as the primary channel. */
const RUNBOOK = `
id: metrics-demo
name: Metrics demo
severity: P2
service: demo-service
triggers:
  - type: alert
    alertName: DemoPoolFull
diagnostics:
  - id: check_pool
    name: Connection pool
    type: shell_command
    timeout: 10
    config:
      command: [node, -e, "console.log(JSON.stringify({ used_pct: 95 }))"]
    interpret:
      critical: "json.used_pct >= 90"
      healthy: "json.used_pct < 90"
decisionTree:
  - condition: "diagnostics.check_pool.status == 'critical'"
    then: [flush_pool]
    description: Pool full
remediations:
  - id: flush_pool
    name: Flush the pool
    type: automated
    action:
      type: run_script
      config:
        command: [node, -e, "0"]
escalation:
  primary: "#ops-demo"
  escalateAfterMinutes: 15
`;

const AUTH = { viewerToken: 'viewer-secret-1', operatorToken: 'operator-secret-1' };

describe('health and readiness', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  let privateRedis: PrivateRedis | undefined;
  let replicated: ReplicatedRedis | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    await privateRedis?.stop();
    await replicated?.stop();
    api = pipeline = privateRedis = replicated = undefined;
  });

  it('healthz and readyz answer without a token while auth is on', async () => {
    pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    api = await startApi(pipeline, [healthRoutes], { auth: AUTH });
    const health = await fetch(`${api.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', redis: 'ok', runbooks: 1 });
  });

  it('readyz is 503 naming the runbooks when the catalog is empty', async () => {
    pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    pipeline.deps.catalog.replace([]);
    api = await startApi(pipeline, [healthRoutes]);
    const res = await fetch(`${api.url}/readyz`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('retry-after')).toBe('5');
    const problem = (await res.json()) as { detail: string };
    expect(problem.detail).toBe('not ready: no runbooks are loaded');
  });

  it('readyz is 503 naming redis while the pipeline’s Redis is down, and ready again when it is back', async () => {
    privateRedis = await startRedis();
    const { port } = privateRedis;
    pipeline = await testPipeline(privateRedis.url, [RUNBOOK]);
    api = await startApi(pipeline, [healthRoutes]);
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);

    await privateRedis.stop();
    const res = await fetch(`${api.url}/readyz`);
    const problem = (await res.json()) as { detail: string };
    expect(res.status, problem.detail).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(problem.detail).toMatch(/^not ready: redis /);
    expect(problem.detail).not.toContain(String(port)); // no internals to anonymous callers
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);

    // The same port again (the last --port wins): the connections come back on their own.
    privateRedis = await startRedis(['--port', String(port)]);
    await pipeline.ready();
    const back = await fetch(`${api.url}/readyz`);
    expect(back.status).toBe(200);
  });

  it('readyz is 503 when the Redis it reaches is a replica (no primary to write to), though it answers PING', async () => {
    replicated = await startReplicated(1);
    pipeline = await testPipeline(replicated.replicas[0]!.url, [RUNBOOK]);
    api = await startApi(pipeline, [healthRoutes]);
    expect(await pipeline.deps.redis.ping()).toBe('PONG');
    const res = await fetch(`${api.url}/readyz`);
    const problem = (await res.json()) as { detail: string };
    expect(res.status, problem.detail).toBe(503);
    expect(problem.detail).toBe('not ready: redis answers as a replica: there is no primary');
  });
});

describe('metrics', () => {
  let pipeline: Pipeline | undefined;
  let metrics: Metrics | undefined;
  let api: ApiServer | undefined;
  let privateRedis: PrivateRedis | undefined;
  afterEach(async () => {
    await api?.close();
    await metrics?.stop();
    await pipeline?.close(5000);
    await privateRedis?.stop();
    api = metrics = pipeline = privateRedis = undefined;
  });

  const viewer = { authorization: `Bearer ${AUTH.viewerToken}` };

  /** Scrapes until every expected line (or pattern) is there; names what is missing if never. */
  async function scrapeUntil(url: string, expected: (string | RegExp)[], timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await fetch(`${url}/metrics`, { headers: viewer });
      expect(res.status).toBe(200);
      const body = await res.text();
      const lines = body.split('\n');
      const missing = expected.filter((e) => (typeof e === 'string' ? !lines.includes(e) : !e.test(body)));
      if (missing.length === 0) return body;
      if (Date.now() > deadline) {
        const ours = lines.filter((l) =>
          /^fireline_(incidents|time_to|diagnostic|remediations|notifications|queue)/.test(l),
        );
        throw new Error(`expected in /metrics:\n${missing.join('\n')}\nseen:\n${ours.join('\n')}`);
      }
      // Recording follows the events stream asynchronously: scrape again shortly.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function runIncident(namespace: string) {
    const [outcome] = await pipeline!.intake(firingAlert({ alertname: 'DemoPoolFull', namespace }));
    expect(outcome).toMatchObject({ outcome: 'opened', runbookId: 'metrics-demo' });
    const incidentId = (outcome as { incidentId: string }).incidentId;
    return eventsUntil(pipeline!, incidentId, (_e, seen) =>
      ['decision.made', 'remediation.succeeded'].every((t) => seen.some((e) => e.type === t)),
    );
  }

  it('counts an incident run end to end by workers, from the moment metrics start', async () => {
    pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    await pipeline.startWorkers(FAST_WORKERS);
    // An incident before start is history: metrics count from now on.
    await runIncident('before-start');
    metrics = createMetrics({ pipeline, logger: pipeline.deps.logger });
    await metrics.start();
    api = await startApi(pipeline, [metricsRoutes(metrics)], { auth: AUTH });

    const events = await runIncident('label-value-that-must-not-leak');
    expect(events.some((e) => e.type === 'diagnostic.finished')).toBe(true);
    const body = await scrapeUntil(api.url, [
      'fireline_incidents_total{runbook="metrics-demo",severity="P2"} 1',
      'fireline_time_to_evidence_seconds_count 1',
      'fireline_diagnostic_duration_seconds_count{type="shell_command",verdict="critical"} 1',
      'fireline_remediations_total{action="run_script",outcome="succeeded"} 1',
      /^fireline_notifications_total\{channel="slack",outcome="failed"\} [1-9]/m,
      // Two incidents, one check each (triggers also ran the retention sweep, so no exact count there).
      'fireline_queue_jobs{queue="diagnostics",state="completed"} 2',
      /^fireline_queue_jobs\{queue="triggers",state="completed"\} \d+$/m,
      /^fireline_queue_jobs\{queue="diagnostics",state="active"\} \d+$/m,
      /^fireline_queue_jobs\{queue="decisions",state="waiting"\} \d+$/m,
      /^fireline_queue_jobs\{queue="remediations",state="failed"\} \d+$/m,
      /^fireline_queue_jobs\{queue="notifications",state="delayed"\} \d+$/m,
      'fireline_redis_up 1',
      /^fireline_process_cpu_user_seconds_total \d/m,
    ]);
    expect(body).not.toContain('label-value-that-must-not-leak');
    expect(body).not.toContain('DemoPoolFull');
  });

  it('needs the viewer scope when auth is on', async () => {
    pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    metrics = createMetrics({ pipeline, logger: pipeline.deps.logger });
    await metrics.start();
    api = await startApi(pipeline, [metricsRoutes(metrics)], { auth: AUTH });

    const anonymous = await fetch(`${api.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const wrong = await fetch(`${api.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    for (const token of [AUTH.viewerToken, AUTH.operatorToken]) {
      const res = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, token).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await res.text()).toMatch(/^# HELP fireline_incidents_total /m);
    }
  });

  it('still answers while Redis is down: redis_up 0 and no queue gauges, instead of a failed scrape', async () => {
    privateRedis = await startRedis();
    const { port } = privateRedis;
    pipeline = await testPipeline(privateRedis.url, [RUNBOOK]);
    metrics = createMetrics({ pipeline, logger: pipeline.deps.logger });
    await metrics.start();
    api = await startApi(pipeline, [metricsRoutes(metrics)]);
    await scrapeUntil(api.url, ['fireline_redis_up 1', /^fireline_queue_jobs\{/m]);

    await privateRedis.stop();
    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toMatch(/^fireline_redis_up 0$/m);
    expect(body).not.toMatch(/^fireline_queue_jobs\{/m);

    privateRedis = await startRedis(['--port', String(port)]);
    await pipeline.ready();
    await scrapeUntil(api.url, ['fireline_redis_up 1']);
  });

  it('gives each app its own registry, so two apps in one process both serve their metrics', async () => {
    pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    const first = createMetrics({ pipeline, logger: pipeline.deps.logger });
    metrics = createMetrics({ pipeline, logger: pipeline.deps.logger });
    try {
      expect(first.registry).not.toBe(metrics.registry);
      const [a, b] = await Promise.all([first.registry.metrics(), metrics.registry.metrics()]);
      expect(a).toMatch(/^fireline_redis_up 1$/m);
      expect(b).toMatch(/^fireline_redis_up 1$/m);
    } finally {
      await first.stop();
    }
  });
});
