import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventsUntil, firingAlert, httpServer, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

/**
 * Worker processes are killed with SIGKILL in the middle of their work; another worker must
 * finish the incident, and an action that is not idempotent must not run twice.
 */
function runbook(healthUrl: string, marker: string, actionSleepMs: number) {
  return `
id: crash-test
name: Crash test
severity: P2
service: crash-service
triggers:
  - type: alert
    alertName: CrashTest
diagnostics:
  - id: slow_check
    name: Slow downstream
    type: http_check
    timeout: 60
    config:
      urls: [{ name: slow, url: "${healthUrl}/health" }]
    interpret:
      critical: "!all_healthy"
      healthy: all_healthy
decisionTree:
  - condition: "diagnostics.slow_check.status == 'healthy'"
    then: [restart_app]
    description: Checks answer; restart the app
remediations:
  - id: restart_app
    name: Restart the app
    type: automated
    action:
      type: run_script
      config:
        command: [node, -e, "const fs = require('fs'); fs.appendFileSync(process.argv[1], 'start ' + process.pid + '\\\\n'); setTimeout(() => fs.appendFileSync(process.argv[1], 'end\\\\n'), ${actionSleepMs})", "${marker}"]
escalation:
  primary: "#crash"
  escalateAfterMinutes: 30
`;
}

describe('a worker killed mid-job', () => {
  let pipeline: Pipeline | undefined;
  const procs: FirelineProcess[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0))
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    await pipeline?.close(2000);
    for (const c of cleanups.splice(0)) await c();
  });

  async function setup(actionSleepMs: number) {
    let hang = true;
    const health = await httpServer((_req, res) => {
      if (!hang) res.end('ok');
    });
    cleanups.push(health.close);
    const dir = mkdtempSync(join(tmpdir(), 'fireline-crash-'));
    const marker = join(dir, 'actions.log');
    const text = runbook(health.url, marker, actionSleepMs);
    mkdirSync(join(dir, 'runbooks'));
    writeFileSync(join(dir, 'runbooks', 'crash-test.yaml'), text);
    pipeline = await testPipeline(redisUrl, [text]);
    const env = {
      REDIS_URL: redisUrl,
      FIRELINE_PREFIX: pipeline.deps.queues.prefix,
      FIRELINE_RUNBOOKS: join(dir, 'runbooks'),
      FIRELINE_LOCK_DURATION_MS: '1000',
      FIRELINE_STALLED_INTERVAL_MS: '1000',
    };
    const worker = () => {
      const p = spawnFireline(['start', '--role', 'worker'], env);
      procs.push(p);
      return p;
    };
    const ran = () => {
      try {
        return readFileSync(marker, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    };
    return { health, worker, ran, release: () => (hang = false) };
  }

  it('during a diagnostic: another worker finishes the incident; decided once, acted once', async () => {
    const { health, worker, ran, release } = await setup(0);
    const a = worker();
    await a.waitForLine(/workers started/);
    const [o] = await pipeline!.intake(firingAlert({ alertname: 'CrashTest' }));
    const id = (o as { incidentId: string }).incidentId;
    await eventsUntil(pipeline!, id, (e) => e.type === 'diagnostic.started');
    await expect.poll(() => health.requests.length).toBe(1);
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');
    release();

    const b = worker();
    await b.waitForLine(/workers started/);
    const events = await eventsUntil(pipeline!, id, (e) => e.type === 'remediation.succeeded', 20_000);
    expect(events.filter((e) => e.type === 'decision.made')).toHaveLength(1);
    expect((await pipeline!.deps.store.get(id))?.verdicts.slow_check?.status).toBe('healthy');
    await expect.poll(ran).toHaveLength(2);
    expect(ran()[0]).toMatch(/^start \d+$/);
    expect(ran()[1]).toBe('end');
  });

  it('during a non-idempotent action: it is not run again; the outcome is unknown and a human is paged', async () => {
    const { worker, ran, release } = await setup(60_000);
    release();
    const a = worker();
    await a.waitForLine(/workers started/);
    const [o] = await pipeline!.intake(firingAlert({ alertname: 'CrashTest' }));
    const id = (o as { incidentId: string }).incidentId;
    await eventsUntil(pipeline!, id, (e) => e.type === 'remediation.started');
    await expect.poll(ran).toHaveLength(1);
    const orphan = Number(ran()[0]?.split(' ')[1]);
    cleanups.push(() => {
      try {
        process.kill(orphan, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    });
    a.child.kill('SIGKILL');
    await a.exited;

    const b = worker();
    await b.waitForLine(/workers started/);
    const events = await eventsUntil(pipeline!, id, (e) => e.type === 'remediation.outcome_unknown', 20_000);
    expect(ran(), 'the action started once and was not started again').toHaveLength(1);
    const incident = await pipeline!.deps.store.get(id);
    expect(incident?.plan[0]).toMatchObject({ stepId: 'restart_app', state: 'outcome_unknown' });
    await eventsUntil(pipeline!, id, (e) => e.type === 'escalation.fired');
    expect((await pipeline!.deps.store.get(id))?.escalated).toBe(true);
    expect(events.filter((e) => e.type === 'remediation.started')).toHaveLength(1);
  });
});
