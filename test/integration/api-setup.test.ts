import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import { createAdapters } from '../../src/adapters/index.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { setupRoutes } from '../../src/producer/routes/setup.ts';
import { call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

/**
 * GET /api/v1/setup: the doctor's report of the serving process, behind the viewer scope, kept
 * for a minute (a page view runs no check) unless `?fresh=true`.
 */

const redisUrl = inject('redisUrl');
const TOKENS = { operatorToken: 'setup-operator-token', viewerToken: 'setup-viewer-token1' };

const RUNBOOK = (url: string) => `
id: api-setup
name: API setup
severity: P3
service: web
triggers: [{ type: manual }]
diagnostics:
  - id: ping
    name: Ping
    type: http_check
    config: { urls: [{ name: web, url: "${url}/health" }] }
    interpret: { healthy: all_healthy }
decisionTree: [{ otherwise: true, then: [page] }]
remediations: [{ id: page, name: Page, type: escalate }]
escalation: { primary: "pagerduty:web" }
`;

describe('GET /api/v1/setup', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  let web: Receiver | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    await web?.close();
  });

  it('answers the report to a viewer, from a cache unless asked fresh, and 401 without a token', async () => {
    web = await startReceiver();
    pipeline = await testPipeline(redisUrl, [RUNBOOK(web.url)], {
      adapters: createAdapters(ConnectionsSchema.parse({ pagerduty: { routingKeys: { web: 'key-web' } } })),
    });
    api = await startApi(pipeline, [setupRoutes], { auth: TOKENS });

    expect((await call(api.url, 'GET', '/api/v1/setup')).status).toBe(401);
    const first = await call(api.url, 'GET', '/api/v1/setup', { token: TOKENS.viewerToken });
    expect(first.status, first.text).toBe(200);
    const byId = new Map(first.body.checks.map((c: { id: string }) => [c.id, c]));
    expect(byId.get('connection.pagerduty:web')).toMatchObject({ status: 'ok', runbooks: ['api-setup'] });
    expect(byId.get('diagnostic.api-setup.ping')).toMatchObject({ status: 'ok' });
    expect(byId.get('settings.tokens')).toMatchObject({ status: 'ok' });
    expect(byId.get('history.database')).toMatchObject({ status: 'skip' });
    expect(web.received).toHaveLength(1);

    const again = await call(api.url, 'GET', '/api/v1/setup', { token: TOKENS.viewerToken });
    expect(again.body.generatedAt).toBe(first.body.generatedAt);
    expect(web.received, 'a cached report runs no check').toHaveLength(1);

    const fresh = await call(api.url, 'GET', '/api/v1/setup?fresh=true', { token: TOKENS.viewerToken });
    expect(fresh.status).toBe(200);
    expect(web.received, 'a fresh report runs the checks again').toHaveLength(2);
    expect(
      (await call(api.url, 'GET', '/api/v1/setup?fresh=yes', { token: TOKENS.viewerToken })).status,
    ).toBe(400);
  });
});
