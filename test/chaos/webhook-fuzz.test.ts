import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { grafanaSignature } from '../../src/producer/alert-payloads.ts';
import { alertRoutes } from '../../src/producer/routes/alerts.ts';
import { AUTH, INGEST, latencyGroup, postJson, TOKENS } from '../helpers/alert-webhooks.ts';
import { type ApiServer, startApi } from '../helpers/api-server.ts';
import { FAST_WORKERS, testPipeline } from '../helpers/pipeline.ts';
import { until } from '../helpers/poll.ts';
import { type FuzzRequest, fuzzRequest } from './hostile-bodies.ts';

const redisUrl = inject('redisUrl');

/** Fixed, so a failure replays; fast-check prints it (and the path) with the counterexample. */
const SEED = 20_240_501;
const RUNS = 1_000;
const BODY_LIMIT_BYTES = 256 * 1024;
const GRAFANA_SECRET = 'fuzz-grafana-secret';
/** What a sender may get for a bad request; 503 only means Redis is down, which it is not here. */
const ALLOWED = [202, 400, 401, 403, 413, 415];

/** Label and annotation values go into argv, the way a runbook author may use them. */
const FUZZ_RUNBOOK = `
id: fuzz-target
name: Fuzz target
severity: P3
service: fuzz-service
triggers:
  - type: alert
    alertName: FuzzAlert
diagnostics:
  - id: echo_labels
    name: Echo the labels
    type: shell_command
    config:
      command: [echo, '{{ alert.labels.instance | default "none" }}', '{{ alert.labels.job | default "none" }}', '{{ alert.annotations.summary | default "none" }}', '{{ alert.fingerprint }}']
    interpret: { healthy: "exit_code == 0", critical: "exit_code != 0" }
decisionTree:
  - condition: "diagnostics.echo_labels.status == 'healthy'"
    then: [look]
remediations:
  - id: look
    name: Look at the instance
    type: manual
    instructions: Check {{ alert.labels.instance | default "the instance" }}.
escalation:
  primary: "#fuzz"
  escalateAfterMinutes: 30
`;

const TOKEN_HEADERS: Record<FuzzRequest['auth'], Record<string, string>> = {
  ingest: INGEST,
  none: {},
  bad: { authorization: 'Bearer not-a-token-of-this-fireline' },
  viewer: { authorization: `Bearer ${TOKENS.viewer}` },
};

async function send(baseUrl: string, req: FuzzRequest) {
  const bytes = typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.from(req.body);
  const headers: Record<string, string> = { 'content-type': req.contentType, ...TOKEN_HEADERS[req.auth] };
  if (req.contentEncoding) headers['content-encoding'] = req.contentEncoding;
  if (req.endpoint === 'grafana')
    headers['x-grafana-alerting-signature'] = grafanaSignature(GRAFANA_SECRET, bytes);
  const res = await fetch(`${baseUrl}/api/v1/alerts/${req.endpoint}`, {
    method: 'POST',
    headers,
    body: bytes,
  });
  return { status: res.status, text: await res.text() };
}

/** The labels the request sent for alert `i`, as the parser keeps them (`__proto__` is dropped). */
function sentLabels(req: FuzzRequest, i: number): Record<string, unknown> {
  const parsed = JSON.parse(req.body as string) as { alerts: { labels: Record<string, unknown> }[] };
  const labels = parsed.alerts[i]?.labels ?? {};
  return Object.fromEntries(Object.entries(labels).filter(([k]) => k !== '__proto__'));
}

