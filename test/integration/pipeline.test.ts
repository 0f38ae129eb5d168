import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { approveStep, completeStep, rejectStep } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { DEFAULT_JOB_OPTIONS, jobIds } from '../../src/queues/catalog.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, httpServer, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

/** A payment runbook whose checks are a local process and a local HTTP server. */
function paymentRunbook(opts: {
  healthUrl: string;
  dbPercent: number;
  marker: string;
  sleepSeconds?: number;
}) {
  return `
id: payment-service-slow
name: Payment Service High Latency
severity: P1
service: payment-service
triggers:
  - type: alert
    alertName: PaymentServiceHighLatency
diagnostics:
  - id: check_db_connections
    name: Database connections
    type: shell_command
    timeout: ${opts.sleepSeconds ? 1 : 10}
    config:
      command: [node, -e, "setTimeout(() => console.log(JSON.stringify({ used_pct: ${opts.dbPercent} })), ${(opts.sleepSeconds ?? 0) * 1000})"]
    interpret:
      critical: "json.used_pct >= 90"
      warning: "json.used_pct >= 70"
      healthy: "json.used_pct < 70"
  - id: check_downstream
    name: Downstream dependencies
    type: http_check
    timeout: 10
    config:
      urls:
        - name: fraud-service
          url: "${opts.healthUrl}/health?ns={{ alert.labels.namespace }}"
    interpret:
      critical: any_unreachable
      warning: "!all_healthy"
      healthy: all_healthy
decisionTree:
  - condition: "diagnostics.check_db_connections.status === 'critical'"
    then: [kill_idle_connections, rollback_deployment, check_dashboards]
    description: Database pool exhausted
  - condition: "diagnostics.check_downstream.status != 'healthy'"
    then: [escalate_oncall]
    description: Downstream dependency unhealthy
  - condition: "diagnostics.check_db_connections.status == 'error'"
    then: [escalate_oncall]
    description: Could not read the database pool
remediations:
  - id: kill_idle_connections
    name: Kill idle connections
    type: automated
    action:
      type: run_script
      config:
        command: [node, -e, "require('fs').appendFileSync(process.argv[1], 'kill\\\\n')", "${opts.marker}"]
  - id: rollback_deployment
    name: Roll back
    type: automated
    requiresApproval: true
    action:
      type: run_script
      config:
        command: [node, -e, "require('fs').appendFileSync(process.argv[1], 'rollback\\\\n')", "${opts.marker}"]
  - id: check_dashboards
    name: Check the dashboards
    type: manual
    instructions: Open the payment dashboard and compare p99 with last week.
  - id: escalate_oncall
    name: Page on-call
    type: escalate
escalation:
  primary: "#incidents-payment"
  escalateAfterMinutes: 15
`;
}

