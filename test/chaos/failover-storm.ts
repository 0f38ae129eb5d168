import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';
import type { FirelineProcess } from '../../scripts/harness/fireline-process.ts';
import { freePort } from '../../scripts/harness/redis-server.ts';
import { createApiClient } from '../../src/cli/client.ts';
import { followEvents, type SseEvent } from '../../src/cli/sse.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import type { StreamEntry } from '../../src/store/keys.ts';
import { INGEST, latencyGroup, postJson, TOKENS } from '../helpers/alert-webhooks.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { markerRunbook, type Scratch, scratchDir, startRole } from './helpers.ts';

/** A storm through the API while the Redis primary dies: what the test asserts on. */
export interface FailoverFigures {
  /** Alerts answered 202: fingerprint, incident, when (ms since the storm began). */
  taken: { fingerprint: string; incidentId: string; at: number }[];
  /** 503 answers, and the first and last one's time (ms since the kill). */
  unavailable: { count: number; firstMs: number | null; lastMs: number | null };
  /** From the kill to the first `decision.made` of an incident whose 202 came after it. */
  firstDecisionAfterKillMs: number;
  /** Every incident in the store once it settled (by id). */
  pipeline: Pipeline;
  /** Incident ids whose action ran, one line each run (the marker file). */
  actionRuns: string[];
  /** What the SSE follower (`/api/v1/events`, reconnecting with Last-Event-ID) received. */
  sse: SseEvent[];
  /** The global events stream's ids at the end. */
  streamIds: string[];
  /** How often the SSE follower reconnected. */
  sseReconnects: number;
}

const ALERTS = 150;
const CONCURRENCY = 10;
/** The primary is killed once this many alerts have been taken. */
const KILL_AFTER = 50;
const DELIVERY_DEADLINE_MS = 60_000;
const RETRY_DELAY_MS = 100;
const SETTLE_DEADLINE_MS = 90_000;

/** A quick check, then an action that is not idempotent: it appends the incident id to a file. */
function runbook(marker: string) {
  return markerRunbook({
    id: 'failover-storm',
    alertName: 'PaymentServiceHighLatency',
    service: 'failover-service',
    command: `[sh, -c, 'printf "%s\\n" "$1" >> "$2"', sh, "{{ incident.id }}", "${marker}"]`,
  });
}

