import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';
import { type HistoryDb, openHistoryDb } from '../../src/history/db.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { DB_RUNBOOK } from '../helpers/cli-api.ts';
import { firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.ts';

const redisUrl = inject('redisUrl');

/**
 * A worker process is SIGKILLed while its archive pass is inside its transaction (held there by a
 * table lock this test takes): PostgreSQL rolls the pass back, and the next worker archives each
 * incident once, complete. On the machine's PostgreSQL: the embedded PGlite lives inside the one
 * Fireline process, so there a dead worker is a dead database, and nothing half-written can outlive
 * the transaction either.
 */
describe('a worker killed in the middle of archiving', () => {
  let pipeline: Pipeline | undefined;
  let scratch: ScratchDatabase | undefined;
  let history: HistoryDb | undefined;
  let locker: pg.Client | undefined;
  const procs: FirelineProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0))
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    await locker?.end();
    await pipeline?.close(2000);
    await history?.close();
    await scratch?.drop();
  });

  it('archives each incident once, complete, after the next worker takes over', async () => {
    scratch = await createScratchDatabase();
    history = await openHistoryDb({ url: scratch.url }, (err) => {
      throw err;
    });
    pipeline = await testPipeline(redisUrl, [DB_RUNBOOK]);
    const ids: string[] = [];
    for (const pod of ['a', 'b', 'c']) {
      const [o] = await pipeline.intake(firingAlert({ alertname: 'DbPoolExhausted', pod }));
      if (o?.outcome !== 'opened') throw new Error(`expected an opened incident, got ${JSON.stringify(o)}`);
      ids.push(o.incidentId);
    }
    const dir = mkdtempSync(join(tmpdir(), 'fireline-history-crash-'));
    writeFileSync(join(dir, 'db-pool.yaml'), DB_RUNBOOK);
    const worker = () => {
      const p = spawnFireline(['start', '--role', 'worker', '--queues', 'triggers'], {
        REDIS_URL: redisUrl,
        FIRELINE_PREFIX: pipeline!.deps.queues.prefix,
        FIRELINE_RUNBOOKS: dir,
        FIRELINE_HISTORY: 'on',
        DATABASE_URL: scratch!.url,
        FIRELINE_LOCK_DURATION_MS: '1000',
        FIRELINE_STALLED_INTERVAL_MS: '1000',
      });
      procs.push(p);
      return p;
    };

    // Hold the events table: the pass writes the incidents, then waits on the lock, inside its transaction.
    locker = new pg.Client({ connectionString: scratch.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE incident_events IN ACCESS EXCLUSIVE MODE');
    const a = worker();
    await a.waitForLine(/workers started/);
    const blocked = async () =>
      (
        await scratch!.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO incident_events%'",
        )
      ).map((r) => r.pid);
    await expect.poll(blocked, { timeout: 20_000, interval: 100 }).toHaveLength(1);
    const [backend] = await blocked();
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');
    await locker.query('ROLLBACK');
    // The server notices its client is gone and rolls the pass back: nothing half-written.
    await expect
      .poll(
        async () => (await scratch!.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backend])).length,
        {
          timeout: 10_000,
        },
      )
      .toBe(0);
    expect(
      await scratch.query('SELECT id FROM incidents WHERE id = ANY($1::text[])', [ids]),
      'the killed pass committed nothing',
    ).toEqual([]);

    const b = worker();
    await b.waitForLine(/workers started/);
    const whole = async () => {
      const archived = await scratch!.query<{ id: string; last_event_id: string }>(
        'SELECT id, last_event_id FROM incidents WHERE id = ANY($1::text[])',
        [ids],
      );
      const inRedis = await pipeline!.deps.feed.lastTimelineIds(ids);
      return ids.filter((id) => archived.find((r) => r.id === id)?.last_event_id === inRedis.get(id)).length;
    };
    // The dead pass's hold on the archive (a Redis marker) lapses after 20 s.
    await expect.poll(whole, { timeout: 40_000, interval: 250 }).toBe(ids.length);
    for (const id of ids) {
      const timeline = await pipeline.deps.store.timeline(id);
      const rows = await scratch.query<{ event_id: string }>(
        'SELECT event_id FROM incident_events WHERE incident_id = $1',
        [id],
      );
      expect(rows.map((r) => r.event_id).sort(), `incident ${id}: every event once`).toEqual(
        timeline.map((e) => e.id).sort(),
      );
      const [row] = await scratch.query<{ record: unknown }>('SELECT record FROM incidents WHERE id = $1', [
        id,
      ]);
      expect(row?.record).toEqual(await pipeline.deps.store.get(id));
    }
  }, 90_000);
});