describe('pipeline: alert → flow of diagnostics → decision → remediation', () => {
  let pipeline: Pipeline | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await pipeline?.close(5000);
    for (const c of cleanups.splice(0)) await c();
  });

  async function setup(dbPercent: number, healthStatus = 200, sleepSeconds?: number) {
    const health = await httpServer((_req, res) => {
      res.statusCode = healthStatus;
      res.end('ok');
    });
    cleanups.push(health.close);
    const marker = join(mkdtempSync(join(tmpdir(), 'fireline-')), 'actions.log');
    pipeline = await testPipeline(redisUrl, [
      paymentRunbook({ healthUrl: health.url, dbPercent, marker, ...(sleepSeconds ? { sleepSeconds } : {}) }),
    ]);
    await pipeline.startWorkers(FAST_WORKERS);
    const ran = () => {
      try {
        return readFileSync(marker, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    };
    return { health, marker, ran };
  }

  it('happy path: verdicts, decision with rationale, remediation run, checklist and timeline in order', async () => {
    const { health, ran } = await setup(96);
    const [outcome] = await pipeline!.intake(
      firingAlert({ alertname: 'PaymentServiceHighLatency', namespace: 'prod "x"' }),
    );
    expect(outcome).toMatchObject({ outcome: 'opened', runbookId: 'payment-service-slow' });
    const incidentId = (outcome as { incidentId: string }).incidentId;

    const events = await eventsUntil(pipeline!, incidentId, (e) => e.type === 'remediation.succeeded');
    const incident = await pipeline!.deps.store.get(incidentId);
    expect(incident?.verdicts.check_db_connections?.status).toBe('critical');
    expect(incident?.verdicts.check_db_connections?.matched?.expression).toBe('json.used_pct >= 90');
    expect(incident?.verdicts.check_downstream?.status).toBe('healthy');
    expect(incident?.overall).toBe('critical');
    expect(incident?.decision?.remediations).toEqual([
      'kill_idle_connections',
      'rollback_deployment',
      'check_dashboards',
    ]);
    expect(incident?.decision?.rationale[0]).toMatchObject({
      matched: true,
      values: { 'diagnostics.check_db_connections.status': 'critical' },
    });
    expect(incident?.plan.map((s) => [s.stepId, s.kind, s.state])).toEqual([
      ['kill_idle_connections', 'automated', 'succeeded'],
      ['rollback_deployment', 'approval', 'awaiting_approval'],
      ['check_dashboards', 'manual', 'pending'],
    ]);
    // The label reached the URL as one escaped query value, not as structure.
    expect(health.requests).toEqual(['GET /health?ns=prod%20%22x%22']);
    expect(ran()).toEqual(['kill']);

    const types: string[] = events.map((e) => e.type);
    const order = [
      'incident.opened',
      'incident.status',
      'diagnostic.finished',
      'decision.made',
      'remediation.queued',
      'remediation.started',
      'remediation.succeeded',
    ];
    let at = -1;
    for (const t of order) {
      const next = types.indexOf(t, at + 1);
      expect(next, `${t} after position ${at} in ${types.join(', ')}`).toBeGreaterThan(at);
      at = next;
    }
    expect(types.filter((t) => t === 'diagnostic.finished')).toHaveLength(2);
    expect(types).toContain('escalation.scheduled');

    // Flow jobs carry the queues' defaults (a FlowProducer does not apply them by itself): retries
    // for infrastructure faults, and removal so Redis does not keep every diagnostic ever run.
    const child = await pipeline!.deps.queues.byName.diagnostics.getJob(
      jobIds.diagnose(incidentId, 'check_db_connections'),
    );
    const parent = await pipeline!.deps.queues.byName.decisions.getJob(jobIds.evaluate(incidentId));
    for (const job of [child, parent])
      expect(job?.opts).toMatchObject({
        attempts: DEFAULT_JOB_OPTIONS.attempts,
        removeOnComplete: DEFAULT_JOB_OPTIONS.removeOnComplete,
      });
  });

  it('approval: nothing runs before approval; reject skips; approve runs once', async () => {
    const { ran } = await setup(96);
    const [o1] = await pipeline!.intake(
      firingAlert({ alertname: 'PaymentServiceHighLatency', namespace: 'a' }),
    );
    const id1 = (o1 as { incidentId: string }).incidentId;
    await eventsUntil(pipeline!, id1, (e) => e.type === 'remediation.succeeded');
    expect(ran()).toEqual(['kill']);
    expect((await pipeline!.deps.store.get(id1))?.status).toBe('awaiting_approval');

    await approveStep(pipeline!.deps, id1, 'rollback_deployment', {
      user: 'alice',
      comment: 'deploy 42 is bad',
    });
    await expect(approveStep(pipeline!.deps, id1, 'rollback_deployment', { user: 'bob' })).rejects.toThrow(
      /cannot approve rollback_deployment: it is (approved|queued|running|succeeded)/,
    );
    await eventsUntil(
      pipeline!,
      id1,
      (e) => e.type === 'incident.status' && e.data?.to === 'awaiting_responder',
    );
    expect(ran()).toEqual(['kill', 'rollback']);
    const approved = (await pipeline!.deps.store.get(id1))?.plan.find(
      (s) => s.stepId === 'rollback_deployment',
    );
    expect(approved).toMatchObject({ state: 'succeeded', by: 'alice', comment: 'deploy 42 is bad' });
    expect((await pipeline!.deps.store.get(id1))?.status).toBe('awaiting_responder');
    await completeStep(pipeline!.deps, id1, 'check_dashboards', { user: 'alice' });
    expect(
      (await pipeline!.deps.store.get(id1))?.plan.find((s) => s.stepId === 'check_dashboards')?.state,
    ).toBe('done');

    const [o2] = await pipeline!.intake(
      firingAlert({ alertname: 'PaymentServiceHighLatency', namespace: 'b' }),
    );
    const id2 = (o2 as { incidentId: string }).incidentId;
    await eventsUntil(pipeline!, id2, (e) => e.type === 'remediation.succeeded');
    await rejectStep(pipeline!.deps, id2, 'rollback_deployment', {
      user: 'carol',
      comment: 'not the deploy',
    });
    const rejected = (await pipeline!.deps.store.get(id2))?.plan.find(
      (s) => s.stepId === 'rollback_deployment',
    );
    expect(rejected).toMatchObject({ state: 'rejected', by: 'carol', comment: 'not the deploy' });
    await expect(approveStep(pipeline!.deps, id2, 'rollback_deployment', { user: 'dave' })).rejects.toThrow(
      /it is rejected/,
    );
    expect(ran()).toEqual(['kill', 'rollback', 'kill']);
  });

  it('a diagnostic that hangs past its timeout is judged error and the parent still decides, on time', async () => {
    await setup(50, 200, 30);
    const started = Date.now();
    const [o] = await pipeline!.intake(
      firingAlert({ alertname: 'PaymentServiceHighLatency', namespace: 'a' }),
    );
    const id = (o as { incidentId: string }).incidentId;
    await eventsUntil(pipeline!, id, (e) => e.type === 'decision.made');
    const elapsed = Date.now() - started;
    const incident = await pipeline!.deps.store.get(id);
    expect(incident?.verdicts.check_db_connections).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/timed out after 1/),
    });
    expect(incident?.decision?.remediations).toEqual(['escalate_oncall']);
    expect(
      elapsed,
      'decision within the 1 s timeout plus overhead, not the 30 s the check would take',
    ).toBeLessThan(8000);
  });

  it('50 concurrent duplicate deliveries of one alert make exactly one incident and one flow', async () => {
    await setup(50);
    const alert = firingAlert({ alertname: 'PaymentServiceHighLatency', namespace: 'dup' }, 'fp-duplicate-1');
    const outcomes = (await Promise.all(Array.from({ length: 50 }, () => pipeline!.intake(alert)))).flat();
    const opened = outcomes.filter((o) => o.outcome === 'opened');
    expect(opened).toHaveLength(1);
    const id = (opened[0] as { incidentId: string }).incidentId;
    expect(new Set(outcomes.map((o) => (o as { incidentId: string }).incidentId))).toEqual(new Set([id]));
    const events = await eventsUntil(pipeline!, id, (e) => e.type === 'decision.made');
    expect(events.filter((e) => e.type === 'incident.opened')).toHaveLength(1);
    const list = await pipeline!.deps.store.list({}, { limit: 100 });
    expect(list.items.map((i) => i.id)).toEqual([id]);
    const diagJobs = await pipeline!.deps.queues.byName.diagnostics.getJobCounts();
    const total = Object.values(diagJobs).reduce((a, b) => a + b, 0);
    expect(total, `diagnostic jobs ${JSON.stringify(diagJobs)}`).toBeLessThanOrEqual(2);
    // The same firing delivered again is a repeat, not news: the timeline does not fill with copies.
    const refired = (await pipeline!.deps.store.timeline(id)).filter((e) => e.type === 'alert.refired');
    expect(refired).toHaveLength(0);
  });
});
