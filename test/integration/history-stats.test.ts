import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HistoryDb } from '../../src/history/db.ts';
import { createHistoryStore } from '../../src/history/history-store.ts';
import { historyStats } from '../../src/history/stats.ts';
import { call } from '../helpers/api.ts';
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

const OPERATOR = 'token:operator';
const KILL = { stepId: 'kill_idle', kind: 'automated', actionType: 'run_script' } as const;
const DASHBOARDS = { stepId: 'check_dashboards', kind: 'manual' } as const;
const RULES = ['Database pool exhausted', 'Queue backed up'];

/**
 * db-pool (payments, P1): three incidents with known timings, two in the week of Monday 2 Nov
 * 2026 and one in the week of 9 Nov. checkout-errors (checkout, P2): one incident, still open.
 * cert-renew: never fires. Times are seconds after the incident opened.
 */
const INCIDENTS: IncidentSpec[] = [
  {
    // Resolved by itself after 60 s: no person acted. The fix worked and its verify was healthy.
    id: 'inc-a1',
    runbookId: 'db-pool',
    service: 'payments',
    createdAt: '2026-11-02T10:00:00.000Z',
    events: [
      [20, 'decision.made'],
      [21, 'remediation.started', 'system', { stepId: 'kill_idle' }],
      [25, 'remediation.succeeded', 'system', { stepId: 'kill_idle' }],
      [40, 'remediation.verified', 'system', { stepId: 'kill_idle', healthy: true }],
      [60, 'incident.resolved', 'alert:alertmanager'],
    ],
    plan: [
      { ...KILL, state: 'succeeded' },
      { ...DASHBOARDS, state: 'pending' },
    ],
    rules: [
      [RULES[0]!, true],
      [RULES[1]!, false],
    ],
  },
  {
    // The fix failed (no verify); a responder acknowledged, ticked the manual step 90 s after the
    // plan put it before them, and resolved.
    id: 'inc-a2',
    runbookId: 'db-pool',
    service: 'payments',
    createdAt: '2026-11-03T10:00:00.000Z',
    events: [
      [30, 'decision.made'],
      [31, 'remediation.started', 'system', { stepId: 'kill_idle' }],
      [35, 'remediation.failed', 'system', { stepId: 'kill_idle' }],
      [50, 'incident.acknowledged', OPERATOR],
      [120, 'step.completed', OPERATOR, { stepId: 'check_dashboards' }],
      [120, 'incident.resolved', OPERATOR],
    ],
    plan: [
      { ...KILL, state: 'failed' },
      { ...DASHBOARDS, state: 'done' },
    ],
    rules: [
      [RULES[0]!, true],
      [RULES[1]!, true],
    ],
  },
  {
    // Escalated; the fix ran but its verify still found the pool critical; resolved by a person.
    id: 'inc-a3',
    runbookId: 'db-pool',
    service: 'payments',
    createdAt: '2026-11-10T10:00:00.000Z',
    escalated: true,
    events: [
      [60, 'decision.made'],
      [61, 'remediation.started', 'system', { stepId: 'kill_idle' }],
      [70, 'remediation.succeeded', 'system', { stepId: 'kill_idle' }],
      [90, 'remediation.verified', 'system', { stepId: 'kill_idle', healthy: false }],
      [200, 'escalation.fired'],
      [240, 'incident.acknowledged', 'slack:U1'],
      [300, 'incident.resolved', 'slack:U1'],
    ],
    plan: [
      { ...KILL, state: 'succeeded' },
      { ...DASHBOARDS, state: 'pending' },
    ],
    rules: [
      [RULES[0]!, true],
      [RULES[1]!, false],
    ],
  },
  {
    id: 'inc-c1',
    runbookId: 'checkout-errors',
    service: 'checkout',
    severity: 'P2',
    createdAt: '2026-11-04T12:00:00.000Z',
    events: [[10, 'decision.made']],
  },
];

/** The API's clock: a week after the last incident. */
const NOW = '2026-11-20T12:00:00.000Z';
/** The range that holds every incident: Monday 26 Oct to Monday 16 Nov 2026 (three weeks). */
const RANGE = 'from=2026-10-26T00:00:00Z&to=2026-11-16T00:00:00Z';

