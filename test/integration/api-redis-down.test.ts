import { afterEach, describe, expect, it, vi } from 'vitest';
import { type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventRoutes } from '../../src/producer/routes/events.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { remediationRoutes } from '../../src/producer/routes/remediations.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';

describe('operator API while Redis is down', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  let redis: PrivateRedis | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    await redis?.stop();
    api = pipeline = redis = undefined;
  });

  it('answers 503 with Retry-After (never 500), and serves again once Redis is back', async () => {
    redis = await startRedis();
    const { port } = redis;
    pipeline = await testPipeline(redis.url, [apiRunbook({ marker: actionMarker().path })]);
    api = await startApi(pipeline, [incidentRoutes, eventRoutes, remediationRoutes]);
    const { url } = api;
    const opened = await call(url, 'POST', '/api/v1/incidents', {
      body: { runbookId: 'payment-service-slow' },
    });
    expect(opened.status, opened.text).toBe(201);

    await redis.stop();
    const connection = pipeline.deps.redis;
    await vi.waitFor(() => expect(connection.status, 'request connection state').not.toBe('ready'));
    const requests: [string, string, unknown][] = [
      ['GET', '/api/v1/incidents', undefined],
      ['GET', `/api/v1/incidents/${opened.body.incidentId}`, undefined],
      ['POST', '/api/v1/incidents', { runbookId: 'payment-service-slow' }],
      ['POST', `/api/v1/incidents/${opened.body.incidentId}/ack`, undefined],
      ['GET', '/api/v1/events', undefined],
      ['GET', '/api/v1/remediations', undefined],
      ['POST', '/api/v1/remediations/pause', undefined],
    ];
    for (const [method, path, body] of requests) {
      const res = await call(url, method, path, { body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
    }

    // The same port again (an empty Redis: nothing is persisted): the connections come back.
    redis = await startRedis(['--port', String(port)]);
    await pipeline.ready();
    const again = await call(url, 'POST', '/api/v1/incidents', {
      body: { runbookId: 'payment-service-slow' },
    });
    expect(again.status, again.text).toBe(201);
    const back = await call(url, 'GET', '/api/v1/incidents');
    expect(back.status, back.text).toBe(200);
    expect(back.body.items.map((i: { id: string }) => i.id)).toEqual([again.body.incidentId]);
  });
});
