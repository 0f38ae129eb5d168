import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReplicatedRedis, startReplicated } from '../../scripts/harness/redis-sentinel.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { alertRoutes } from '../../src/producer/routes/alerts.ts';
import { markerRunbook, type Scratch, scratchDir } from '../chaos/helpers.ts';
import { AUTH, INGEST, LATENCY_RUNBOOK, latencyGroup, postJson } from '../helpers/alert-webhooks.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';

const TIMEOUT_MS = 300;

/** How many WAIT commands the server has run (INFO commandstats). */
async function waitCalls(url: string): Promise<number> {
  const client = new Redis(url);
  try {
    const stats = await client.info('commandstats');
    return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  } finally {
    client.disconnect();
  }
}

/** FIRELINE_DURABILITY=replica: a 2xx (and an action) waits until a replica has the write. */
describe('durability: what a 2xx means with replicas', () => {
  let servers: ReplicatedRedis | undefined;
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  let scratch: Scratch | undefined;
  afterEach(async () => {
    for (const r of servers?.replicas ?? []) r.process.kill('SIGCONT');
    await api?.close();
    await pipeline?.close(3000);
    await servers?.stop();
    scratch?.remove();
    api = undefined;
    pipeline = undefined;
    servers = undefined;
    scratch = undefined;
  });

  async function apiOn(mode: 'primary' | 'replica') {
    servers = await startReplicated(1);
    pipeline = await testPipeline(servers.primary.url, [LATENCY_RUNBOOK], {
      durability: { mode, timeoutMs: TIMEOUT_MS },
    });
    api = await startApi(pipeline, [alertRoutes], { auth: AUTH });
    return `${api.url}/api/v1/alerts/alertmanager`;
  }

  it('answers 202 once the replica has the alert, and 503 with Retry-After while no replica confirms it', async () => {
    const url = await apiOn('replica');
    const first = await postJson(url, latencyGroup(['pod-a']), INGEST);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const replica = new Redis(servers!.replicas[0]!.url);
    try {
      const id = first.body.results[0].outcomes[0].incidentId as string;
      // The 202 came after the replica acknowledged: it already holds the incident.
      expect(
        await replica.exists(`${pipeline!.deps.queues.prefix}:incident:${id}`),
        'incident on the replica',
      ).toBe(1);

      servers!.replicas[0]!.process.kill('SIGSTOP');
      const refused = await postJson(url, latencyGroup(['pod-b']), INGEST);
      expect(refused.status, JSON.stringify(refused.body)).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.body.detail).toMatch(
        /not confirmed on a replica \(0 of 1 replica acknowledged within 300 ms\)/,
      );

      servers!.replicas[0]!.process.kill('SIGCONT');
      // Alertmanager retries the group: the retry finds the incident the refused delivery opened.
      const retried = await postJson(url, latencyGroup(['pod-b']), INGEST);
      expect(retried.status, JSON.stringify(retried.body)).toBe(202);
      expect(retried.body.results[0].outcomes[0].outcome).toBe('attached');
    } finally {
      replica.disconnect();
    }
  });

  it('answers 202 without waiting for replicas in primary mode (the old meaning), and sends no WAIT', async () => {
    const url = await apiOn('primary');
    servers!.replicas[0]!.process.kill('SIGSTOP');
    const res = await postJson(url, latencyGroup(['pod-a']), INGEST);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(await waitCalls(servers!.primary.url), 'WAIT commands on the primary').toBe(0);
  });

  it('shares one WAIT among the requests that arrive while one is out (group commit)', async () => {
    const url = await apiOn('replica');
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => postJson(url, latencyGroup([`pod-${i}`]), INGEST)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(202));
    const calls = await waitCalls(servers!.primary.url);
    expect(calls, 'WAIT commands for 40 concurrent deliveries').toBeGreaterThan(0);
    expect(calls, 'WAIT commands for 40 concurrent deliveries').toBeLessThan(40);
  });

  it('does not run an action whose start no replica confirmed: skipped, escalated, never run', async () => {
    scratch = scratchDir('durability', () => ({}));
    const marker = join(scratch.dir, 'ran.log');
    writeFileSync(marker, '');
    servers = await startReplicated(1);
    pipeline = await testPipeline(servers.primary.url, [actionRunbook(marker)], {
      durability: { mode: 'replica', timeoutMs: TIMEOUT_MS },
    });
    await pipeline.startWorkers(FAST_WORKERS);
    // The alert is taken while the replica answers; it stops before the action starts.
    const [opened] = await pipeline.intake(firingAlert({ alertname: 'DurableAct', instance: 'a' }));
    if (opened?.outcome !== 'opened') throw new Error(`expected an incident, got ${JSON.stringify(opened)}`);
    servers.replicas[0]!.process.kill('SIGSTOP');
    const events = await eventsUntil(pipeline, opened.incidentId, (e) => e.type === 'remediation.skipped');
    expect(events.at(-1)?.message).toMatch(/not run, no Redis replica confirmed its start/);
    expect(events.at(-1)?.data).toMatchObject({ reason: 'durability' });
    expect(readFileSync(marker, 'utf8'), 'what the action wrote').toBe('');
    const step = (await pipeline.deps.store.get(opened.incidentId))?.plan[0];
    expect(step?.state).toBe('skipped');
  });
});

function actionRunbook(marker: string) {
  return markerRunbook({
    id: 'durable-act',
    alertName: 'DurableAct',
    service: 'durable-service',
    command: `[sh, -c, 'printf "ran\\n" >> "$1"', sh, "${marker}"]`,
  });
}
