import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dateTime } from '../../src/cli/format.ts';
import { call } from '../helpers/api.ts';
import { runCli } from '../helpers/cli-api.ts';
import { HISTORY_BACKENDS } from '../helpers/history.ts';
import {
  archiveItem,
  type HistoryApi,
  historyApi,
  type IncidentSpec,
  statsRunbook,
  unmatchedDelivery,
} from '../helpers/history-fixtures.ts';

const redisUrl = inject('redisUrl');
const VIEWER = 'viewer-token-0123456789ab';
const DISK = { alertname: 'DiskFull', host: 'db-1' };
const RANGE = ['--from', '2026-11-02T00:00:00Z', '--to', '2026-11-09T00:00:00Z'];

/** Two db-pool incidents: one fixed by itself in 90 s, one a person resolved after 2 h 5 min. */
const INCIDENTS: IncidentSpec[] = [
  {
    id: 'inc-quick',
    runbookId: 'db-pool',
    runbookName: 'Database pool',
    service: 'payments',
    createdAt: '2026-11-02T10:00:00.000Z',
    labels: { alertname: 'DbPoolExhausted', pod: 'db-7' },
    events: [
      [20, 'decision.made'],
      [21, 'remediation.started', 'system', { stepId: 'kill_idle' }],
      [25, 'remediation.succeeded', 'system', { stepId: 'kill_idle' }],
      [40, 'remediation.verified', 'system', { stepId: 'kill_idle', healthy: true }],
      [90, 'incident.resolved'],
    ],
    plan: [
      { stepId: 'kill_idle', kind: 'automated', actionType: 'run_script', state: 'succeeded' },
      { stepId: 'check_dashboards', kind: 'manual', state: 'pending' },
    ],
    rules: [['Database pool exhausted', true]],
  },
  {
    id: 'inc-slow',
    runbookId: 'db-pool',
    runbookName: 'Database pool',
    service: 'payments',
    createdAt: '2026-11-04T10:00:00.000Z',
    labels: { alertname: 'DbPoolExhausted', pod: 'db-8' },
    events: [
      [40, 'decision.made'],
      [100, 'step.completed', 'token:operator', { stepId: 'check_dashboards' }],
      [7500, 'incident.resolved', 'token:operator'],
    ],
    plan: [
      { stepId: 'kill_idle', kind: 'automated', actionType: 'run_script', state: 'failed' },
      { stepId: 'check_dashboards', kind: 'manual', state: 'done' },
    ],
    rules: [['Database pool exhausted', false]],
  },
];

