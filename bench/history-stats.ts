/**
 * History statistics benchmark (issue 15): `historyStats` over 100,000 archived incidents on the
 * machine's PostgreSQL, in a scratch database of its own (dropped at the end).
 *
 * The archive is generated in SQL (generate_series), as the archive would have written it: 6
 * runbooks of unequal traffic over 10 weeks, every incident with its record (~3 KB of JSON, as a
 * real one), labels, annotations and search text, 3 plan steps (automated with verify, approval,
 * manual) and 3 rule results each, and 5,000 unmatched firings. Then VACUUM ANALYZE, as autovacuum
 * would after such a load. Timed, 15 times each, rounds interleaved: the statistics of every
 * runbook over the default range (the 12 weeks to now, which holds all 100,000), of one runbook,
 * and the baseline `SELECT count(*) FROM incidents WHERE prefix = $1` (the cheapest question about
 * the same rows, on the same server, in the same run). Prints one JSON object; run with
 * `npm run bench:history`. Target: median ≤ 200 ms for every runbook at once.
 * `PG_ADMIN_URL` names the server (default postgres://postgres@127.0.0.1:5432/test);
 * `BENCH_HISTORY_KEEP=1` keeps the generated database (its URL on stderr) to look at query plans.
 */
import * as os from 'node:os';
import pg from 'pg';
import { paymentRunbook } from '../scripts/harness/fixtures/payment-runbook.ts';
import { createDatabase, serverVersion } from '../scripts/harness/postgres.ts';
import { openHistoryDb } from '../src/history/db.ts';
import { createHistoryStore, type HistoryStore } from '../src/history/history-store.ts';
import { historyStats } from '../src/history/stats.ts';
import { percentile, progress, round } from './lib.ts';

const INCIDENTS = 100_000;
const UNMATCHED = 5_000;
const RUNS = 15;
const WARMUP = 3;
const TARGET_MS = 200;
const WEEKS = 10;
const PREFIX = 'bench';
const RUNBOOKS = ['payment-latency', 'db-pool', 'disk-full', 'queue-lag', 'cert-expiry', 'pod-crashloop'];

/** A record as the archive keeps it: the Incident with its verdicts, decision and plan (~3 KB). */
function recordTemplate(): string {
  const verdicts = Object.fromEntries(
    paymentRunbook.diagnostics.map((d) => [
      d.id,
      {
        stepId: d.id,
        status: 'critical',
        matched: { level: 'critical', expression: 'value >= 90' },
        facts: { value: 96.4, values: [{ labels: { pod: 'payment-7d9f-abcde' }, value: 96.4 }], count: 1 },
        durationMs: 42,
      },
    ]),
  );
  return JSON.stringify({
    key: 'x',
    acknowledged: false,
    dryRun: false,
    alert: {
      source: 'alertmanager',
      status: 'firing',
      fingerprint: 'b1f3c0a9d2e4',
      startsAt: '2026-01-01T00:00:00Z',
    },
    verdicts,
    overall: 'critical',
    decision: {
      remediations: ['kill_idle', 'rollback', 'check_dashboards'],
      rationale: [0, 1, 2].map((index) => ({
        index,
        description: `rule ${index}`,
        condition: "diagnostics.check_db_connections.status == 'critical'",
        matched: index === 0,
        values: { 'diagnostics.check_db_connections.status': 'critical' },
        then: ['kill_idle'],
      })),
      otherwiseApplied: false,
    },
    plan: ['kill_idle', 'rollback', 'check_dashboards'].map((stepId) => ({
      stepId,
      name: stepId,
      kind: 'automated',
      state: 'succeeded',
      detail: 'exit 0',
    })),
  });
}

