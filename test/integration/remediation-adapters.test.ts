import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import { createAdapters } from '../../src/adapters/index.ts';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { approveStep } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { createKubectlStandIn, type KubectlStandIn } from '../helpers/kubectl-stand-in.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.ts';
import { startReceiver } from '../helpers/receiver.ts';

const redisUrl = inject('redisUrl');

/**
 * A lock-contention runbook: a database_query finds waiting sessions (the state to look for comes
 * from the alert, as a bind value); then a restart runs at once, a rollback waits for approval,
 * and ops hear about it through a webhook. No cluster can run here: kubectl is a stand-in.
 */
const RUNBOOK = `
id: api-locks
name: API lock contention
severity: P2
service: api
triggers:
  - type: alert
    alertName: ApiLockContention
diagnostics:
  - id: waiting_sessions
    name: Waiting sessions
    type: database_query
    timeout: 10
    config:
      query: SELECT count(*) AS waiting FROM sessions WHERE state = $1
      params: ["{{ alert.labels.state }}"]
    interpret:
      critical: "value >= 2"
      healthy: "value < 2"
decisionTree:
  - condition: "diagnostics.waiting_sessions.status == 'critical'"
    then: [restart_api, rollback_api, tell_ops]
remediations:
  - id: restart_api
    name: Restart the API
    type: automated
    action:
      type: restart_service
      config: { deployment: "{{ alert.labels.deployment }}", namespace: "{{ alert.labels.namespace }}" }
  - id: rollback_api
    name: Roll the API back
    type: automated
    requiresApproval: true
    action:
      type: rollback
      config: { deployment: "{{ alert.labels.deployment }}", namespace: "{{ alert.labels.namespace }}", toRevision: 3 }
  - id: tell_ops
    name: Tell ops
    type: automated
    action:
      type: notify
      config: { channel: "webhook:ops", message: "API restarted after lock contention" }
escalation:
  primary: "webhook:ops"
  escalateAfterMinutes: 30
`;

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase();
  await db.query(
    "CREATE TABLE sessions (id int, state text); INSERT INTO sessions VALUES (1, 'waiting'), (2, 'waiting'), (3, 'idle')",
  );
});
afterAll(async () => db?.drop());

let pipeline: Pipeline | undefined;
let kubectl: KubectlStandIn;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await pipeline?.close(5000);
  pipeline = undefined;
  for (const c of cleanups.splice(0)) await c();
});

async function setup() {
  kubectl = await createKubectlStandIn();
  cleanups.push(kubectl.remove);
  const hook = await startReceiver();
  cleanups.push(hook.close);
  const connections = ConnectionsSchema.parse({
    databases: { default: { url: db.url } },
    kubernetes: { kubectl: kubectl.path, context: 'prod-cluster' },
    webhooks: { ops: { url: `${hook.url}/ops` } },
  });
  pipeline = await testPipeline(redisUrl, [RUNBOOK], { adapters: createAdapters(connections) });
  await pipeline.startWorkers(FAST_WORKERS);
  return { hook };
}

const finished = (stepId: string) => (e: TimelineEvent) =>
  (e.type === 'remediation.succeeded' || e.type === 'remediation.failed') && e.data?.stepId === stepId;

describe('remediation adapters through the pipeline', () => {
  it('database_query finds the condition; restart runs, rollback only after approval, each once', async () => {
    const { hook } = await setup();
    const labels = {
      alertname: 'ApiLockContention',
      state: 'waiting',
      deployment: 'api',
      namespace: 'payments',
    };
    const [opened] = await pipeline!.intake(firingAlert(labels));
    const id = (opened as { incidentId: string }).incidentId;

    const before = await eventsUntil(pipeline!, id, (_e, seen) =>
      ['restart_api', 'tell_ops'].every((s) => seen.some(finished(s))),
    );
    const incident = await pipeline!.deps.store.get(id);
    expect(incident?.verdicts.waiting_sessions).toMatchObject({ status: 'critical' });
    expect(before.filter((e) => e.type === 'remediation.failed')).toEqual([]);
    const restart = ['rollout', 'restart', 'deployment/api', '-n', 'payments', '--context', 'prod-cluster'];
    expect(await kubectl.calls()).toEqual([restart]);
    expect(incident?.plan.find((s) => s.stepId === 'rollback_api')?.state).toBe('awaiting_approval');
    // The notify action addressed its update to this incident.
    expect(hook.json()).toContainEqual(
      expect.objectContaining({
        kind: 'update',
        incidentId: id,
        text: 'API restarted after lock contention',
      }),
    );

    await approveStep(pipeline!.deps, id, 'rollback_api', { user: 'alice', comment: 'deploy 41 is bad' });
    const after = await eventsUntil(pipeline!, id, finished('rollback_api'));
    expect(after.find(finished('rollback_api'))).toMatchObject({
      type: 'remediation.succeeded',
      message: 'Roll the API back: rolled back deployment/api in payments to revision 3',
      data: {
        command: [
          kubectl.path,
          'rollout',
          'undo',
          'deployment/api',
          '-n',
          'payments',
          '--to-revision=3',
          '--context',
          'prod-cluster',
        ],
      },
    });
    expect(await kubectl.calls()).toEqual([
      restart,
      ['rollout', 'undo', 'deployment/api', '-n', 'payments', '--to-revision=3', '--context', 'prod-cluster'],
    ]);
  });

  it('a hostile deployment label is refused before kubectl runs', async () => {
    await setup();
    const marker = `/tmp/x-${randomUUID()}`;
    const labels = {
      alertname: 'ApiLockContention',
      state: 'waiting',
      deployment: `$(touch ${marker})`,
      namespace: 'payments',
    };
    const [opened] = await pipeline!.intake(firingAlert(labels));
    const id = (opened as { incidentId: string }).incidentId;
    const events = await eventsUntil(pipeline!, id, finished('restart_api'));
    expect(events.find(finished('restart_api'))).toMatchObject({
      type: 'remediation.failed',
      message: `Restart the API: template: "$(touch ${marker})" is not a Kubernetes name (lowercase letters, digits, "-" and ".", at most 253 characters)`,
    });
    expect(await kubectl.calls()).toEqual([]);
    expect(existsSync(marker), `${marker} exists`).toBe(false);
  });
});
