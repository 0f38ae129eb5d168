import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HistoryDb } from '../../src/history/db.ts';
import { archivePass, historyOn, sweepIncidents } from '../../src/incidents/archive.ts';
import type { PipelineDeps } from '../../src/incidents/deps.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { call } from '../helpers/api.ts';
import { type CliFixture, cliFixture, DB_RUNBOOK, startCli } from '../helpers/cli-api.ts';
import { HISTORY_BACKENDS } from '../helpers/history.ts';
import { eventsUntil, firingAlert, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const DAY_MS = 24 * 3600 * 1000;

function archiving(deps: PipelineDeps) {
  if (!historyOn(deps)) throw new Error('expected a pipeline with the history on');
  return deps;
}

/** Runs archive passes until the history holds the incident's newest event (another pass may hold the archive). */
async function archivedWhole(deps: PipelineDeps, id: string): Promise<void> {
  const d = archiving(deps);
  const until = Date.now() + 15_000;
  for (;;) {
    await archivePass(d);
    const [inRedis, archived] = await Promise.all([
      d.feed.lastTimelineIds([id]),
      d.history.lastEventIds([id]),
    ]);
    if (inRedis.get(id) !== undefined && inRedis.get(id) === archived.get(id)) return;
    if (Date.now() > until)
      throw new Error(
        `incident ${id} not archived whole: Redis ${inRedis.get(id)}, history ${archived.get(id)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(HISTORY_BACKENDS)('incident history on $name', (backend) => {
  let db: HistoryDb;
  let closeDb: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close: closeDb } = await backend.open());
  }, 60_000);
  afterAll(() => closeDb());

  let fixture: CliFixture | undefined;
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await fixture?.close();
    await pipeline?.close(5000);
    fixture = undefined;
    pipeline = undefined;
  });

  const count = async (sql: string, params: unknown[]) =>
    ((await db.query<{ n: number }>(sql, params))[0] as { n: number }).n;

  it('archives an incident whole as it changes, once, and serves it from the history after the sweep', async () => {
    let offsetMs = 0;
    fixture = await cliFixture(redisUrl, {}, { history: db, now: () => new Date(Date.now() + offsetMs) });
    const { deps } = fixture.pipeline;
    const created = await call(fixture.url, 'POST', '/api/v1/incidents', {
      body: { runbookId: 'db-pool', labels: { pod: 'db-7', team: 'payments' } },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.incidentId as string;
    await eventsUntil(fixture.pipeline, id, (e) => e.type === 'remediation.awaiting_approval');
    for (const [path, body] of [
      [`/api/v1/incidents/${id}/approvals/rollback`, { decision: 'approve' }],
      [`/api/v1/incidents/${id}/steps/check_dashboards/complete`, {}],
    ] as const) {
      const res = await call(fixture.url, 'POST', path, { body });
      expect(res.status, `${path}: ${res.text}`).toBe(200);
    }
    await eventsUntil(
      fixture.pipeline,
      id,
      (e) => e.type === 'remediation.succeeded' && e.data?.stepId === 'rollback',
    );
    const resolved = await call(fixture.url, 'POST', `/api/v1/incidents/${id}/resolve`, {});
    expect(resolved.status, resolved.text).toBe(200);
    await archivedWhole(deps, id);

    const record = await deps.store.get(id);
    const timeline = await deps.store.timeline(id);
    const [row] = await db.query<Record<string, unknown>>('SELECT * FROM incidents WHERE id = $1', [id]);
    expect(row?.record, 'the record as Redis holds it').toEqual(record);
    expect(row).toMatchObject({
      status: 'resolved',
      runbook_id: 'db-pool',
      service: 'payments',
      escalated: false,
    });
    expect(row?.evidence_at).toBe(timeline.find((e) => e.type === 'decision.made')?.at);
    expect(row?.resolved_unattended, 'a person approved, completed and resolved').toBe(false);
    const events = await db.query<{ event_id: string; type: string }>(
      'SELECT event_id, type FROM incident_events WHERE incident_id = $1',
      [id],
    );
    expect(events.map((e) => `${e.event_id} ${e.type}`).sort(), 'every event of the timeline, once').toEqual(
      timeline.map((e) => `${e.id} ${e.type}`).sort(),
    );
    const steps = await db.query<{ step_id: string; kind: string; state: string; by_actor: string | null }>(
      'SELECT step_id, kind, state, by_actor FROM incident_steps WHERE incident_id = $1 ORDER BY step_id',
      [id],
    );
    expect(steps.map((s) => `${s.step_id} ${s.kind} ${s.state}`)).toEqual([
      'check_dashboards manual done',
      'kill_idle automated succeeded',
      'rollback approval succeeded',
    ]);
    const rules = await db.query<{ matched: boolean }>(
      'SELECT matched FROM incident_rules WHERE incident_id = $1',
      [id],
    );
    expect(rules.map((r) => r.matched)).toEqual([true]);

    // Passes run again (the scheduler's and ours) write nothing twice.
    await archivePass(archiving(deps));
    await archivePass(archiving(deps));
    expect(await count('SELECT count(*) AS n FROM incident_events WHERE incident_id = $1', [id])).toBe(
      timeline.length,
    );

    // The retention sweep: gone from Redis, still there for the API, the report and the CLI.
    offsetMs = 91 * DAY_MS;
    expect(await sweepIncidents(deps)).toEqual({ removed: 1 });
    expect(await deps.store.get(id), 'swept from Redis').toBeNull();
    const page = await call(fixture.url, 'GET', `/api/v1/incidents/${id}`, {});
    expect(page.status, page.text).toBe(200);
    expect(page.body.incident).toEqual(record);
    const archivedTimeline = await call(fixture.url, 'GET', `/api/v1/incidents/${id}/timeline?limit=500`, {});
    expect(archivedTimeline.body.events).toEqual(timeline);
    const report = await call(fixture.url, 'GET', `/api/v1/incidents/${id}/report.md`, {});
    expect(report.status).toBe(200);
    expect(report.text).toContain(id);
    expect(report.text).toContain('Database pool exhausted');
    const show = startCli(['incidents', 'show', id, '--url', fixture.url]);
    expect(await show.done, show.stderr()).toBe(0);
    expect(show.stdout()).toContain(id);
    expect(show.stdout()).toMatch(/resolved/);
    const sse = await fetch(`${fixture.url}/api/v1/incidents/${id}/events`);
    const reader = sse.body?.getReader();
    let text = '';
    while (reader && !text.includes('incident.resolved'))
      text += new TextDecoder().decode((await reader.read()).value);
    await reader?.cancel();
    expect(text, 'the live view replays the archived timeline').toContain(`id: ${timeline[0]?.id}`);
  });

  it('never sweeps an incident the history does not hold whole', async () => {
    let offsetMs = 0;
    pipeline = await testPipeline(redisUrl, [DB_RUNBOOK], {
      history: db,
      now: () => new Date(Date.now() + offsetMs),
    });
    const d = archiving(pipeline.deps);
    const [opened] = await pipeline.intake(firingAlert({ alertname: 'DbPoolExhausted' }));
    if (opened?.outcome !== 'opened')
      throw new Error(`expected an opened incident, got ${JSON.stringify(opened)}`);
    const id = opened.incidentId;
    await d.store.setStatus(id, ['triggered'], 'resolved', {
      type: 'incident.resolved',
      actor: 'system',
      message: 'test',
    });
    await archivedWhole(d, id);
    // A late event the history has not seen yet: this incident must stay in Redis.
    await d.store.appendEvent(id, { type: 'note', actor: 'token:alice', message: 'written after the pass' });
    offsetMs = 91 * DAY_MS;
    const cutoff = new Date(Date.now() + DAY_MS);
    expect(
      await d.store.sweep(cutoff, async (ids) =>
        d.history.archivedResolved(ids, await d.feed.lastTimelineIds(ids)),
      ),
    ).toBe(0);
    expect(await d.store.get(id)).not.toBeNull();
    expect(await sweepIncidents(d), 'the sweep archives first, then removes').toEqual({ removed: 1 });
    const notes = await db.query<{ n: number }>(
      "SELECT count(*) AS n FROM incident_events WHERE incident_id = $1 AND type = 'note'",
      [id],
    );
    expect(notes[0]?.n).toBe(1);
  });

  it('keeps the alerts no runbook took, one row per firing, counting deliveries', async () => {
    pipeline = await testPipeline(redisUrl, [DB_RUNBOOK], { history: db });
    const d = archiving(pipeline.deps);
    const lonely = firingAlert({ alertname: 'DiskAlmostFull', instance: 'node-3' });
    expect(await pipeline.intake(lonely)).toEqual([{ outcome: 'no_runbook' }]);
    await pipeline.intake(lonely); // Alertmanager's repeat
    await pipeline.intake(firingAlert({ alertname: 'CertExpiring' }));
    await pipeline.intake({ ...lonely, status: 'resolved' }); // resolved: not a firing
    const out = await archivePass(d);
    expect(out.unmatched).toBe(3);
    const rows = await db.query<{ alertname: string; deliveries: number; labels: Record<string, string> }>(
      'SELECT alertname, deliveries, labels FROM unmatched_alerts WHERE prefix = $1 ORDER BY alertname',
      [d.history.prefix],
    );
    expect(rows).toEqual([
      { alertname: 'CertExpiring', deliveries: 1, labels: { alertname: 'CertExpiring' } },
      {
        alertname: 'DiskAlmostFull',
        deliveries: 2,
        labels: { alertname: 'DiskAlmostFull', instance: 'node-3' },
      },
    ]);
    expect((await archivePass(d)).unmatched, 'a second pass takes nothing again').toBe(0);
  });

  it('a history turned on later takes in the incidents Redis already holds', async () => {
    const before = await testPipeline(redisUrl, [DB_RUNBOOK]);
    const [opened] = await before.intake(firingAlert({ alertname: 'DbPoolExhausted' }));
    await before.close(5000);
    if (opened?.outcome !== 'opened') throw new Error('expected an opened incident');
    // The same installation (prefix) restarted with the history on.
    pipeline = await testPipeline(redisUrl, [DB_RUNBOOK], { history: db, prefix: before.deps.queues.prefix });
    const out = await archivePass(archiving(pipeline.deps));
    expect(out).toMatchObject({ incidents: 1, reconciled: false });
    expect(await count('SELECT count(*) AS n FROM incidents WHERE id = $1', [opened.incidentId])).toBe(1);
  });

  it('events trimmed from the stream before the archive read them: the incidents changed since are compared and archived', async () => {
    pipeline = await testPipeline(redisUrl, [DB_RUNBOOK], { history: db });
    const d = archiving(pipeline.deps);
    const alert = (pod: string) => firingAlert({ alertname: 'DbPoolExhausted', pod });
    const [a] = await pipeline.intake(alert('a'));
    expect(await archivePass(d)).toMatchObject({ incidents: 1, reconciled: false });
    const [b] = await pipeline.intake(alert('b'));
    if (a?.outcome !== 'opened' || b?.outcome !== 'opened') throw new Error('expected opened incidents');
    await d.store.appendEvent(a.incidentId, {
      type: 'note',
      actor: 'token:alice',
      message: 'while the archive was away',
    });
    // The stream's cap drops everything the archive has not read yet (as a long outage would).
    await pipeline.deps.redis.xtrim(`${d.history.prefix}:events`, 'MAXLEN', 0);
    const [c] = await pipeline.intake(alert('c'));
    if (c?.outcome !== 'opened') throw new Error('expected an opened incident');
    const out = await archivePass(d);
    expect(out).toMatchObject({ incidents: 3, reconciled: true });
    for (const id of [a.incidentId, b.incidentId, c.incidentId]) {
      const timeline = await d.store.timeline(id);
      expect(await count('SELECT count(*) AS n FROM incident_events WHERE incident_id = $1', [id]), id).toBe(
        timeline.length,
      );
    }
    expect(await archivePass(d), 'caught up').toMatchObject({ incidents: 0, reconciled: false });
  });
});
