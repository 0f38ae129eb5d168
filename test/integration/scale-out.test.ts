import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';
import { freePort } from '../../scripts/harness/redis-server.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { QUEUE_NAMES, type QueueName } from '../../src/queues/catalog.ts';
import { killAll, type Scratch, scratchDir, startRole } from '../chaos/helpers.ts';
import { latencyGroup, postJson } from '../helpers/alert-webhooks.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const ALERTS = 30;

/**
 * Three diagnostics that take a moment (so a worker that took some is busy when others are
 * waiting), a decision, and an automated action that records the incident id in a file.
 */
function runbook(marker: string) {
  const check = (id: string) => `
  - id: ${id}
    name: Check ${id}
    type: shell_command
    config: { command: [sh, -c, "sleep 0.2"] }
    interpret: { critical: "exit_code != 0", healthy: "exit_code == 0" }`;
  return `
id: scale-out
name: Scale-out
severity: P3
service: scale-service
triggers:
  - type: alert
    alertName: PaymentServiceHighLatency
diagnostics:${check('d1')}${check('d2')}${check('d3')}
decisionTree:
  - condition: "diagnostics.d1.status == 'healthy'"
    then: [record]
remediations:
  - id: record
    name: Record the incident
    type: automated
    maxPerHour: 1000
    action:
      type: run_script
      config:
        command: [sh, -c, 'printf "%s\\n" "$1" >> "$2"', sh, "{{ incident.id }}", "${marker}"]
escalation:
  primary: "#scale"
  escalateAfterMinutes: 30
`;
}

type Spread = Record<QueueName, Record<string, number>>;

describe('scale-out: one API process and three worker processes on one Redis', () => {
  let pipeline: Pipeline | undefined;
  let scratch: Scratch | undefined;
  const procs: FirelineProcess[] = [];
  afterEach(async () => {
    await killAll(procs);
    await pipeline?.close(5000);
    pipeline = undefined;
    scratch?.remove();
    scratch = undefined;
  });

  /**
   * Starts the API and one worker per entry of `workerQueues`, POSTs ALERTS Alertmanager
   * deliveries to the API, waits until every incident's action succeeded, and returns how many
   * completed jobs of each queue each worker ran (`job.processedBy` = `<host>-<pid>`), by worker
   * index.
   */
  async function run(workerQueues: (readonly QueueName[])[]): Promise<Spread> {
    scratch = scratchDir('scale-out', (dir) => ({ 'scale.yaml': runbook(join(dir, 'actions.log')) }));
    const text = readFileSync(join(scratch.runbooks, 'scale.yaml'), 'utf8');
    // This process only follows events and reads the queues: it runs no worker.
    pipeline = await testPipeline(redisUrl, [text]);
    const port = await freePort();
    const env = {
      REDIS_URL: redisUrl,
      FIRELINE_PREFIX: pipeline.deps.queues.prefix,
      FIRELINE_RUNBOOKS: scratch.runbooks,
      HOST: '127.0.0.1',
      PORT: String(port),
      FIRELINE_REMEDIATION_RATE_PER_MINUTE: '100000',
      FIRELINE_REMEDIATION_CONCURRENCY: '3',
    };
    const [api, ...workers] = await Promise.all([
      startRole('api', env, procs),
      ...workerQueues.map((queues) => startWorker(queues, env)),
    ]);
    const names = new Map(workers.map((w, i) => [`${hostname()}-${w.child.pid}`, `w${i + 1}`]));

    const done = new Set<string>();
    let allDone!: () => void;
    const finished = new Promise<void>((r) => {
      allDone = r;
    });
    const follower = await pipeline.progress.follow(null, '0', (e) => {
      if (e.type === 'remediation.succeeded') done.add(e.incidentId);
      if (done.size === ALERTS) allDone();
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: ALERTS }, (_, n) =>
          postJson(`http://127.0.0.1:${port}/api/v1/alerts/alertmanager`, latencyGroup([`node-${n}`])),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(ALERTS).fill(202));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => {
        timer = setTimeout(() => r('late'), 90_000);
      });
      const outcome = await Promise.race([finished.then(() => 'done' as const), late]);
      clearTimeout(timer);
      expect(outcome, `${done.size} of ${ALERTS} incidents finished`).toBe('done');
    } finally {
      await follower.stop();
    }
    expect(readFileSync(join(scratch.dir, 'actions.log'), 'utf8').trim().split('\n')).toHaveLength(ALERTS);
    expect((await pipeline.deps.store.list({}, { limit: 100 })).items).toHaveLength(ALERTS);

    const spread = {} as Spread;
    for (const queue of QUEUE_NAMES) {
      spread[queue] = {};
      for (const job of await pipeline.deps.queues.byName[queue].getCompleted(0, -1)) {
        const who = names.get(job.processedBy ?? '') ?? `unknown:${job.processedBy}`;
        spread[queue][who] = (spread[queue][who] ?? 0) + 1;
      }
    }
    expect(JSON.stringify(spread), 'the API process ran no job').not.toContain(String(api.child.pid));
    // The figures the issue asks for: how the work spread, per queue and worker.
    console.info(`scale-out spread (completed jobs by worker): ${JSON.stringify(spread)}`);
    return spread;
  }

  async function startWorker(queues: readonly QueueName[], env: Record<string, string>) {
    const p = spawnFireline(['start', '--role', 'worker', '--queues', queues.join(',')], env);
    procs.push(p);
    await p.waitForLine(/workers started/, 60_000);
    return p;
  }

  it('case A: each worker on a subset of queues; every incident completes and each queue is worked only where assigned', async () => {
    const spread = await run([['triggers', 'decisions'], ['diagnostics'], ['remediations', 'notifications']]);
    expect(Object.keys(spread.triggers)).toEqual(['w1']);
    expect(Object.keys(spread.decisions)).toEqual(['w1']);
    expect(Object.keys(spread.diagnostics)).toEqual(['w2']);
    expect(Object.keys(spread.remediations)).toEqual(['w3']);
    expect(Object.keys(spread.notifications)).toEqual(['w3']);
    expect(spread.diagnostics.w2).toBe(ALERTS * 3);
    expect(spread.remediations.w3).toBe(ALERTS);
  }, 150_000);

  it('case B: all three on all queues; every incident completes and more than one worker ran diagnostics', async () => {
    const spread = await run([QUEUE_NAMES, QUEUE_NAMES, QUEUE_NAMES]);
    const diagnostics = Object.values(spread.diagnostics);
    expect(diagnostics.reduce((a, b) => a + b, 0)).toBe(ALERTS * 3);
    expect(Object.keys(spread.diagnostics).length, JSON.stringify(spread.diagnostics)).toBeGreaterThan(1);
    expect(Object.keys(spread.diagnostics).every((w) => /^w[123]$/.test(w))).toBe(true);
  }, 150_000);
});
