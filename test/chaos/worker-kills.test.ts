import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { killAll, markerRunbook, processGone, running, type Scratch, scratchDir } from './helpers.ts';

const redisUrl = inject('redisUrl');

const INCIDENTS = 100;
const WORKERS = 3;
const KILL_EVERY_MS = 2000;
const DEADLINE_MS = 150_000;
const FINAL = new Set(['remediation.succeeded', 'remediation.outcome_unknown']);
const GAVE_UP = new Set(['remediation.failed', 'remediation.skipped']);

/**
 * A quick diagnostic, then an action that is not idempotent: it appends the incident id to a
 * marker file at once and then takes a moment, so a worker killed mid-action leaves the line
 * behind. It also records its pid, for the cleanup of actions orphaned by a killed worker.
 */
function runbook(marker: string, pids: string) {
  return markerRunbook({
    id: 'chaos-kill',
    alertName: 'ChaosKill',
    service: 'chaos-service',
    command: `[sh, -c, 'printf "%s\\n" "$1" >> "$2"; printf "%s\\n" "$$" >> "$3"; exec sleep 0.2', sh, "{{ incident.id }}", "${marker}", "${pids}"]`,
  });
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** What a run that missed its deadline left behind: the open incidents and the target's lock. */
async function stuckReport(
  pipeline: Pipeline,
  ids: string[],
  final: Map<string, string>,
  seconds: string,
  kills: number,
): Promise<string> {
  const open = ids.filter((id) => !final.has(id));
  const lines = [];
  for (const id of open.slice(0, 10)) {
    const incident = await pipeline.deps.store.get(id);
    const job = await pipeline.deps.queues.byName.remediations.getJob(`${id}-fix-append_marker`);
    lines.push(
      `${id}: status ${incident?.status}, step ${incident?.plan[0]?.state ?? 'none'}, job ${job ? await job.getState() : 'none'}`,
    );
  }
  const lock = `${pipeline.deps.queues.prefix}:lock:chaos-service`;
  const holder = await pipeline.deps.redis.get(lock);
  lines.push(`target lock held by ${holder ?? 'nobody'} (ttl ${await pipeline.deps.redis.pttl(lock)} ms)`);
  return `after ${seconds} s, ${final.size} of ${ids.length} incidents finished (${kills} workers killed); ${open.length} open:\n${lines.join('\n')}`;
}

describe('chaos (a): worker processes SIGKILLed every few seconds', () => {
  let pipeline: Pipeline | undefined;
  let scratch: Scratch | undefined;
  let monkey: NodeJS.Timeout | undefined;
  const procs: FirelineProcess[] = [];
  afterEach(async () => {
    clearInterval(monkey);
    await killAll(procs);
    await pipeline?.close(5000);
    pipeline = undefined;
    if (scratch) {
      // Actions orphaned by a killed worker end by themselves; one still sleeping is ours to end.
      for (const pid of readLines(join(scratch.dir, 'pids')).map(Number))
        if (!processGone(pid) && readLines(`/proc/${pid}/cmdline`)[0]?.startsWith('sleep'))
          process.kill(pid, 'SIGKILL');
      scratch.remove();
      scratch = undefined;
    }
  });

  it('all 100 incidents finish: each decided once, no action run twice, the interrupted ones escalated', async () => {
    const t0 = Date.now();
    scratch = scratchDir('chaos-kill', (dir) => ({
      'chaos-kill.yaml': runbook(join(dir, 'actions.log'), join(dir, 'pids')),
    }));
    const text = readFileSync(join(scratch.runbooks, 'chaos-kill.yaml'), 'utf8');
    const marker = join(scratch.dir, 'actions.log');
    // Intake in this process; every job runs in the worker processes.
    pipeline = await testPipeline(redisUrl, [text]);
    const env = {
      REDIS_URL: redisUrl,
      FIRELINE_PREFIX: pipeline.deps.queues.prefix,
      FIRELINE_RUNBOOKS: scratch.runbooks,
      FIRELINE_LOCK_DURATION_MS: '1000',
      FIRELINE_STALLED_INTERVAL_MS: '1000',
      FIRELINE_REMEDIATION_RATE_PER_MINUTE: '100000',
      FIRELINE_REMEDIATION_CONCURRENCY: String(WORKERS),
    };

    const up = new Set<FirelineProcess>();
    const killed = new Set<FirelineProcess>();
    const startFailures: string[] = [];
    const spawnWorker = () => {
      const p = spawnFireline(['start', '--role', 'worker'], env);
      procs.push(p);
      const ready = p.waitForLine(/workers started/, 60_000).then(
        () => {
          up.add(p);
        },
        (err: Error) => {
          // Killed while it was still starting: expected. Anything else is a real failure.
          if (!killed.has(p)) startFailures.push(err.message);
        },
      );
      return ready;
    };
    await Promise.all(Array.from({ length: WORKERS }, spawnWorker));
    expect(startFailures, 'workers that failed to start').toEqual([]);

    // Follow every incident's events, to know when all are done without polling the store.
    const final = new Map<string, string>();
    const gaveUp = new Map<string, string>();
    let allDone!: () => void;
    const done = new Promise<void>((r) => {
      allDone = r;
    });
    const follower = await pipeline.progress.follow(null, '0', (e) => {
      if (FINAL.has(e.type)) final.set(e.incidentId, e.type);
      if (GAVE_UP.has(e.type)) gaveUp.set(e.incidentId, `${e.type}: ${e.message}`);
      if (final.size + gaveUp.size >= INCIDENTS) allDone();
    });

    // The chaos: every KILL_EVERY_MS one running worker (in turn) is SIGKILLed and replaced.
    let kills = 0;
    monkey = setInterval(() => {
      const alive = procs.filter((p) => up.has(p) && running(p));
      if (alive.length < 2) return;
      const victim = alive[kills % alive.length]!;
      victim.child.kill('SIGKILL');
      killed.add(victim);
      up.delete(victim);
      kills++;
      void spawnWorker();
    }, KILL_EVERY_MS);

    const ids: string[] = [];
    for (let n = 0; n < INCIDENTS; n++) {
      const [o] = await pipeline.intake(firingAlert({ alertname: 'ChaosKill', instance: `node-${n}` }));
      if (o?.outcome !== 'opened')
        throw new Error(`alert ${n}: expected a new incident, got ${JSON.stringify(o)}`);
      ids.push(o.incidentId);
    }

    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => {
      timer = setTimeout(() => r('late'), DEADLINE_MS);
    });
    const outcome = await Promise.race([done.then(() => 'done' as const), late]);
    clearTimeout(timer);
    clearInterval(monkey);
    await follower.stop();
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    if (outcome === 'late') throw new Error(await stuckReport(pipeline, ids, final, seconds, kills));
    expect(startFailures, 'replacement workers that failed to start').toEqual([]);
    expect([...gaveUp.values()], 'incidents that gave up instead of acting').toEqual([]);

    // Every incident, from the store: decided once, started at most once, one final outcome.
    const lines = readLines(marker);
    const problems: string[] = [];
    const counts = { succeeded: 0, outcome_unknown: 0 };
    for (const id of ids) {
      const incident = await pipeline.deps.store.get(id);
      const state = incident?.plan.find((s) => s.stepId === 'append_marker')?.state;
      const timeline = await pipeline.deps.store.timeline(id);
      const n = (type: string) => timeline.filter((e) => e.type === type).length;
      const appended = lines.filter((l) => l === id).length;
      if (n('decision.made') !== 1)
        problems.push(`${id}: decision.made ${n('decision.made')} times, expected 1`);
      if (n('remediation.started') > 1)
        problems.push(`${id}: remediation.started ${n('remediation.started')} times`);
      if (state === 'succeeded') {
        counts.succeeded++;
        if (appended !== 1) problems.push(`${id}: succeeded but its line is in the marker ${appended} times`);
      } else if (state === 'outcome_unknown') {
        counts.outcome_unknown++;
        if (appended > 1)
          problems.push(`${id}: outcome unknown and its line is in the marker ${appended} times`);
        if (!incident?.escalated) problems.push(`${id}: outcome unknown but not escalated`);
      } else problems.push(`${id}: step state ${state}, expected succeeded or outcome_unknown`);
    }
    expect(problems).toEqual([]);
    const duplicates = lines.filter((l, i) => lines.indexOf(l) !== i);
    expect(duplicates, 'incident ids appended to the marker more than once').toEqual([]);
    expect(
      lines.filter((l) => !ids.includes(l)),
      'marker lines of no incident',
    ).toEqual([]);
    expect(counts.succeeded + counts.outcome_unknown).toBe(INCIDENTS);
    // A run that killed nothing while the incidents ran would prove nothing.
    expect(kills, 'workers killed while the incidents ran').toBeGreaterThanOrEqual(5);
    console.info(
      `chaos (a): ${INCIDENTS} incidents in ${seconds} s with ${kills} workers killed: ${counts.succeeded} succeeded, ${counts.outcome_unknown} outcome unknown (escalated)`,
    );
  }, 200_000);
});