/** How many of each value. */
function countOf(values: (string | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v ?? 'none'] = (counts[v ?? 'none'] ?? 0) + 1;
  return counts;
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Starts an API and a worker process on `redisUrl`, follows `/api/v1/events` over SSE, posts an
 * alert storm to the Alertmanager webhook (each 503 retried, as Alertmanager does), calls `kill`
 * once KILL_AFTER alerts are taken, then waits until every incident has acted or given up.
 * The caller cleans up `procs`, `scratch` and the returned pipeline.
 */
export async function failoverStorm(opts: {
  redisUrl: string;
  kill: () => Promise<void>;
  procs: FirelineProcess[];
  onScratch: (s: Scratch) => void;
  /** Pipeline options for the checking pipeline in this process (the prefix is the storm's). */
  prefix?: string;
}): Promise<FailoverFigures> {
  const scratch = scratchDir('failover', (dir) => ({ 'storm.yaml': runbook(join(dir, 'actions.log')) }));
  opts.onScratch(scratch);
  const marker = join(scratch.dir, 'actions.log');
  const prefix = opts.prefix ?? `fo${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const env = {
    REDIS_URL: opts.redisUrl,
    FIRELINE_PREFIX: prefix,
    FIRELINE_RUNBOOKS: scratch.runbooks,
    HOST: '127.0.0.1',
    PORT: String(port),
    FIRELINE_INGEST_TOKEN: TOKENS.ingest,
    FIRELINE_OPERATOR_TOKEN: TOKENS.operator,
    FIRELINE_VIEWER_TOKEN: TOKENS.viewer,
    FIRELINE_DURABILITY: 'replica',
    // A job whose worker lost its Redis comes back within seconds, not the default 30.
    FIRELINE_LOCK_DURATION_MS: '3000',
    FIRELINE_STALLED_INTERVAL_MS: '1000',
    FIRELINE_REMEDIATION_RATE_PER_MINUTE: '100000',
  };
  await startRole('api', env, opts.procs);
  await startRole('worker', env, opts.procs);
  const base = `http://127.0.0.1:${port}`;

  const t0 = performance.now();
  const sse: SseEvent[] = [];
  const sseAt: number[] = [];
  let sseReconnects = 0;
  const abort = new AbortController();
  const following = followEvents(
    createApiClient({ url: base, token: TOKENS.viewer }),
    '/api/v1/events?from=start',
    {
      signal: abort.signal,
      onEvent: (event) => {
        sse.push(event);
        sseAt.push(performance.now() - t0);
        return false;
      },
      onReconnect: () => {
        sseReconnects++;
      },
      idleTimeoutMs: 20_000,
    },
  );

  const taken: FailoverFigures['taken'] = [];
  const unavailableAt: number[] = [];
  let killedAt: number | undefined;
  let killed: Promise<void> | undefined;
  const url = `${base}/api/v1/alerts/alertmanager`;
  const deliver = async (n: number): Promise<void> => {
    const body = latencyGroup([`pod-${n}`]);
    const deadline = Date.now() + DELIVERY_DEADLINE_MS;
    for (;;) {
      const res = await postJson(url, body, INGEST);
      if (res.status === 202) {
        const [result] = res.body.results;
        taken.push({
          fingerprint: result.fingerprint,
          incidentId: result.outcomes[0].incidentId,
          at: performance.now() - t0,
        });
        if (taken.length === KILL_AFTER) {
          killedAt = performance.now() - t0;
          killed = opts.kill();
        }
        return;
      }
      if (res.status !== 503)
        throw new Error(`alert ${n}: expected 202 or 503, got ${res.status} ${JSON.stringify(res.body)}`);
      if (killedAt === undefined)
        throw new Error(`alert ${n}: 503 before the kill: ${JSON.stringify(res.body)}`);
      unavailableAt.push(performance.now() - t0 - killedAt);
      if (Date.now() > deadline)
        throw new Error(
          `alert ${n}: still 503 after ${DELIVERY_DEADLINE_MS} ms: ${JSON.stringify(res.body)}`,
        );
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
    }
  };
  let next = 0;
  const lane = async () => {
    while (next < ALERTS) await deliver(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  await killed;
  if (killedAt === undefined) throw new Error('the storm ended before the kill');

  // Settle: every incident taken has acted (or given up), and the SSE follower has caught up.
  const pipeline = await testPipeline(opts.redisUrl, [runbook(marker)], { prefix });
  const ids = taken.map((t) => t.incidentId);
  const settleBy = Date.now() + SETTLE_DEADLINE_MS;
  let streamIds: string[] = [];
  for (;;) {
    const states = await Promise.all(
      ids.map(async (id) => (await pipeline.deps.store.get(id))?.plan[0]?.state),
    );
    const pending = states.filter(
      (s) => s === undefined || s === 'queued' || s === 'running' || s === 'approved',
    );
    streamIds = (
      (await pipeline.deps.redis.xrange(`${pipeline.deps.queues.prefix}:events`, '-', '+')) as StreamEntry[]
    ).map(([id]) => id);
    if (pending.length === 0 && sse.length >= streamIds.length) break;
    if (Date.now() > settleBy) {
      const lock = `${pipeline.deps.queues.prefix}:lock:failover-service`;
      const holder = await pipeline.deps.redis.get(lock);
      const job = holder ? await pipeline.deps.queues.byName.remediations.getJob(holder) : undefined;
      const counts = await pipeline.deps.queues.byName.remediations.getJobCounts();
      throw new Error(
        `target lock held by ${holder ?? 'nobody'} (job ${job ? `${await job.getState()}: ${job.failedReason ?? ''}` : 'gone'}); remediation jobs ${JSON.stringify(counts)}; ` +
          `not settled after ${SETTLE_DEADLINE_MS} ms: ${pending.length} of ${ids.length} incidents without an outcome (${JSON.stringify(countOf(states))}); SSE ${sse.length} of ${streamIds.length} events`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  abort.abort();
  await following;

  const afterKill = new Set(taken.filter((t) => t.at > (killedAt as number)).map((t) => t.incidentId));
  const firstDecision = sse.findIndex(
    (e) => e.event === 'decision.made' && afterKill.has(JSON.parse(e.data).incidentId),
  );
  if (firstDecision < 0) throw new Error('no incident taken after the kill was decided');
  return {
    taken,
    unavailable: {
      count: unavailableAt.length,
      firstMs: unavailableAt.length ? Math.round(Math.min(...unavailableAt)) : null,
      lastMs: unavailableAt.length ? Math.round(Math.max(...unavailableAt)) : null,
    },
    firstDecisionAfterKillMs: Math.round((sseAt[firstDecision] as number) - killedAt),
    pipeline,
    actionRuns: readLines(marker),
    sse,
    streamIds,
    sseReconnects,
  };
}

/** Every check of the done-when, as named lists of what broke (empty when all is well). */
async function failoverProblems(f: FailoverFigures) {
  const incidents = new Map<string, { fingerprint: string; decisions: number; state?: string }>();
  for (const t of f.taken) {
    const incident = await f.pipeline.deps.store.get(t.incidentId);
    const timeline = await f.pipeline.deps.store.timeline(t.incidentId);
    incidents.set(t.incidentId, {
      fingerprint: incident?.alert.fingerprint ?? 'missing',
      decisions: timeline.filter((e) => e.type === 'decision.made').length,
      ...(incident?.plan[0]?.state ? { state: incident.plan[0].state } : {}),
    });
  }
  const runs = new Map<string, number>();
  for (const id of f.actionRuns) runs.set(id, (runs.get(id) ?? 0) + 1);
  const sseIds = f.sse.map((e) => e.id ?? '(no id)');
  const streamIds = new Set(f.streamIds);
  const seen = new Set(sseIds);
  return {
    lost: f.taken.filter((t) => incidents.get(t.incidentId)?.fingerprint !== t.fingerprint),
    undecided: [...incidents].filter(([, i]) => i.decisions === 0).map(([id]) => id),
    ranTwice: [...runs].filter(([, n]) => n > 1),
    sseDuplicates: sseIds.filter((id, i) => sseIds.indexOf(id) !== i),
    sseMissing: f.streamIds.filter((id) => !seen.has(id)),
    sseNotInStream: sseIds.filter((id) => !streamIds.has(id)),
    states: countOf([...incidents.values()].map((i) => i.state)),
  };
}

/**
 * Asserts every point of the done-when on a storm's figures and prints the figures the issue asks
 * for (how long ingest answered 503, how soon the first incident after the kill was decided).
 */
export async function expectNoFailoverProblems(label: string, f: FailoverFigures): Promise<void> {
  const problems = await failoverProblems(f);
  console.info(
    `${label}: 503 answers ${f.unavailable.count} (from ${f.unavailable.firstMs} to ${f.unavailable.lastMs} ms after the kill); first decision of an incident taken after the kill ${f.firstDecisionAfterKillMs} ms after it; SSE reconnects ${f.sseReconnects}; step states ${JSON.stringify(problems.states)}`,
  );
  expect(f.taken).toHaveLength(ALERTS);
  expect(problems.lost, 'alerts answered 2xx whose incident is not in the store').toEqual([]);
  expect(problems.undecided, 'incidents without a decision').toEqual([]);
  expect(problems.ranTwice, 'actions run more than once').toEqual([]);
  expect(problems.sseDuplicates, 'events the SSE follower got twice').toEqual([]);
  expect(problems.sseMissing, 'events of the stream the SSE follower never got').toEqual([]);
  expect(problems.sseNotInStream, 'events the SSE follower got that the new primary does not hold').toEqual(
    [],
  );
}
