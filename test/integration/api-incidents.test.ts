import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { jobIds } from '../../src/queues/catalog.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const auth = { operatorToken: 'op-secret', viewerToken: 'view-secret', ingestToken: 'ingest-secret' };
const OP = { token: auth.operatorToken };

describe('operator API: incidents', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    api = undefined;
    pipeline = undefined;
  });

  async function setup(opts: { workers: boolean }) {
    const marker = actionMarker();
    pipeline = await testPipeline(redisUrl, [
      apiRunbook({ marker: marker.path }),
      apiRunbook({ marker: marker.path, id: 'search-slow', service: 'search', severity: 'P3' }),
    ]);
    if (opts.workers) await pipeline.startWorkers(FAST_WORKERS);
    api = await startApi(pipeline, [incidentRoutes], { auth });
    const url = api.url;
    const trigger = async (runbookId: string, labels: Record<string, string>) => {
      const res = await call(url, 'POST', '/api/v1/incidents', { ...OP, body: { runbookId, labels } });
      expect(res.status, res.text).toBe(201);
      return res.body.incidentId as string;
    };
    return { url, marker, trigger };
  }

  it('lists newest first with filters, and pages through every match with the cursor', async () => {
    const { url, trigger } = await setup({ workers: false });
    const payment: string[] = [];
    for (const pod of ['p1', 'p2', 'p3', 'p4', 'p5'])
      payment.push(await trigger('payment-service-slow', { pod }));
    const search = [await trigger('search-slow', { pod: 's1' }), await trigger('search-slow', { pod: 's2' })];
    const resolved = await call(url, 'POST', `/api/v1/incidents/${payment[1]}/resolve`, OP);
    expect(resolved.status, resolved.text).toBe(200);

    const all = async (query: string, limit: number) => {
      const ids: string[] = [];
      const created: string[] = [];
      let cursor: string | null = null;
      do {
        const path = `/api/v1/incidents?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await call(url, 'GET', path, OP);
        expect(page.status, page.text).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(limit);
        ids.push(...page.body.items.map((i: { id: string }) => i.id));
        created.push(...page.body.items.map((i: { createdAt: string }) => i.createdAt));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(created, 'newest first').toEqual([...created].sort().reverse());
      expect(new Set(ids).size, `no incident twice in ${ids.join(', ')}`).toBe(ids.length);
      return ids;
    };
    expect((await all('', 2)).sort()).toEqual([...payment, ...search].sort());
    expect((await all('runbook=payment-service-slow', 3)).sort()).toEqual([...payment].sort());
    expect((await all('service=search', 1)).sort()).toEqual([...search].sort());
    expect((await all('severity=P3', 50)).sort()).toEqual([...search].sort());
    expect(await all('open=false', 50)).toEqual([payment[1]]);
    expect(await all('status=resolved', 50)).toEqual([payment[1]]);
    expect((await all('open=true&runbook=payment-service-slow', 2)).sort()).toEqual(
      payment.filter((id) => id !== payment[1]).sort(),
    );
    const first = await call(url, 'GET', '/api/v1/incidents?limit=7', OP);
    expect(first.body.nextCursor, 'exactly one page').toBeNull();

    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['status=burning', 'status'],
      ['open=yes', 'open'],
      ['cursor=garbage', 'cursor'],
    ]) {
      const bad = await call(url, 'GET', `/api/v1/incidents?${query}`, OP);
      expect(bad.status, `${query}: ${bad.text}`).toBe(400);
      expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
  });

  it('manual trigger → decision; approve runs the fix; complete, ack (escalation cancelled), resolve, report', async () => {
    const { url, marker } = await setup({ workers: true });
    const body = { runbookId: 'payment-service-slow', labels: { namespace: 'prod' }, note: 'drill' };
    const opened = await call(url, 'POST', '/api/v1/incidents', { ...OP, body });
    expect(opened.status, opened.text).toBe(201);
    expect(opened.body).toMatchObject({ outcome: 'opened', incidentId: expect.stringMatching(/^inc-/) });
    const id = opened.body.incidentId as string;
    const again = await call(url, 'POST', '/api/v1/incidents', { ...OP, body });
    expect(again.status, again.text).toBe(201);
    expect(again.body).toEqual({ incidentId: id, outcome: 'attached' });
    await eventsUntil(pipeline!, id, (e) => e.type === 'remediation.succeeded');

    const detail = await call(url, 'GET', `/api/v1/incidents/${id}`, OP);
    expect(detail.status, detail.text).toBe(200);
    const { incident, runbook, escalation } = detail.body;
    expect(incident.alert).toMatchObject({
      source: 'manual',
      labels: { alertname: 'PaymentServiceHighLatency', namespace: 'prod' },
    });
    expect(incident.status).toBe('awaiting_approval');
    expect(runbook).toMatchObject({ id: 'payment-service-slow', severity: 'P1', service: 'payment-service' });
    expect(runbook.diagnostics).toEqual([
      {
        id: 'check_db_connections',
        name: 'Database connections',
        type: 'shell_command',
        description: 'How full the connection pool is',
      },
    ]);
    expect(runbook.escalation).toMatchObject({ primary: '#incidents-payment', escalateAfterMinutes: 15 });
    const dueInMs = Date.parse(escalation.dueAt) - Date.parse(incident.createdAt);
    expect(dueInMs, `dueAt ${escalation.dueAt} vs createdAt ${incident.createdAt}`).toBeGreaterThan(
      14.9 * 60_000,
    );
    expect(dueInMs).toBeLessThan(15.5 * 60_000);

    const timeline = await call(url, 'GET', `/api/v1/incidents/${id}/timeline`, OP);
    const note = timeline.body.events.find((e: { type: string }) => e.type === 'note');
    expect(note).toMatchObject({ actor: 'token:operator', message: 'drill' });

    // Unknown things are 404, operations the state does not allow are 409.
    const notFound: [string, string, unknown][] = [
      ['GET', '/api/v1/incidents/inc-nope', undefined],
      ['GET', '/api/v1/incidents/inc-nope/timeline', undefined],
      ['GET', '/api/v1/incidents/inc-nope/report.md', undefined],
      ['POST', '/api/v1/incidents/inc-nope/ack', undefined],
      ['POST', '/api/v1/incidents/inc-nope/resolve', {}],
      ['POST', `/api/v1/incidents/${id}/approvals/no_such_step`, { decision: 'approve' }],
      ['POST', `/api/v1/incidents/${id}/steps/no_such_step/complete`, {}],
    ];
    for (const [method, path, body] of notFound) {
      const res = await call(url, method, path, { ...OP, body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
    }
    const unknownRunbook = await call(url, 'POST', '/api/v1/incidents', {
      ...OP,
      body: { runbookId: 'nope' },
    });
    expect(unknownRunbook.status, unknownRunbook.text).toBe(404);
    const noRunbook = await call(url, 'POST', '/api/v1/incidents', { ...OP, body: { labels: {} } });
    expect(noRunbook.status).toBe(400);
    expect(noRunbook.body.errors).toEqual([{ field: 'runbookId', message: expect.any(String) }]);
    const badDecision = await call(url, 'POST', `/api/v1/incidents/${id}/approvals/rollback_deployment`, {
      ...OP,
      body: { decision: 'maybe' },
    });
    expect(badDecision.status).toBe(400);
    const approveDone = await call(url, 'POST', `/api/v1/incidents/${id}/approvals/kill_idle_connections`, {
      ...OP,
      body: { decision: 'approve' },
    });
    expect(approveDone.status, approveDone.text).toBe(409);
    expect(approveDone.body.detail).toMatch(/cannot approve kill_idle_connections: it is succeeded/);

    const approved = await call(url, 'POST', `/api/v1/incidents/${id}/approvals/rollback_deployment`, {
      ...OP,
      body: { decision: 'approve', comment: 'deploy 42 is bad' },
    });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body.step).toMatchObject({
      stepId: 'rollback_deployment',
      state: 'approved',
      by: 'token:operator',
    });
    await eventsUntil(
      pipeline!,
      id,
      (e) => e.type === 'remediation.succeeded' && e.data?.stepId === 'rollback_deployment',
    );
    expect(marker.ran()).toEqual(['kill', 'rollback']);
    const rejectLate = await call(url, 'POST', `/api/v1/incidents/${id}/approvals/rollback_deployment`, {
      ...OP,
      body: { decision: 'reject' },
    });
    expect(rejectLate.status, rejectLate.text).toBe(409);

    const completed = await call(url, 'POST', `/api/v1/incidents/${id}/steps/check_dashboards/complete`, {
      ...OP,
      body: { comment: 'p99 back to normal' },
    });
    expect(completed.status, completed.text).toBe(200);
    expect(completed.body.step).toMatchObject({ state: 'done', comment: 'p99 back to normal' });
    const completeAgain = await call(
      url,
      'POST',
      `/api/v1/incidents/${id}/steps/check_dashboards/complete`,
      OP,
    );
    expect(completeAgain.status, completeAgain.text).toBe(409);

    const ack = await call(url, 'POST', `/api/v1/incidents/${id}/ack`, OP);
    expect(ack.status, ack.text).toBe(200);
    expect(ack.body).toEqual({ acknowledged: true, changed: true });
    const events = (await pipeline!.deps.store.timeline(id)).map((e) => e.type);
    expect(events).toContain('escalation.cancelled');
    expect((await call(url, 'GET', `/api/v1/incidents/${id}`, OP)).body.escalation).toEqual({
      dueAt: null,
      channels: ['#incidents-payment'],
    });
    const timer = await pipeline!.deps.queues.byName.notifications.getJob(jobIds.escalate(id));
    expect(timer, 'the escalation timer is gone').toBeUndefined();
    const ackAgain = await call(url, 'POST', `/api/v1/incidents/${id}/ack`, OP);
    expect(ackAgain.body).toEqual({ acknowledged: true, changed: false });

    const resolved = await call(url, 'POST', `/api/v1/incidents/${id}/resolve`, {
      ...OP,
      body: { comment: 'fixed' },
    });
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.body.incident).toMatchObject({ id, status: 'resolved', acknowledged: true });
    const resolveAgain = await call(url, 'POST', `/api/v1/incidents/${id}/resolve`, OP);
    expect(resolveAgain.status, resolveAgain.text).toBe(409);

    const report = await call(url, 'GET', `/api/v1/incidents/${id}/report.md`, OP);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(report.headers.get('content-disposition')).toBe(`attachment; filename="${id}.md"`);
    expect(report.text).toContain(`# Incident ${id}: Payment Service High Latency (P1)`);
    for (const text of ['Roll back', 'deploy 42 is bad', 'p99 back to normal', 'token:operator'])
      expect(report.text, `report mentions ${text}`).toContain(text);

    const all = await pipeline!.deps.store.timeline(id);
    const page = await call(url, 'GET', `/api/v1/incidents/${id}/timeline?after=${all[0]!.id}&limit=2`, OP);
    expect(page.body.events.map((e: { id: string }) => e.id)).toEqual(all.slice(1, 3).map((e) => e.id));
    const badAfter = await call(url, 'GET', `/api/v1/incidents/${id}/timeline?after=yesterday`, OP);
    expect(badAfter.status).toBe(400);
  });

  it('scopes: viewer reads but cannot act; no or a wrong token is 401; ingest cannot read', async () => {
    const { url, trigger } = await setup({ workers: false });
    const id = await trigger('payment-service-slow', { pod: 'a' });
    const viewer = { token: auth.viewerToken };
    for (const path of ['/api/v1/incidents', `/api/v1/incidents/${id}`, `/api/v1/incidents/${id}/timeline`]) {
      const res = await call(url, 'GET', path, viewer);
      expect(res.status, `viewer GET ${path}: ${res.text}`).toBe(200);
    }
    const writes: [string, unknown][] = [
      ['/api/v1/incidents', { runbookId: 'payment-service-slow' }],
      [`/api/v1/incidents/${id}/ack`, undefined],
      [`/api/v1/incidents/${id}/resolve`, {}],
      [`/api/v1/incidents/${id}/approvals/rollback_deployment`, { decision: 'approve' }],
      [`/api/v1/incidents/${id}/steps/check_dashboards/complete`, {}],
    ];
    for (const [path, body] of writes) {
      const res = await call(url, 'POST', path, { ...viewer, body });
      expect(res.status, `viewer POST ${path}: ${res.text}`).toBe(403);
    }
    expect((await call(url, 'GET', '/api/v1/incidents')).status).toBe(401);
    expect((await call(url, 'GET', '/api/v1/incidents', { token: 'wrong' })).status).toBe(401);
    expect((await call(url, 'GET', '/api/v1/incidents', { token: auth.ingestToken })).status).toBe(403);
    expect((await pipeline!.deps.store.get(id))?.acknowledged, 'nothing changed').toBe(false);
  });
});
