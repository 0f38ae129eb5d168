import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseRunbookTestFile } from '../../src/engine/runbook-test.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { incidentRoutes } from '../../src/producer/routes/incidents.ts';
import { replayRoutes } from '../../src/producer/routes/replay.ts';
import { runbookRoutes } from '../../src/producer/routes/runbooks.ts';
import { actionMarker, apiRunbook, call } from '../helpers/api.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { runCli } from '../helpers/cli-api.ts';
import { eventsUntil, FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const auth = { operatorToken: 'replay-operator', viewerToken: 'replay-viewer' };
const VIEWER = { token: auth.viewerToken };
const REMEDIATIONS = '[kill_idle_connections, rollback_deployment, check_dashboards]';

describe('replay: an incident saved as a runbook test, and run against the runbook as it is now', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  afterEach(async () => {
    await api?.close();
    await pipeline?.close(5000);
    api = undefined;
    pipeline = undefined;
  });

  /** The runbook in a temp runbooks dir, served by a pipeline with workers; an incident decided on it. */
  async function decidedIncident() {
    const dir = mkdtempSync(join(tmpdir(), 'fireline-replay-'));
    const runbookFile = join(dir, 'payment-service-slow.yaml');
    const runbook = apiRunbook({ marker: actionMarker().path, dbPercent: 96 });
    writeFileSync(runbookFile, runbook);
    pipeline = await testPipeline(redisUrl, [runbook]);
    await pipeline.startWorkers(FAST_WORKERS);
    api = await startApi(pipeline, [incidentRoutes, replayRoutes, runbookRoutes], {
      auth,
      runbookPaths: [dir],
    });
    const opened = await call(api.url, 'POST', '/api/v1/incidents', {
      token: auth.operatorToken,
      body: { runbookId: 'payment-service-slow', labels: { namespace: 'prod' } },
    });
    expect(opened.status, opened.text).toBe(201);
    const id = opened.body.incidentId as string;
    await eventsUntil(pipeline, id, (e) => e.type === 'decision.made');
    const cli = ['--url', api.url, '--token', auth.viewerToken];
    return { dir, runbookFile, runbook, id, cli, url: api.url };
  }

  it('fireline test --from-incident writes a case that passes, and fails with a readable diff once the threshold moves', async () => {
    const { dir, runbookFile, runbook, id, cli, url } = await decidedIncident();

    const replay = await call(url, 'GET', `/api/v1/incidents/${id}/replay`, VIEWER);
    expect(replay.status, replay.text).toBe(200);
    const name = `replay of ${id} (PaymentServiceHighLatency, ${replay.body.testCase.now.slice(0, 10)})`;
    expect(replay.body).toMatchObject({
      incidentId: id,
      runbookId: 'payment-service-slow',
      testCase: {
        name,
        alert: { status: 'firing', labels: { alertname: 'PaymentServiceHighLatency', namespace: 'prod' } },
        diagnostics: { check_db_connections: { facts: { exit_code: 0, json: { used_pct: 96 } } } },
      },
      recorded: {
        verdicts: { check_db_connections: 'critical' },
        overall: 'critical',
        remediations: ['kill_idle_connections', 'rollback_deployment', 'check_dashboards'],
        approvals: ['rollback_deployment'],
        escalate: false,
      },
      differences: [],
    });
    expect(replay.body.current).toEqual(replay.body.recorded);
    expect(replay.body.testCaseYaml).toMatch(new RegExp(`^  - name: ${name.replace(/[()]/g, '\\$&')}\n`));
    const decided = (await pipeline!.deps.store.timeline(id)).find((e) => e.type === 'decision.made');
    expect(replay.body.testCase.now, 'the case runs at the time of the decision').toBe(decided?.at);

    const saved = await runCli(['test', '--from-incident', id, ...cli, dir]);
    const testFile = join(dir, 'payment-service-slow.test.yaml');
    expect({ code: saved.code, stderr: saved.stderr }, saved.stdout).toEqual({ code: 0, stderr: '' });
    expect(saved.stdout).toBe(`Created ${testFile}: case '${name}'\nRun it with: fireline test ${dir}\n`);
    const parsed = parseRunbookTestFile(readFileSync(testFile, 'utf8'), testFile);
    expect(parsed.ok && parsed.test.cases, readFileSync(testFile, 'utf8')).toEqual([replay.body.testCase]);

    const again = await runCli(['test', '--from-incident', id, ...cli, dir]);
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 1, stdout: '' });
    expect(again.stderr).toBe(
      `fireline test: cannot add the case to ${testFile}: it already has a case named '${name}'\n`,
    );

    const passing = await runCli(['test', dir]);
    expect({ code: passing.code, stderr: passing.stderr }, passing.stdout).toEqual({ code: 0, stderr: '' });
    expect(passing.stdout).toBe(`✓ payment-service-slow › ${name}\n1 passed, 0 failed\n`);

    const agreeing = await runCli(['replay', id, ...cli]);
    expect({ code: agreeing.code, stderr: agreeing.stderr }, agreeing.stdout).toEqual({
      code: 0,
      stderr: '',
    });
    expect(agreeing.stdout).toContain('The current runbook decides the same as what happened.');
    expect(agreeing.stdout).toMatch(/^ {3}check_db_connections +✗ critical +✗ critical$/m);

    // Someone raises the threshold: 96 % is no longer critical.
    writeFileSync(
      runbookFile,
      runbook
        .replace('critical: "json.used_pct >= 90"', 'critical: "json.used_pct >= 99"')
        .replace('healthy: "json.used_pct < 90"', 'healthy: "json.used_pct < 99"'),
    );
    const failing = await runCli(['test', dir]);
    expect({ code: failing.code, stderr: failing.stderr }, failing.stdout).toEqual({ code: 1, stderr: '' });
    expect(failing.stdout).toBe(
      [
        `✗ payment-service-slow › ${name}`,
        '    verdicts.check_db_connections',
        '      - expected: critical',
        '      + actual:   healthy',
        '    overall',
        '      - expected: critical',
        '      + actual:   healthy',
        '    remediations',
        `      - expected: ${REMEDIATIONS}`,
        '      + actual:   []',
        '    approvals',
        '      - expected: [rollback_deployment]',
        '      + actual:   []',
        '0 passed, 1 failed',
        '',
      ].join('\n'),
    );

    // The API serves the edited runbook once reloaded: the replay now differs, line by line.
    const reload = await call(url, 'POST', '/api/v1/runbooks/reload', { token: auth.operatorToken });
    expect(reload.status, reload.text).toBe(200);
    const differing = await runCli(['replay', id, ...cli]);
    expect({ code: differing.code, stderr: differing.stderr }, differing.stdout).toEqual({
      code: 1,
      stderr: '',
    });
    expect(differing.stdout).toMatch(/^≠ {2}check_db_connections +✗ critical +✓ healthy$/m);
    expect(differing.stdout).toMatch(
      /^≠ {2}remediations +kill_idle_connections, rollback_deployment, check_dashboards +none$/m,
    );
    expect(differing.stdout.split('\n').filter((l) => l.startsWith('  ≠ '))).toEqual([
      '  ≠ verdict of Database connections (check_db_connections): it was critical; now healthy',
      '  ≠ overall status: it was critical; now healthy',
      '  ≠ remediations: it was kill_idle_connections, rollback_deployment, check_dashboards; now none',
      '  ≠ steps that need approval: it was rollback_deployment; now none',
    ]);
    const json = await runCli(['replay', id, '--json', ...cli]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).current).toEqual({
      verdicts: { check_db_connections: 'healthy' },
      overall: 'healthy',
      remediations: [],
      approvals: [],
      escalate: false,
    });
  });

  it('404 for an unknown incident, 409 once its runbook is no longer loaded, viewer scope at least', async () => {
    const { runbookFile, runbook, id, cli, url } = await decidedIncident();
    expect((await call(url, 'GET', `/api/v1/incidents/${id}/replay`)).status).toBe(401);
    const unknown = await call(url, 'GET', '/api/v1/incidents/inc-nope/replay', VIEWER);
    expect({ status: unknown.status, detail: unknown.body.detail }).toEqual({
      status: 404,
      detail: "incident 'inc-nope' not found",
    });
    const missing = await runCli(['replay', 'inc-nope', ...cli]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({
      code: 1,
      stderr: "fireline replay: incident 'inc-nope' not found (404 Not Found)\n",
    });

    writeFileSync(runbookFile, runbook.replace('id: payment-service-slow', 'id: payment-service-renamed'));
    const reload = await call(url, 'POST', '/api/v1/runbooks/reload', { token: auth.operatorToken });
    expect(reload.status, reload.text).toBe(200);
    const gone = await call(url, 'GET', `/api/v1/incidents/${id}/replay`, VIEWER);
    expect({ status: gone.status, detail: gone.body.detail }).toEqual({
      status: 409,
      detail: `runbook 'payment-service-slow' of incident '${id}' is no longer loaded: there is nothing to replay it against`,
    });
  });
});
