import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { bullBoardRoutes } from '../../src/producer/routes/bull-board.ts';
import { QUEUE_NAMES } from '../../src/queues/catalog.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

const RUNBOOK = `
id: board-demo
name: Board demo
severity: P3
service: board-service
triggers:
  - type: alert
    alertName: BoardDemo
diagnostics:
  - id: check
    name: Check
    type: shell_command
    timeout: 10
    config:
      command: [node, -e, "console.log(1)"]
    interpret:
      healthy: "exit_code == 0"
decisionTree: []
remediations: []
escalation:
  primary: "#ops-board"
  escalateAfterMinutes: 15
`;

const AUTH = { viewerToken: 'viewer-secret-2', operatorToken: 'operator-secret-2' };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  allowRetries: boolean;
}

describe('Bull Board at /admin/queues', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  async function setup() {
    pipeline = await testPipeline(redisUrl, [RUNBOOK]);
    api = await startApi(pipeline, [bullBoardRoutes], { auth: AUTH });
    return { pipeline, api };
  }
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    api = pipeline = undefined;
  });

  it('serves the board page to an operator token, as Bearer or as a Basic password', async () => {
    const { api } = await setup();
    for (const authorization of [
      `Bearer ${AUTH.operatorToken}`,
      basic('anyone', AUTH.operatorToken),
      basic('', AUTH.operatorToken),
    ]) {
      const res = await fetch(`${api.url}/admin/queues`, { headers: { authorization } });
      expect(res.status, authorization).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain('<title>Fireline queues</title>');
      // Assets and API calls resolve against <base href>: the mount path.
      expect(html).toContain('<base href="/admin/queues/" />');
    }
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(
      await (
        await fetch(`${api.url}/admin/queues`, { headers: { authorization: basic('', AUTH.operatorToken) } })
      ).text(),
    )?.[1];
    expect(script, 'main script of the board page').toBeDefined();
    const asset = await fetch(`${api.url}/admin/queues/${script}`, {
      headers: { authorization: basic('', AUTH.operatorToken) },
    });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
  });

  it('asks a browser to log in without a token, and refuses viewers and wrong passwords', async () => {
    const { api } = await setup();
    const none = await fetch(`${api.url}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic realm="fireline"');

    const viewer = await fetch(`${api.url}/admin/queues`, {
      headers: { authorization: `Bearer ${AUTH.viewerToken}` },
    });
    expect(viewer.status).toBe(403);
    expect(((await viewer.json()) as { detail: string }).detail).toBe(
      "this token lacks the 'operator' scope",
    );

    const wrong = await fetch(`${api.url}/admin/queues`, {
      headers: { authorization: basic('admin', 'not-the-token') },
    });
    expect(wrong.status).toBe(401);

    // The API behind the page is guarded the same way.
    const api401 = await fetch(`${api.url}/admin/queues/api/queues`);
    expect(api401.status).toBe(401);
    const api403 = await fetch(`${api.url}/admin/queues/api/queues`, {
      headers: { authorization: basic('viewer', AUTH.viewerToken) },
    });
    expect(api403.status).toBe(403);
  });

  it('lists all five queues with their counts through its API', async () => {
    const { pipeline, api } = await setup();
    await pipeline.startWorkers(FAST_WORKERS);
    const [outcome] = await pipeline.intake(firingAlert({ alertname: 'BoardDemo' }));
    const incidentId = (outcome as { incidentId: string }).incidentId;
    await eventsUntil(pipeline, incidentId, (e) => e.type === 'decision.made');

    const res = await fetch(`${api.url}/admin/queues/api/queues`, {
      headers: { authorization: basic('admin', AUTH.operatorToken) },
    });
    expect(res.status).toBe(200);
    const { queues } = (await res.json()) as { queues: BoardQueue[] };
    expect(queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
    const byName = new Map(queues.map((q) => [q.name, q]));
    expect(byName.get('diagnostics')?.counts.completed).toBe(1);
    expect(byName.get('remediations')?.allowRetries).toBe(false);
    expect(byName.get('notifications')?.allowRetries).toBe(true);
  });
});