describe.each(HISTORY_BACKENDS)('fireline stats and history on $name', (backend) => {
  let fx: HistoryApi;
  let cli: string[];
  beforeAll(async () => {
    fx = await historyApi(redisUrl, backend, {
      runbooks: [statsRunbook('db-pool', 'payments'), statsRunbook('cert-renew', 'certs')],
      incidents: INCIDENTS,
      unmatched: [
        unmatchedDelivery(0, '2026-11-05T10:00:00.000Z', DISK, { fingerprint: 'd1', startsAt: 's1' }),
        unmatchedDelivery(1, '2026-11-05T10:05:00.000Z', DISK, { fingerprint: 'd1', startsAt: 's1' }),
      ],
      auth: { viewerToken: VIEWER },
    });
    cli = ['--url', fx.url, '--token', VIEWER];
  }, 60_000);
  afterAll(() => fx?.close());

  it('stats prints a row per runbook, its actions, rules and manual steps, and the coverage', async () => {
    const { code, stdout, stderr } = await runCli(['stats', ...RANGE, ...cli]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.split('\n').map((l) => l.trimEnd());
    expect(lines[0]).toBe(
      `Incidents from ${dateTime('2026-11-02T00:00:00.000Z')} to ${dateTime('2026-11-09T00:00:00.000Z')}`,
    );
    expect(lines.slice(2, 4).map((l) => l.split(/\s{2,}/))).toEqual([
      [
        'RUNBOOK',
        'INCIDENTS',
        'RESOLVED',
        'TTE p50/p90',
        'TTA p50/p90',
        'TTR p50/p90',
        'UNATTENDED',
        'ESCALATED',
      ],
      // TTE 20, 40 s: p50 30, p90 20 + 0.9·20 = 38; TTR 90 s and 7,500 s (2 h 5 min):
      // p50 3,795 s = 1 h 3 min 15 s, p90 90 + 0.9·7,410 = 6,759 s = 1 h 52 min 39 s; 1 of 2 unattended
      ['db-pool', '2', '2', '30s / 38s', '– / –', '1h 3m / 1h 52m', '50%', '0'],
    ]);
    const detail = stdout.slice(stdout.indexOf('\ndb-pool  Database pool\n'));
    expect(detail).toContain('kill_idle  run_script  2     failed 1, succeeded 1  1 of 1 (100%)');
    expect(detail).toContain('1     1 of 2 (50%)  Database pool exhausted');
    // inc-slow: the plan put the step before the responder at 40 s, done at 100 s: 60 s
    expect(detail).toContain('check_dashboards  1     1m / 1m');
    expect(stdout).toContain(
      `DiskFull  1        2           ${dateTime('2026-11-05T10:05:00.000Z')}  host=db-1`,
    );
    expect(stdout).toContain('Runbooks that never fired: cert-renew');
  });

  it('stats --json prints the API answer; --runbook, --service and --since narrow it', async () => {
    const json = await runCli(['stats', ...RANGE, '--json', ...cli]);
    const api = await call(
      cli[1]!,
      'GET',
      '/api/v1/stats?from=2026-11-02T00:00:00Z&to=2026-11-09T00:00:00Z',
      { token: VIEWER },
    );
    expect({ code: json.code, body: JSON.parse(json.stdout) }).toEqual({ code: 0, body: api.body });

    const other = await runCli(['stats', ...RANGE, '--service', 'certs', ...cli]);
    expect(other.stdout).toContain('No incidents in this range.');
    expect(other.stdout).toContain('Runbooks that never fired: cert-renew');

    // The fixture is in November 2026: nothing in the hour before now.
    const recent = await runCli(['stats', '--since', '1h', '--runbook', 'db-pool', '--json', ...cli]);
    const body = JSON.parse(recent.stdout);
    expect({ runbooks: body.runbooks, neverFired: body.coverage.neverFired }).toEqual({
      runbooks: [],
      neverFired: ['db-pool'],
    });
    expect(Date.now() - Date.parse(body.from)).toBeGreaterThanOrEqual(3_600_000);
  });

  it('history lists the past incidents holding every word, newest first', async () => {
    const all = await runCli(['history', 'dbpoolexhausted', ...cli]);
    expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 0, stderr: '' });
    expect(all.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^ID\s+OPENED\s+RUNBOOK\s+STATUS$/),
      `inc-slow   ${dateTime('2026-11-04T10:00:00.000Z')}  db-pool  resolved`,
      `inc-quick  ${dateTime('2026-11-02T10:00:00.000Z')}  db-pool  resolved`,
    ]);
    const one = await runCli(['history', 'DbPoolExhausted', 'db-7', ...cli]);
    expect(one.stdout).toContain('inc-quick');
    expect(one.stdout).not.toContain('inc-slow');

    const paged = await runCli(['history', '--limit', '1', ...cli]);
    expect(paged.stdout).toContain('inc-slow');
    expect(paged.stdout).toContain('(more incidents match: raise --limit or add words)');

    const json = await runCli(['history', 'db-8', '--json', ...cli]);
    expect(JSON.parse(json.stdout)).toEqual({
      items: [archiveItem(INCIDENTS[1]!).incident],
      nextCursor: null,
    });
    const none = await runCli(['history', 'nothing-like-this', ...cli]);
    expect(none.stdout).toBe('No past incident matches.\n');
  });

  it('refuses a bad command line, and says what the API refused', async () => {
    for (const [argv, says] of [
      [['stats', '--since', 'yesterday'], '--since must be a number and a unit'],
      [['stats', '--since', '1d', '--from', '2026-11-01T00:00:00Z'], 'give --since or --from, not both'],
      [['stats', 'extra'], "unexpected argument 'extra'"],
      [['history', '--limit', '0'], '--limit must be a whole number from 1 to 200'],
    ] as const) {
      const run = await runCli([...argv, ...cli]);
      expect({ argv, code: run.code, says: run.stderr.includes(says) }, run.stderr).toEqual({
        argv,
        code: 2,
        says: true,
      });
    }
    const bad = await runCli(['stats', '--from', 'last tuesday', ...cli]);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({
      code: 1,
      stderr: expect.stringContaining('(400 Bad Request)\n  from: expected an ISO-8601 time'),
    });
  });
});

describe('fireline stats with the history off', () => {
  let fx: HistoryApi | undefined;
  afterAll(() => fx?.close());

  it('exits 1 saying how to turn the history on', async () => {
    fx = await historyApi(redisUrl, null, { runbooks: [statsRunbook('db-pool', 'payments')] });
    for (const command of ['stats', 'history']) {
      const run = await runCli([command, '--url', fx.url]);
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(/history is off.*FIRELINE_HISTORY=on.*\(409 Conflict\)/s);
    }
  });
});
