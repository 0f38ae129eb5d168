import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { remediationRoutes } from '../../src/producer/routes/remediations.ts';
import { jobIds } from '../../src/queues/catalog.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const auth = { operatorToken: 'op', viewerToken: 'view' };
const OP = { token: auth.operatorToken };
const VIEW = { token: auth.viewerToken };

describe('operator API: remediations kill switch', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    api = undefined;
    pipeline = undefined;
  });

  it('pause holds an approved fix in the queue; resume runs it; counts show where jobs are', async () => {
    const marker = actionMarker();
    pipeline = await testPipeline(redisUrl, [apiRunbook({ marker: marker.path })]);
    await pipeline.startWorkers(FAST_WORKERS);
    api = await startApi(pipeline, [incidentRoutes, remediationRoutes], { auth });
    const { url } = api;

    const status = await call(url, 'GET', '/api/v1/remediations', VIEW);
    expect(status.status, status.text).toBe(200);
    expect(status.body).toEqual({
      paused: false,
      counts: {
        waiting: 0,
        active: 0,
        delayed: 0,
        completed: 0,
        failed: 0,
        prioritized: 0,
        'waiting-children': 0,
      },
    });

    const opened = await call(url, 'POST', '/api/v1/incidents', {
      ...OP,
      body: { runbookId: 'payment-service-slow' },
    });
    const id = opened.body.incidentId as string;
    await eventsUntil(pipeline, id, (e) => e.type === 'remediation.succeeded');
    expect(marker.ran()).toEqual(['kill']);

    const paused = await call(url, 'POST', '/api/v1/remediations/pause', OP);
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toEqual({ paused: true });
    expect(await pipeline.deps.queues.byName.remediations.isPaused()).toBe(true);

    const approved = await call(url, 'POST', `/api/v1/incidents/${id}/approvals/rollback_deployment`, {
      ...OP,
      body: { decision: 'approve' },
    });
    expect(approved.status, approved.text).toBe(200);
    const held = await call(url, 'GET', '/api/v1/remediations', VIEW);
    expect(held.body.paused).toBe(true);
    expect(held.body.counts).toMatchObject({ waiting: 1, active: 0, completed: 1 });
    const job = await pipeline.deps.queues.byName.remediations.getJob(
      jobIds.remediate(id, 'rollback_deployment'),
    );
    expect(await job?.getState(), 'the approved fix waits in the paused queue').toBe('waiting');

    const resumed = await call(url, 'POST', '/api/v1/remediations/resume', OP);
    expect(resumed.body).toEqual({ paused: false });
    await eventsUntil(
      pipeline,
      id,
      (e) => e.type === 'remediation.succeeded' && e.data?.stepId === 'rollback_deployment',
    );
    expect(marker.ran()).toEqual(['kill', 'rollback']);
    // The event is recorded just before the job itself completes.
    await vi.waitFor(async () => {
      const after = await call(url, 'GET', '/api/v1/remediations', VIEW);
      expect(after.body).toMatchObject({ paused: false, counts: { waiting: 0, active: 0, completed: 2 } });
    });
  });

  it('scopes: a viewer reads the switch but cannot flip it', async () => {
    pipeline = await testPipeline(redisUrl, [apiRunbook({ marker: actionMarker().path })]);
    api = await startApi(pipeline, [remediationRoutes], { auth });
    for (const path of ['/api/v1/remediations/pause', '/api/v1/remediations/resume']) {
      const res = await call(api.url, 'POST', path, VIEW);
      expect(res.status, `${path}: ${res.text}`).toBe(403);
    }
    expect(await pipeline.deps.queues.byName.remediations.isPaused()).toBe(false);
    expect((await call(api.url, 'GET', '/api/v1/remediations', VIEW)).status).toBe(200);
  });
});