/** Generates the archive in a few statements; random() makes every incident's timings differ. */
async function generate(db: pg.Client, now: Date): Promise<void> {
  const spanSeconds = WEEKS * 7 * 24 * 3600;
  await db.query(
    `INSERT INTO incidents
     SELECT 'inc-' || g, $1, rb, initcap(replace(rb, '-', ' ')), 'svc-' || rb, 'P' || (1 + g % 3),
            CASE WHEN g % 20 = 0 THEN 'awaiting_responder' ELSE 'resolved' END,
            'Alert' || rb, created, created,
            created + (10 + random() * 110) * interval '1 second',
            CASE WHEN g % 5 < 3 THEN created + (30 + random() * 600) * interval '1 second' END,
            CASE WHEN g % 20 <> 0 THEN created + (60 + random() * 3600) * interval '1 second' END,
            g % 10 = 0, CASE WHEN g % 5 < 3 THEN 2 ELSE 0 END, g % 20 <> 0 AND g % 5 >= 3, false,
            jsonb_build_object('alertname', 'Alert' || rb, 'pod', 'pod-' || (g % 97), 'namespace', 'prod'),
            jsonb_build_object('summary', 'Something is wrong with ' || rb || ' on pod-' || (g % 97)),
            $2::jsonb || jsonb_build_object('id', 'inc-' || g, 'runbookId', rb, 'createdAt', created),
            '{}'::jsonb, g || '-0',
            lower(rb || E'\\n' || 'alertname=alert' || rb || E'\\npod=pod-' || (g % 97) || E'\\nnamespace=prod')
     FROM (
       SELECT g, (ARRAY${JSON.stringify(RUNBOOKS).replaceAll('"', "'")})[1 + least(5, floor(-ln(random()) * 1.6))::int] AS rb,
              $3::timestamptz - random() * $4 * interval '1 second' AS created
       FROM generate_series(1, ${INCIDENTS}) g
     ) x`,
    [PREFIX, recordTemplate(), now.toISOString(), spanSeconds],
  );
  progress('incidents written; steps and rules');
  await db.query(
    `INSERT INTO incident_steps
     SELECT i.id, s.step_id, s.kind, s.action_type,
            CASE s.kind
              WHEN 'automated' THEN (ARRAY['succeeded','succeeded','succeeded','succeeded','failed','outcome_unknown'])[1 + floor(random() * 6)::int]
              WHEN 'approval' THEN (ARRAY['succeeded','rejected','pending'])[1 + floor(random() * 3)::int]
              ELSE (ARRAY['done','pending'])[1 + floor(random() * 2)::int] END,
            i.evidence_at, i.evidence_at + (5 + random() * 900) * interval '1 second',
            CASE WHEN s.kind = 'automated' THEN random() < 0.8 END, NULL
     FROM incidents i CROSS JOIN (VALUES
       ('kill_idle', 'automated', 'run_script'), ('rollback', 'approval', 'kubernetes_rollout_undo'),
       ('check_dashboards', 'manual', NULL)) AS s (step_id, kind, action_type)
     WHERE i.prefix = $1`,
    [PREFIX],
  );
  await db.query(
    `INSERT INTO incident_rules
     SELECT i.id, r.idx, 'Rule ' || r.idx || ' of ' || i.runbook_id, random() < 0.5
     FROM incidents i CROSS JOIN generate_series(0, 2) AS r (idx) WHERE i.prefix = $1`,
    [PREFIX],
  );
  await db.query(
    `INSERT INTO unmatched_alerts
     SELECT $1, 'fp-' || g, 's' || g, 'Unrouted' || (g % 40), 'alertmanager',
            jsonb_build_object('alertname', 'Unrouted' || (g % 40), 'host', 'h' || g), '{}'::jsonb,
            seen, seen + random() * interval '1 hour', 1 + (g % 4)
     FROM (SELECT g, $2::timestamptz - random() * $3 * interval '1 second' AS seen
           FROM generate_series(1, ${UNMATCHED}) g) x`,
    [PREFIX, now.toISOString(), spanSeconds],
  );
  progress('VACUUM ANALYZE');
  await db.query('VACUUM ANALYZE');
}