const DB_POOL = {
  runbookId: 'db-pool',
  runbookName: 'db-pool',
  incidents: 3,
  resolved: 3,
  // TTE 20, 30, 60 s: p50 30; p90 at rank (3-1)·0.9 = 1.8 → 30 + 0.8·(60-30) = 54
  timeToEvidence: { p50: 30, p90: 54 },
  // TTA 50, 240 s (inc-a1 never acknowledged): p50 (50+240)/2 = 145; p90 50 + 0.9·190 = 221
  timeToAcknowledge: { p50: 145, p90: 221 },
  // TTR 60, 120, 300 s: p50 120; p90 120 + 0.8·(300-120) = 264
  timeToResolve: { p50: 120, p90: 264 },
  // inc-a1 alone resolved with no person acting: 1 of 3
  resolvedUnattendedShare: 1 / 3,
  escalations: 1,
  actions: [
    {
      stepId: 'kill_idle',
      actionType: 'run_script',
      runs: 3,
      outcomes: { succeeded: 2, failed: 1 },
      // inc-a1 verified healthy, inc-a3 not, inc-a2 had no verify: 1 of 2
      verified: 1,
      verifyFailed: 1,
      verifySuccessRate: 0.5,
    },
  ],
  rules: [
    { ruleIndex: 0, description: RULES[0], evaluated: 3, held: 3, heldShare: 1 },
    { ruleIndex: 1, description: RULES[1], evaluated: 3, held: 1, heldShare: 1 / 3 },
  ],
  // inc-a2: decision at 30 s, completed at 120 s → 90 s
  manualSteps: [{ stepId: 'check_dashboards', completed: 1, duration: { p50: 90, p90: 90 } }],
  weeks: [
    {
      week: '2026-10-26',
      incidents: 0,
      timeToResolveP50: null,
      resolvedUnattendedShare: null,
      escalations: 0,
    },
    // inc-a1 (60 s, unattended) and inc-a2 (120 s): p50 (60+120)/2 = 90, 1 of 2 unattended
    { week: '2026-11-02', incidents: 2, timeToResolveP50: 90, resolvedUnattendedShare: 0.5, escalations: 0 },
    { week: '2026-11-09', incidents: 1, timeToResolveP50: 300, resolvedUnattendedShare: 0, escalations: 1 },
  ],
};

const CHECKOUT = {
  runbookId: 'checkout-errors',
  runbookName: 'checkout-errors',
  incidents: 1,
  resolved: 0,
  timeToEvidence: { p50: 10, p90: 10 },
  timeToAcknowledge: { p50: null, p90: null },
  timeToResolve: { p50: null, p90: null },
  resolvedUnattendedShare: null,
  escalations: 0,
  actions: [],
  rules: [],
  manualSteps: [],
  weeks: [
    {
      week: '2026-10-26',
      incidents: 0,
      timeToResolveP50: null,
      resolvedUnattendedShare: null,
      escalations: 0,
    },
    {
      week: '2026-11-02',
      incidents: 1,
      timeToResolveP50: null,
      resolvedUnattendedShare: null,
      escalations: 0,
    },
    {
      week: '2026-11-09',
      incidents: 0,
      timeToResolveP50: null,
      resolvedUnattendedShare: null,
      escalations: 0,
    },
  ],
};

const disk = (host: string) => ({ alertname: 'DiskFull', host });
/** DiskFull fired on two hosts (db-1's firing delivered twice), CertExpiring once. */
const UNMATCHED = [
  unmatchedDelivery(0, '2026-11-05T10:00:00.000Z', disk('db-1'), { fingerprint: 'd1', startsAt: 's1' }),
  unmatchedDelivery(1, '2026-11-05T10:01:00.000Z', disk('db-1'), { fingerprint: 'd1', startsAt: 's1' }),
  unmatchedDelivery(2, '2026-11-06T08:00:00.000Z', disk('db-2'), { fingerprint: 'd2', startsAt: 's2' }),
  unmatchedDelivery(
    3,
    '2026-11-07T09:00:00.000Z',
    { alertname: 'CertExpiring' },
    { fingerprint: 'c1', startsAt: 's3' },
  ),
];
const COVERAGE = {
  unmatched: [
    // 2 firings, 2 + 1 deliveries; the newest firing's labels
    {
      alertname: 'DiskFull',
      firings: 2,
      deliveries: 3,
      lastSeen: '2026-11-06T08:00:00.000Z',
      labels: disk('db-2'),
    },
    {
      alertname: 'CertExpiring',
      firings: 1,
      deliveries: 1,
      lastSeen: '2026-11-07T09:00:00.000Z',
      labels: { alertname: 'CertExpiring' },
    },
  ],
  neverFired: ['cert-renew'],
};

