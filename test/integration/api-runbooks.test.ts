import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { runbookRoutes } from '../../src/producer/routes/runbooks.ts';
import { apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const auth = { operatorToken: 'op', viewerToken: 'view' };
const OP = { token: auth.operatorToken };
const VIEW = { token: auth.viewerToken };

const BROKEN = `id: broken-one
name: Broken
severity: P9
service: payments
triggers: [{ type: alert, alertName: Broken }]
diagnostics: []
decisionTree:
  - condition: "true"
    then: [no_such_fix]
remediations: []
escalation: { primary: "#ops" }
`;

describe('operator API: runbooks', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    if (dir) rmSync(dir, { recursive: true, force: true });
    api = undefined;
    pipeline = undefined;
    dir = undefined;
  });

  async function setup() {
    dir = mkdtempSync(join(tmpdir(), 'fireline-runbooks-'));
    const payment = apiRunbook({ marker: join(dir, 'actions.log') });
    writeFileSync(join(dir, 'payment.yaml'), payment);
    pipeline = await testPipeline(redisUrl, [payment]);
    api = await startApi(pipeline, [runbookRoutes], { auth, runbookPaths: [dir] });
    return { url: api.url, dir };
  }

  const ids = async (url: string) =>
    (await call(url, 'GET', '/api/v1/runbooks', VIEW)).body.runbooks.map((r: { id: string }) => r.id);

  it('lists summaries and reads one whole runbook; an unknown id is 404', async () => {
    const { url } = await setup();
    const list = await call(url, 'GET', '/api/v1/runbooks', VIEW);
    expect(list.status, list.text).toBe(200);
    expect(list.body.runbooks).toEqual([
      {
        id: 'payment-service-slow',
        name: 'Payment Service High Latency',
        description: 'p99 latency of the payment API is high',
        severity: 'P1',
        service: 'payment-service',
        triggers: [{ type: 'alert', alertName: 'PaymentServiceHighLatency', matchers: [] }],
        diagnostics: [{ id: 'check_db_connections', name: 'Database connections', type: 'shell_command' }],
        remediations: [
          {
            id: 'kill_idle_connections',
            name: 'Kill idle connections',
            type: 'automated',
            requiresApproval: false,
          },
          { id: 'rollback_deployment', name: 'Roll back', type: 'automated', requiresApproval: true },
          { id: 'check_dashboards', name: 'Check the dashboards', type: 'manual', requiresApproval: false },
        ],
      },
    ]);
    const one = await call(url, 'GET', '/api/v1/runbooks/payment-service-slow', VIEW);
    expect(one.status, one.text).toBe(200);
    expect(one.body.runbook).toEqual(pipeline!.deps.catalog.require('payment-service-slow').runbook);
    expect(one.body.runbook.decisionTree[0].then).toEqual([
      'kill_idle_connections',
      'rollback_deployment',
      'check_dashboards',
    ]);
    const missing = await call(url, 'GET', '/api/v1/runbooks/nope', VIEW);
    expect(missing.status, missing.text).toBe(404);
    expect(missing.body.detail).toMatch(/runbook 'nope' not found/);
  });

  it('reload swaps the whole set; a set with errors is 422 naming every issue, and the old set stays', async () => {
    const { url, dir } = await setup();
    writeFileSync(
      join(dir, 'search.yaml'),
      apiRunbook({ marker: join(dir, 'a.log'), id: 'search-slow', service: 'search' }),
    );
    const ok = await call(url, 'POST', '/api/v1/runbooks/reload', OP);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ runbooks: ['payment-service-slow', 'search-slow'] });
    expect(await ids(url)).toEqual(['payment-service-slow', 'search-slow']);

    writeFileSync(join(dir, 'broken.yaml'), BROKEN);
    const refused = await call(url, 'POST', '/api/v1/runbooks/reload', OP);
    expect(refused.status, refused.text).toBe(422);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const file = join(dir, 'broken.yaml');
    expect(refused.body.errors).toEqual([
      { field: `${file}:3 severity`, message: expect.stringMatching(/P1.*P4|expected one of/i) },
      { field: `${file}:9 decisionTree[0].then[0]`, message: expect.stringMatching(/no_such_fix/) },
    ]);
    expect(refused.body.detail).toContain(`${file}:3: severity: `);
    expect(await ids(url), 'the old set is still served').toEqual(['payment-service-slow', 'search-slow']);

    rmSync(file);
    writeFileSync(join(dir, 'search.yaml'), 'id: [unclosed');
    const yamlError = await call(url, 'POST', '/api/v1/runbooks/reload', OP);
    expect(yamlError.status, yamlError.text).toBe(422);
    expect(yamlError.body.errors[0].field).toMatch(new RegExp(`^${join(dir, 'search.yaml')}:1`));
    expect(await ids(url)).toEqual(['payment-service-slow', 'search-slow']);
  });

  it('scopes: a viewer reads but cannot reload', async () => {
    const { url } = await setup();
    expect((await call(url, 'GET', '/api/v1/runbooks', VIEW)).status).toBe(200);
    expect((await call(url, 'GET', '/api/v1/runbooks/payment-service-slow', VIEW)).status).toBe(200);
    const reload = await call(url, 'POST', '/api/v1/runbooks/reload', VIEW);
    expect(reload.status, reload.text).toBe(403);
    expect((await call(url, 'GET', '/api/v1/runbooks')).status).toBe(401);
  });
});