const summarise = (samples: readonly number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    medianMs: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    minMs: round(sorted[0]!),
    maxMs: round(sorted.at(-1)!),
  };
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const scratch = await createDatabase('fireline_bench');
  const url = new URL(scratch.url);
  try {
    const version = await serverVersion();
    const history = await openHistoryDb({ url: url.href }, (err) =>
      progress(`idle connection error: ${err.message}`),
    );
    const direct = new pg.Client({ connectionString: url.href });
    await direct.connect();
    try {
      const now = new Date();
      const t0 = performance.now();
      progress(`generating ${INCIDENTS.toLocaleString('en-US')} incidents in ${scratch.name}`);
      await generate(direct, now);
      const generateMs = Math.round(performance.now() - t0);
      const sizes = (
        await direct.query<{ rel: string; mb: string }>(
          `SELECT relname AS rel, round(pg_total_relation_size(oid) / 1048576.0, 1)::text AS mb FROM pg_class
           WHERE relname IN ('incidents', 'incident_steps', 'incident_rules', 'unmatched_alerts')`,
        )
      ).rows;
      progress(`generated in ${generateMs} ms: ${sizes.map((s) => `${s.rel} ${s.mb} MB`).join(', ')}`);

      const store: HistoryStore = createHistoryStore(history, PREFIX);
      const to = now.toISOString();
      const from = new Date(now.getTime() - 12 * 7 * 24 * 3600 * 1000).toISOString();
      const one = RUNBOOKS[1]!;
      const cases = {
        baseline: () => history.query('SELECT count(*) AS n FROM incidents WHERE prefix = $1', [PREFIX]),
        allRunbooks: () => historyStats(store, { from, to }, RUNBOOKS),
        oneRunbook: () => historyStats(store, { from, to, runbook: one }, [one]),
      };
      const check = await cases.allRunbooks();
      const counted = check.runbooks.reduce((n, r) => n + r.incidents, 0);
      if (counted !== INCIDENTS)
        throw new Error(`the statistics counted ${counted} incidents, not ${INCIDENTS}`);
      const samples: Record<keyof typeof cases, number[]> = { baseline: [], allRunbooks: [], oneRunbook: [] };
      const loadBefore = os.loadavg()[0]!;
      for (let i = 0; i < WARMUP + RUNS; i++)
        for (const [key, fn] of Object.entries(cases) as [keyof typeof cases, () => Promise<unknown>][]) {
          const ms = await timed(fn);
          if (i >= WARMUP) samples[key].push(ms);
        }
      const baseline = summarise(samples.baseline);
      const all = summarise(samples.allRunbooks);
      const single = summarise(samples.oneRunbook);
      const ratio = (x: { medianMs: number }) => round(x.medianMs / baseline.medianMs);
      progress(
        `historyStats all runbooks median ${all.medianMs} ms (p90 ${all.p90Ms}), one runbook ${single.medianMs} ms, baseline count(*) ${baseline.medianMs} ms`,
      );
      console.log(
        JSON.stringify({
          benchmark: 'history-stats',
          postgres: version,
          incidents: INCIDENTS,
          stepsPerIncident: 3,
          rulesPerIncident: 3,
          unmatchedFirings: UNMATCHED,
          weeks: WEEKS,
          runbooks: RUNBOOKS.length,
          generateMs,
          tableMb: Object.fromEntries(sizes.map((s) => [s.rel, Number(s.mb)])),
          runs: RUNS,
          allRunbooks: { ...all, vsBaseline: ratio(all) },
          oneRunbook: {
            runbook: one,
            incidents: check.runbooks.find((r) => r.runbookId === one)?.incidents,
            ...single,
            vsBaseline: ratio(single),
          },
          baseline: { what: 'SELECT count(*) FROM incidents WHERE prefix = $1', ...baseline },
          /** 1-minute load average before and after the timed runs (2 cores: above 2, others wait for CPU). */
          loadavg1: { before: round(loadBefore), after: round(os.loadavg()[0]!), cpus: os.cpus().length },
          targetMs: TARGET_MS,
          meetsTarget: all.medianMs <= TARGET_MS,
          node: process.version,
        }),
      );
    } finally {
      await direct.end();
      await history.close();
    }
  } finally {
    if (process.env.BENCH_HISTORY_KEEP === '1') progress(`kept the database: ${url.href}`);
    else await scratch.drop();
  }
}

main().catch((err: unknown) => {
  progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