describe.each(HISTORY_BACKENDS)('GET /api/v1/stats on $name', (backend) => {
  let fx: HistoryApi;
  beforeAll(async () => {
    fx = await historyApi(redisUrl, backend, {
      runbooks: [
        statsRunbook('db-pool', 'payments'),
        statsRunbook('cert-renew', 'payments'),
        statsRunbook('checkout-errors', 'checkout', 'P2'),
      ],
      incidents: INCIDENTS,
      unmatched: UNMATCHED,
      now: NOW,
    });
  }, 60_000);
  afterAll(() => fx?.close());

  const stats = async (query: string) => {
    const res = await call(fx.url, 'GET', `/api/v1/stats?${query}`);
    expect(res.status, res.text).toBe(200);
    return res.body;
  };

  it('answers the numbers worked out by hand for each runbook, week and the coverage', async () => {
    const body = await stats(RANGE);
    expect(body).toEqual({
      from: '2026-10-26T00:00:00.000Z',
      to: '2026-11-16T00:00:00.000Z',
      runbooks: [DB_POOL, CHECKOUT],
      coverage: COVERAGE,
    });
  });

  it('filters by runbook, service, severity and time range', async () => {
    const byRunbook = await stats(`${RANGE}&runbook=db-pool`);
    expect(byRunbook.runbooks.map((r: { runbookId: string }) => r.runbookId)).toEqual(['db-pool']);
    expect(byRunbook.coverage.neverFired, 'only the runbook asked for can be missing').toEqual([]);

    const quiet = await stats(`${RANGE}&runbook=cert-renew`);
    expect({ runbooks: quiet.runbooks, neverFired: quiet.coverage.neverFired }).toEqual({
      runbooks: [],
      neverFired: ['cert-renew'],
    });

    const checkout = await stats(`${RANGE}&service=checkout`);
    expect(checkout.runbooks).toEqual([CHECKOUT]);
    expect(checkout.coverage.neverFired).toEqual([]);
    const p2 = await stats(`${RANGE}&severity=P2`);
    expect(p2.runbooks.map((r: { runbookId: string }) => r.runbookId)).toEqual(['checkout-errors']);

    // From Friday 6 Nov: inc-a3 alone (TTR 300 s, escalated); of the unmatched alerts, db-2's
    // DiskFull (6 Nov) and CertExpiring (7 Nov) fired in it, db-1's (5 Nov) did not.
    const late = await stats('from=2026-11-06T00:00:00Z&to=2026-11-16T00:00:00Z');
    expect(late.runbooks).toHaveLength(1);
    expect(late.runbooks[0]).toMatchObject({
      runbookId: 'db-pool',
      incidents: 1,
      timeToResolve: { p50: 300, p90: 300 },
      resolvedUnattendedShare: 0,
      escalations: 1,
      weeks: [
        {
          week: '2026-11-02',
          incidents: 0,
          timeToResolveP50: null,
          resolvedUnattendedShare: null,
          escalations: 0,
        },
        {
          week: '2026-11-09',
          incidents: 1,
          timeToResolveP50: 300,
          resolvedUnattendedShare: 0,
          escalations: 1,
        },
      ],
    });
    expect(late.coverage).toEqual({
      // one firing each: by name
      unmatched: [
        COVERAGE.unmatched[1],
        {
          alertname: 'DiskFull',
          firings: 1,
          deliveries: 1,
          lastSeen: '2026-11-06T08:00:00.000Z',
          labels: disk('db-2'),
        },
      ],
      neverFired: ['cert-renew', 'checkout-errors'],
    });
  });

  it('reads the partial days at the ends of a range from the rows, the whole days between from the rollup', async () => {
    // inc-a1 (2 Nov 10:00) and inc-a3 (10 Nov 10:00) lie in the partial first and last days;
    // inc-a2 (3 Nov) in the whole days between: the same figures as the whole range.
    const body = await stats('from=2026-11-02T09:30:00Z&to=2026-11-10T10:30:00Z&runbook=db-pool');
    expect(body.runbooks).toHaveLength(1);
    const { weeks, ...dbPool } = body.runbooks[0];
    const { weeks: _, ...expected } = DB_POOL;
    expect(dbPool).toEqual(expected);
    expect(weeks).toEqual(DB_POOL.weeks.slice(1));
  });

  it('counts an incident archived again once, with its newest steps and rules, in its installation only', async () => {
    const other = createHistoryStore(fx.db as HistoryDb, `other-${backend.name}`);
    const spec = INCIDENTS[1]!;
    const again = { ...spec, id: `${spec.id}-${backend.name}` };
    await other.write([archiveItem(again)], [], {});
    // The fix ran again and worked; the second rule no longer held.
    await other.write(
      [
        archiveItem({
          ...again,
          plan: [
            { ...KILL, state: 'succeeded' },
            { ...DASHBOARDS, state: 'done' },
          ],
          rules: [
            [RULES[0]!, true],
            [RULES[1]!, false],
          ],
        }),
      ],
      [],
      {},
    );
    const body = await historyStats(other, { from: '2026-11-03T08:00:00Z', to: '2026-11-03T12:00:00Z' }, []);
    expect(body.runbooks.map((r) => [r.runbookId, r.incidents])).toEqual([['db-pool', 1]]);
    expect(body.runbooks[0]).toMatchObject({
      actions: [{ stepId: 'kill_idle', runs: 1, outcomes: { succeeded: 1 } }],
      rules: [
        { ruleIndex: 0, evaluated: 1, held: 1 },
        { ruleIndex: 1, evaluated: 1, held: 0 },
      ],
      manualSteps: [{ stepId: 'check_dashboards', completed: 1, duration: { p50: 90, p90: 90 } }],
    });
    // The same days as whole days (the rollup) give the same.
    const whole = await historyStats(other, { from: '2026-11-03T00:00:00Z', to: '2026-11-04T00:00:00Z' }, []);
    expect(whole.runbooks).toEqual(body.runbooks.map((r) => ({ ...r, weeks: whole.runbooks[0]?.weeks })));
  });

  it('covers the 12 weeks up to now when the query names no range', async () => {
    const body = await stats('');
    // 20 Nov 2026 12:00 less 12 × 7 days = 28 Aug 2026 12:00
    expect({ from: body.from, to: body.to }).toEqual({ from: '2026-08-28T12:00:00.000Z', to: NOW });
    const [dbPool] = body.runbooks;
    expect(body.runbooks.map((r: { runbookId: string }) => r.runbookId)).toEqual([
      'db-pool',
      'checkout-errors',
    ]);
    // Every week from the one holding 28 Aug (Monday 24 Aug) to the one holding now (16 Nov): 13
    expect({ first: dbPool.weeks[0].week, last: dbPool.weeks.at(-1).week, n: dbPool.weeks.length }).toEqual({
      first: '2026-08-24',
      last: '2026-11-16',
      n: 13,
    });
    expect(dbPool.weeks.filter((w: { incidents: number }) => w.incidents > 0)).toEqual(
      DB_POOL.weeks.slice(1),
    );
    expect({ ...dbPool, weeks: [] }).toEqual({ ...DB_POOL, weeks: [] });
  });

  it('refuses a bad query with a 400 naming the field', async () => {
    for (const [query, field] of [
      ['from=yesterday', 'from'],
      ['to=2026-13-01T00:00:00Z', 'to'],
      ['severity=P9', 'severity'],
      ['runbook=', 'runbook'],
      ['from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z', 'from'],
    ]) {
      const res = await call(fx.url, 'GET', `/api/v1/stats?${query}`);
      expect({
        query,
        status: res.status,
        fields: res.body.errors?.map((e: { field: string }) => e.field),
      }).toEqual({ query, status: 400, fields: [field] });
    }
  });
});

describe('the history routes with the history off', () => {
  let fx: HistoryApi | undefined;
  afterAll(() => fx?.close());

  it('answer 409 saying the history is off and how to turn it on', async () => {
    fx = await historyApi(redisUrl, null, { runbooks: [statsRunbook('db-pool', 'payments')] });
    for (const path of ['/api/v1/stats', '/api/v1/history?q=db']) {
      const res = await call(fx.url, 'GET', path);
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({
        path,
        status: 409,
        type: 'application/problem+json; charset=utf-8',
      });
      expect(res.body.detail).toMatch(/history is off/);
      expect(res.body.detail).toMatch(/FIRELINE_HISTORY=on/);
      expect(res.body.detail).toMatch(/DATABASE_URL/);
    }
  });
});
