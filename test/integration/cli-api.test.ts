import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/harness/redis-server.ts';
import type { Incident } from '../../src/engine/types.ts';
import { type CliFixture, cliFixture, runCli } from '../helpers/cli-api.ts';
import { eventsUntil } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';

describe('fireline CLI against the HTTP API', () => {
  let fx: CliFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function setup() {
    fx = await cliFixture(redisUrl, { operatorToken: OPERATOR, viewerToken: VIEWER });
    const api = ['--url', fx.url, '--token', OPERATOR];
    return { fx, api };
  }

  /** Triggers db-pool and waits until its plan is decided; resolves with the incident id. */
  async function decidedIncident(api: string[], labels: string[] = []): Promise<string> {
    const { code, stdout, stderr } = await runCli(['trigger', 'db-pool', ...labels, ...api]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const id = /incident (inc-\S+)/.exec(stdout)?.[1];
    if (!id) throw new Error(`no incident id in: ${stdout}`);
    // Settled: the automated step ran and the incident waits for the approval.
    await eventsUntil(
      fx!.pipeline,
      id,
      (_e, seen) =>
        seen.some((e) => e.type === 'remediation.succeeded') &&
        seen.some((e) => e.type === 'incident.status' && e.data?.to === 'awaiting_approval'),
    );
    return id;
  }

  it('trigger prints the incident id and console URL; the incident exists with its labels and note', async () => {
    const { api } = await setup();
    const run = await runCli([
      'trigger',
      'db-pool',
      '--label',
      'namespace=prod',
      '--note',
      'paged by hand',
      ...api,
    ]);
    const id = /^Opened incident (inc-\S+)\n/.exec(run.stdout)?.[1];
    expect({ code: run.code, stderr: run.stderr, id: Boolean(id) }, run.stdout).toEqual({
      code: 0,
      stderr: '',
      id: true,
    });
    expect(run.stdout).toBe(`Opened incident ${id}\n  ${fx!.url}/incidents/${id}\n`);
    const incident = await fx!.pipeline.deps.store.get(id!);
    expect(incident?.alert.labels).toEqual({ alertname: 'DbPoolExhausted', namespace: 'prod' });
    const notes = (await fx!.pipeline.deps.store.timeline(id!)).filter((e) => e.type === 'note');
    expect(notes.map((e) => [e.actor, e.message])).toEqual([['token:operator', 'paged by hand']]);

    const again = await runCli(['trigger', 'db-pool', '--label', 'namespace=prod', '--json', ...api]);
    expect({ code: again.code, body: JSON.parse(again.stdout) }).toEqual({
      code: 0,
      body: { incidentId: id, outcome: 'attached' },
    });
  });

  it('incidents list, show and report', async () => {
    const { api } = await setup();
    const id = await decidedIncident(api);

    const list = await runCli(['incidents', ...api]);
    const lines = list.stdout.trimEnd().split('\n');
    expect({ code: list.code, header: lines[0]?.split(/\s+/) }).toEqual({
      code: 0,
      header: ['ID', 'SEV', 'STATUS', 'RUNBOOK', 'AGE', 'FLAGS'],
    });
    expect(lines.slice(1).map((l) => l.split(/ {2,}/))).toEqual([
      [id, 'P1', 'awaiting approval', 'db-pool', expect.stringMatching(/^\d+s$/), '-'],
    ]);
    const none = await runCli(['incidents', 'list', '--status', 'resolved', ...api]);
    expect(none).toEqual({ code: 0, stdout: 'No incidents match.\n', stderr: '' });
    const json = await runCli([
      'incidents',
      'list',
      '--open',
      '--runbook',
      'db-pool',
      '--limit',
      '5',
      '--json',
      ...api,
    ]);
    const page = JSON.parse(json.stdout) as { items: Incident[]; nextCursor: string | null };
    expect({ ids: page.items.map((i) => i.id), nextCursor: page.nextCursor }).toEqual({
      ids: [id],
      nextCursor: null,
    });

    const show = await runCli(['incidents', 'show', id, '--url', fx!.url, '--token', VIEWER]);
    expect(show.code, show.stderr).toBe(0);
    for (const line of [
      `${id}  Database pool exhausted`,
      'Verdicts (overall ✗ critical)',
      '  ✗ critical  Database connections  json.used_pct >= 90',
      '  ✓ healthy   Queue depth           json.used_pct < 90',
      "  ✓ Database pool exhausted: diagnostics.db_connections.status == 'critical'",
      '      read: diagnostics.db_connections.status = "critical"',
      `  awaiting approval  rollback          Roll back (approval)  → fireline approve|reject ${id} rollback`,
      `  pending            check_dashboards  Check the dashboards (manual)  → fireline complete ${id} check_dashboards`,
    ])
      expect(show.stdout.split('\n'), show.stdout).toContain(line);
    expect(show.stdout).toMatch(/\n {2}escalation {2}due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in 1[45]m\)\n/);
    const showJson = await runCli(['incidents', 'show', id, '--json', ...api]);
    expect(JSON.parse(showJson.stdout).incident.id).toBe(id);

    const report = await runCli(['incidents', 'report', id, ...api]);
    expect({ code: report.code, head: report.stdout.split('\n')[0] }).toEqual({
      code: 0,
      head: `# Incident ${id}: Database pool exhausted (P1)`,
    });

    const missing = await runCli(['incidents', 'show', 'inc-nope', ...api]);
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: "fireline incidents: incident 'inc-nope' not found (404 Not Found)\n",
    });
  });

  it('approve, reject, complete, ack and resolve; a refused operation exits 1 with the detail', async () => {
    const { api } = await setup();
    const id = await decidedIncident(api);

    expect(await runCli(['approve', id, 'rollback', '--comment', 'deploy 42', ...api])).toEqual({
      code: 0,
      stdout: 'rollback: approved by token:operator\n',
      stderr: '',
    });
    expect(await runCli(['reject', id, 'rollback', ...api])).toEqual({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(
        /^fireline reject: cannot reject rollback: it is (approved|queued|running|succeeded) \(409 Conflict\)\n$/,
      ),
    });
    const refusedJson = await runCli(['approve', id, 'rollback', '--json', ...api]);
    expect({ code: refusedJson.code, problem: JSON.parse(refusedJson.stdout) }).toMatchObject({
      code: 1,
      problem: { status: 409, title: 'Conflict', detail: expect.stringMatching(/^cannot approve rollback/) },
    });
    expect(await runCli(['complete', id, 'check_dashboards', ...api])).toEqual({
      code: 0,
      stdout: 'check_dashboards: done by token:operator\n',
      stderr: '',
    });
    expect(await runCli(['ack', id, ...api])).toEqual({
      code: 0,
      stdout: `Acknowledged ${id}\n`,
      stderr: '',
    });
    const ackAgain = await runCli(['ack', id, '--json', ...api]);
    expect({ code: ackAgain.code, body: JSON.parse(ackAgain.stdout) }).toEqual({
      code: 0,
      body: { acknowledged: true, changed: false },
    });
    expect(await runCli(['resolve', id, '--comment', 'pool drained', ...api])).toEqual({
      code: 0,
      stdout: `Resolved ${id}\n`,
      stderr: '',
    });
    expect(await runCli(['resolve', id, ...api])).toEqual({
      code: 1,
      stdout: '',
      stderr: `fireline resolve: cannot resolve: incident ${id} is resolved (409 Conflict)\n`,
    });
    const incident = await fx!.pipeline.deps.store.get(id);
    expect({ status: incident?.status, acknowledged: incident?.acknowledged }).toEqual({
      status: 'resolved',
      acknowledged: true,
    });
    expect(incident?.plan.find((s) => s.stepId === 'rollback')).toMatchObject({ comment: 'deploy 42' });

    const other = await decidedIncident(api, ['--label', 'namespace=other']);
    expect(await runCli(['reject', other, 'rollback', ...api])).toEqual({
      code: 0,
      stdout: 'rollback: rejected by token:operator\n',
      stderr: '',
    });
  });

  it('remediations pause, status and resume', async () => {
    const { api } = await setup();
    expect(await runCli(['remediations', 'pause', ...api])).toEqual({
      code: 0,
      stdout: 'Remediations paused\n',
      stderr: '',
    });
    const status = await runCli(['remediations', 'status', ...api]);
    expect({ code: status.code, first: status.stdout.split('\n')[0] }).toEqual({
      code: 0,
      first: 'Remediations paused: no automated action starts until `fireline remediations resume`',
    });
    expect(status.stdout).toMatch(/\n {2}waiting +0\n/);
    expect(await runCli(['remediations', 'resume', ...api])).toEqual({
      code: 0,
      stdout: 'Remediations running\n',
      stderr: '',
    });
    const json = await runCli(['remediations', 'status', '--json', ...api]);
    expect(JSON.parse(json.stdout)).toMatchObject({ paused: false, counts: { waiting: 0, active: 0 } });
    expect(await fx!.pipeline.deps.queues.byName.remediations.isPaused()).toBe(false);
  });

  it('exit 4 for a missing, invalid or under-scoped token, with the detail', async () => {
    const { fx } = await setup();
    const noToken = await runCli(['incidents', '--url', fx.url]);
    expect({ code: noToken.code, stderr: noToken.stderr.split('\n')[0] }).toEqual({
      code: 4,
      stderr:
        'fireline incidents: a bearer token is required (Authorization: Bearer <token>) (401 Unauthorized)',
    });
    const bad = await runCli(['watch', 'inc-x', '--url', fx.url, '--token', 'not-the-token']);
    expect({ code: bad.code, stderr: bad.stderr.split('\n')[0] }).toEqual({
      code: 4,
      stderr: 'fireline watch: the bearer token is not valid (401 Unauthorized)',
    });
    const viewer = await runCli(['remediations', 'pause', '--url', fx.url, '--token', VIEWER]);
    expect({ code: viewer.code, stderr: viewer.stderr.split('\n')[0] }).toEqual({
      code: 4,
      stderr: "fireline remediations: this token lacks the 'operator' scope (403 Forbidden)",
    });
    expect(await fx.pipeline.deps.queues.byName.remediations.isPaused()).toBe(false);
  });

  it('exit 3 when nothing listens at the URL, naming it and how to start Fireline', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runCli(['incidents', 'list', '--url', url]);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 3, stdout: '' });
    expect(run.stderr).toBe(
      `fireline incidents: cannot reach Fireline at ${url}: connection refused (ECONNREFUSED)\n` +
        "Is Fireline running? Start it with 'fireline start' (it listens on HOST:PORT, default " +
        '127.0.0.1:3000), or point --url or FIRELINE_URL at it.\n',
    );
    const watch = await runCli(['watch', '--url', url]);
    expect(watch.code, watch.stderr).toBe(3);
  });
});