describe('chaos (e): malformed and hostile webhook bodies', () => {
  let pipeline: Pipeline | undefined;
  let api: ApiServer | undefined;
  let touchPath: string | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
    await pipeline?.close(5000);
    pipeline = undefined;
    if (touchPath) rmSync(touchPath, { force: true });
  });

  it(`${RUNS} fuzzed requests: only 2xx/4xx, nothing injected, every accepted alert diagnosed`, async () => {
    touchPath = `/tmp/x-${randomUUID()}`;
    pipeline = await testPipeline(redisUrl, [FUZZ_RUNBOOK]);
    const p = pipeline;
    await p.startWorkers(FAST_WORKERS, ['triggers', 'diagnostics', 'decisions']);
    api = await startApi(p, [alertRoutes], {
      auth: AUTH,
      grafanaSecret: GRAFANA_SECRET,
      bodyLimitBytes: BODY_LIMIT_BYTES,
    });
    const url = api.url;
    const statuses: Record<number, number> = {};
    const opened: string[] = [];

    await fc.assert(
      fc.asyncProperty(fuzzRequest(touchPath, BODY_LIMIT_BYTES), async (req) => {
        const res = await send(url, req);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (!ALLOWED.includes(res.status))
          throw new Error(`expected one of ${ALLOWED}, got ${res.status}: ${res.text.slice(0, 500)}`);
        if (existsSync(touchPath!)) throw new Error(`${touchPath} was created: a label value ran in a shell`);
        if (res.status !== 202) return;
        const { results, rejected } = JSON.parse(res.text) as {
          results: { outcomes: { outcome: string; incidentId?: string }[] }[];
          rejected: { index: number }[];
        };
        // Results list the alerts taken, in order: the group's indices less the rejected ones.
        const skipped = new Set(rejected.map((r) => r.index));
        const taken = [...Array(results.length + skipped.size).keys()].filter((i) => !skipped.has(i));
        for (const [n, r] of results.entries())
          for (const o of r.outcomes) {
            const i = taken[n]!;
            if (o.outcome !== 'opened' || !o.incidentId) continue;
            opened.push(o.incidentId);
            const stored = await p.deps.store.get(o.incidentId);
            expect(stored?.alert.labels, 'labels as stored').toEqual(sentLabels(req, i));
          }
      }),
      { numRuns: RUNS, seed: SEED },
    );

    // Every accepted alert goes through its diagnostic (hostile values in argv) to a decision.
    const queues = p.deps.queues.byName;
    const pending = async () => {
      const all = await Promise.all(
        [queues.triggers, queues.diagnostics, queues.decisions].map((q) =>
          q.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children'),
        ),
      );
      // Retries wait as delayed jobs; the hourly retention sweep (a job scheduler) always does.
      const delayed = [
        ...(await queues.triggers.getDelayed()).filter((j) => j.name !== 'sweep'),
        ...(await queues.diagnostics.getDelayed()),
        ...(await queues.decisions.getDelayed()),
      ];
      return all.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, delayed.length);
    };
    await until('the workers to finish every accepted incident', pending, (n) => n === 0, 60_000);
    const undecided = [];
    for (const id of opened) if (!(await p.deps.store.get(id))?.decision) undecided.push(id);
    expect(undecided, 'accepted incidents without a decision').toEqual([]);
    const dropped = readdirSync(dirname(touchPath)).filter((f) => f.startsWith(basename(touchPath!)));
    expect(dropped, 'files made by a hostile value').toEqual([]);

    // The fuzz reached the parser and intake, not only the door.
    expect(statuses[202] ?? 0, `202s among ${JSON.stringify(statuses)}`).toBeGreaterThanOrEqual(100);
    expect(statuses[400] ?? 0, `400s among ${JSON.stringify(statuses)}`).toBeGreaterThanOrEqual(100);
    expect(opened.length, 'incidents opened by fuzzed alerts').toBeGreaterThanOrEqual(50);
    const ok = await postJson(`${url}/api/v1/alerts/alertmanager`, latencyGroup(['after-fuzz']), INGEST);
    expect(ok.status, 'a valid alert after the fuzz').toBe(202);
    console.info(
      `chaos (e): ${RUNS} requests (seed ${SEED}): ${JSON.stringify(statuses)}; ${opened.length} incidents diagnosed`,
    );
  });
});
