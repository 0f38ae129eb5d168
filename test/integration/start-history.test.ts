import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';
import { freePort } from '../../scripts/harness/redis-server.ts';
import { openHistoryDb } from '../../src/history/db.ts';

const redisUrl = inject('redisUrl');

/** `npm start` keeps the history with nothing configured; a split deployment must name a server. */
describe('fireline start with the incident history on (the default)', () => {
  const procs: FirelineProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0))
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
  });

  it('role all without DATABASE_URL keeps it in an embedded PostgreSQL in the data dir', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'fireline-history-start-'));
    const p = spawnFireline(['start'], {
      PORT: String(port),
      REDIS_URL: redisUrl,
      FIRELINE_DATA_DIR: dataDir,
      FIRELINE_RUNBOOKS: 'runbooks',
      FIRELINE_PREFIX: `hs${port}`,
      FIRELINE_HISTORY: 'on',
      DATABASE_URL: '',
    });
    procs.push(p);
    await p.waitForLine(/incident history: embedded PostgreSQL/, 60_000);
    await p.waitForLine(/^Console: +http:\/\/127\.0\.0\.1:\d+\/$/, 30_000);
    const created = await fetch(`http://127.0.0.1:${port}/api/v1/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runbookId: 'oom-kills', labels: { namespace: 'shop', pod: 'cart-1' } }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { incidentId } = (await created.json()) as { incidentId: string };
    // The archive runs once a second; the incident's history row appears without anyone asking.
    await expect
      .poll(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/history?q=cart-1`);
          return res.ok
            ? ((await res.json()) as { items: { id: string }[] }).items.map((i) => i.id)
            : res.status;
        },
        { timeout: 20_000, interval: 250 },
      )
      .toEqual([incidentId]);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    // Closed cleanly: the data dir opens again (one process at a time) and holds the incident.
    const db = await openHistoryDb({ dir: join(dataDir, 'history') }, (err) => {
      throw err;
    });
    try {
      expect(await db.query('SELECT id, runbook_id FROM incidents')).toEqual([
        { id: incidentId, runbook_id: 'oom-kills' },
      ]);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('a split role without DATABASE_URL refuses to start, saying why and what to set', async () => {
    const p = spawnFireline(['start', '--role', 'worker'], {
      REDIS_URL: redisUrl,
      FIRELINE_RUNBOOKS: 'runbooks',
      FIRELINE_HISTORY: 'on',
      DATABASE_URL: '',
    });
    procs.push(p);
    expect(await p.exited).toBe(1);
    const out = p.lines.join('\n');
    expect(out).toContain('role worker needs DATABASE_URL');
    expect(out).toContain('only one process can open');
    expect(out).toContain('FIRELINE_HISTORY=off');
  });
});
