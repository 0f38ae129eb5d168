import { type Request, Router } from 'express';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import type { RouteModule } from '../../src/producer/deps.ts';
import { alertRoutes } from '../../src/producer/routes/alerts.ts';
import { AUTH, INGEST, LATENCY_RUNBOOK, latencyGroup, TOKENS } from '../helpers/alert-webhooks.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

/**
 * Issue 13: the Alertmanager webhook is taken before express in the plain case
 * (src/producer/pre-route.ts). Each request is sent twice, to the exact path (the pre-route may take
 * it) and with a query string (only express takes it): the answers must be the same, and the
 * express-only module in front must see exactly the requests the pre-route did not take.
 */
describe('the Alertmanager webhook before express answers as the express route does', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    api = pipeline = undefined;
  });

  async function serve() {
    pipeline = await testPipeline(redisUrl, [LATENCY_RUNBOOK]);
    const seen: string[] = [];
    // Mounted first: express runs it for every request express takes.
    const recorder: RouteModule = () => {
      const router = Router();
      router.use((req: Request, _res, next) => {
        seen.push(req.originalUrl);
        next();
      });
      return router;
    };
    api = await startApi(pipeline, [recorder, alertRoutes], { auth: AUTH, bodyLimitBytes: 4096 });
    const path = '/api/v1/alerts/alertmanager';
    const post = async (url: string, body: string, headers: Record<string, string>) => {
      const res = await fetch(`${api!.url}${url}`, { method: 'POST', headers, body });
      const text = await res.text();
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        length: res.headers.get('content-length'),
        body: text,
      };
    };
    /** The answers to the same request at the exact path and through express. */
    const both = async (body: string, headers: Record<string, string>) => ({
      direct: await post(path, body, headers),
      viaExpress: await post(`${path}?via=express`, body, headers),
    });
    return { seen, both, post, path };
  }

  const json = { 'content-type': 'application/json', ...INGEST };
  /** Fingerprints and incident ids (each of a fixed length) replaced: two incidents' answers compare. */
  const shape = (body: string) =>
    body.replace(/"(incidentId|fingerprint)":"[^"]+"/g, (_m, key: string) => `"${key}":"…"`);

  it('a valid group: 202 with the same headers and body, and express never sees it', async () => {
    const { seen, post, path } = await serve();
    // Two pods: the same alert twice would attach the second time.
    const direct = await post(path, JSON.stringify(latencyGroup(['pod-a'])), json);
    const viaExpress = await post(`${path}?via=express`, JSON.stringify(latencyGroup(['pod-b'])), json);
    expect(direct.status).toBe(202);
    expect(direct.type).toBe('application/json; charset=utf-8');
    expect({ ...direct, body: shape(direct.body) }).toEqual({ ...viaExpress, body: shape(viaExpress.body) });
    expect(JSON.parse(direct.body)).toMatchObject({ accepted: 1, rejected: [] });
    expect(seen).toEqual([`${path}?via=express`]);
  });

  it('refusals and bad bodies get express answers, the same at either URL', async () => {
    const { seen, both, path } = await serve();
    const cases: [string, string, Record<string, string>, number][] = [
      ['not JSON', '{"alerts": [', json, 400],
      ['not a group', '{"hello": 1}', json, 400],
      ['a rejected alert', JSON.stringify({ alerts: [{ labels: { a: 1 } }] }), json, 400],
      [
        'a viewer token',
        JSON.stringify(latencyGroup(['pod-b'])),
        { ...json, authorization: `Bearer ${TOKENS.viewer}` },
        403,
      ],
      ['no token', JSON.stringify(latencyGroup(['pod-b'])), { 'content-type': 'application/json' }, 401],
      [
        'over the body limit',
        JSON.stringify(latencyGroup(Array.from({ length: 40 }, (_, i) => `pod-${i}`))),
        json,
        413,
      ],
      ['a form post', 'a=1', { ...INGEST, 'content-type': 'application/x-www-form-urlencoded' }, 400],
    ];
    for (const [what, body, headers, status] of cases) {
      const { direct, viaExpress } = await both(body, headers);
      expect(direct.status, what).toBe(status);
      expect(direct, what).toEqual(viaExpress);
    }
    // Refused before the body, or a body read but not taken: express runs its middleware on them.
    // A body the parser fails on goes straight to the error handler, with the parser's error.
    expect(seen.filter((u) => u === path)).toHaveLength(cases.length - 2);
  });
});
