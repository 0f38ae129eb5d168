import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FirelineProcess } from '../../scripts/harness/fireline-process.ts';
import { freePort, type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import {
  allIncidents,
  INGEST,
  LATENCY_RUNBOOK,
  latencyGroup,
  postJson,
  TOKENS,
} from '../helpers/alert-webhooks.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { killAll, type Scratch, scratchDir, startRole } from './helpers.ts';

const ALERTS = 300;
const CONCURRENCY = 20;
/** Redis is killed once this many alerts have been taken. */
const KILL_AFTER = 100;
/** Redis comes back once the storm has met this many 503s. */
const RESTART_AFTER_503S = 20;
/** How long one alert may take to be delivered, 503 retries included. */
const DELIVERY_DEADLINE_MS = 60_000;
const RETRY_DELAY_MS = 100;

/** What the storm saw: each alert's 2xx answer, and every 503 on the way. */
interface Taken {
  fingerprint: string;
  incidentId: string;
  attempts: number;
}

describe('chaos (b): Redis (appendfsync always) SIGKILLed in the middle of an alert storm', () => {
  const procs: FirelineProcess[] = [];
  let redis: PrivateRedis | undefined;
  let pipeline: Pipeline | undefined;
  let scratch: Scratch | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await killAll(procs);
    await pipeline?.close(5000);
    pipeline = undefined;
    await redis?.stop();
    redis = undefined;
    scratch?.remove();
    scratch = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it('every alert that got a 2xx is an incident after the restart, once', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fireline-chaos-aof-'));
    const redisArgs = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir];
    redis = await startRedis(redisArgs);
    const { port: redisPort, url: redisUrl } = redis;
    scratch = scratchDir('chaos-redis', () => ({ 'latency.yaml': LATENCY_RUNBOOK }));
    const prefix = `chaosb${randomUUID().slice(0, 8)}`;
    const port = await freePort();
    await startRole(
      'api',
      {
        REDIS_URL: redisUrl,
        FIRELINE_PREFIX: prefix,
        FIRELINE_RUNBOOKS: scratch.runbooks,
        HOST: '127.0.0.1',
        PORT: String(port),
        FIRELINE_INGEST_TOKEN: TOKENS.ingest,
        FIRELINE_OPERATOR_TOKEN: TOKENS.operator,
        FIRELINE_VIEWER_TOKEN: TOKENS.viewer,
      },
      procs,
    );
    const url = `http://127.0.0.1:${port}/api/v1/alerts/alertmanager`;

    const taken: Taken[] = [];
    let unavailable = 0;
    let killed: Promise<void> | undefined;
    let restarted: Promise<void> | undefined;
    /** Like Alertmanager: POST the group, retry each 503 until a 2xx, within a deadline. */
    const deliver = async (n: number): Promise<void> => {
      const body = latencyGroup([`pod-${n}`]);
      const deadline = Date.now() + DELIVERY_DEADLINE_MS;
      for (let attempts = 1; ; attempts++) {
        const res = await postJson(url, body, INGEST);
        if (res.status === 202) {
          const [result] = res.body.results;
          taken.push({
            fingerprint: result.fingerprint,
            incidentId: result.outcomes[0].incidentId,
            attempts,
          });
          if (taken.length === KILL_AFTER) killed = killRedis();
          return;
        }
        if (res.status !== 503)
          throw new Error(`alert ${n}: expected 202 or 503, got ${res.status} ${JSON.stringify(res.body)}`);
        if (!killed) throw new Error(`alert ${n}: 503 while Redis was up: ${JSON.stringify(res.body)}`);
        unavailable++;
        if (unavailable === RESTART_AFTER_503S) restarted = restartRedis();
        if (Date.now() > deadline)
          throw new Error(`alert ${n}: still 503 after ${attempts} attempts in ${DELIVERY_DEADLINE_MS} ms`);
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      }
    };
    const killRedis = async () => {
      const exited = new Promise((r) => redis?.process.once('exit', r));
      redis?.process.kill('SIGKILL');
      await exited;
    };
    const restartRedis = async () => {
      await killed;
      await redis?.stop();
      redis = await startRedis(redisArgs, { port: redisPort });
    };

    let next = 0;
    const lane = async () => {
      while (next < ALERTS) await deliver(next++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    await restarted;

    expect(killed, 'Redis was killed during the storm').toBeDefined();
    expect(unavailable, '503s while Redis was down').toBeGreaterThanOrEqual(RESTART_AFTER_503S);
    expect(taken).toHaveLength(ALERTS);

    pipeline = await testPipeline(redisUrl, [LATENCY_RUNBOOK], { prefix });
    const incidents = await allIncidents(pipeline);
    const byId = new Map(incidents.map((i) => [i.id, i]));
    const lost = taken.filter((t) => byId.get(t.incidentId)?.alert.fingerprint !== t.fingerprint);
    expect(lost, 'alerts answered 2xx whose incident is not in the store').toEqual([]);
    const fingerprints = new Set(incidents.map((i) => i.alert.fingerprint));
    expect(fingerprints.size, 'distinct alerts in the store').toBe(ALERTS);
    expect(incidents, 'one incident per alert, none doubled by a retry').toHaveLength(ALERTS);
    const triggers = pipeline.deps.queues.byName.triggers;
    const unqueued = [];
    for (const t of taken)
      if (!(await triggers.getJob(`${t.incidentId}-trigger`))) unqueued.push(t.incidentId);
    expect(unqueued, 'incidents whose trigger job is missing').toEqual([]);
    console.info(
      `chaos (b): ${ALERTS} alerts, Redis killed after ${KILL_AFTER}; ${unavailable} 503s, ${taken.filter((t) => t.attempts > 1).length} alerts retried; none lost`,
    );
  });
});
