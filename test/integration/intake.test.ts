import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Alert } from '../../src/engine/types.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');

const runbook = (extra: string) => `
id: pods-crashing
name: Pods crashing
severity: P2
service: checkout
${extra}
triggers:
  - type: alert
    alertName: PodCrashLooping
    matchers: ['namespace="prod"']
diagnostics:
  - id: restarts
    name: Restarts
    type: shell_command
    config: { command: [node, -e, "console.log(JSON.stringify({ n: 7 }))"] }
    interpret: { critical: "json.n > 5", healthy: "json.n <= 5" }
decisionTree:
  - condition: "diagnostics.restarts.status == 'critical'"
    then: [look]
remediations:
  - id: look
    name: Look at the pod logs
    type: manual
    instructions: kubectl logs the crashing pod
escalation:
  primary: "#checkout"
  escalateAfterMinutes: 10
`;

const resolved = (a: Alert): Alert => ({ ...a, status: 'resolved', endsAt: new Date().toISOString() });

describe('intake: alert → runbooks, dedup, resolved alerts', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => pipeline?.close(5000));

  it('matches alertname and label matchers; others get no_runbook', async () => {
    pipeline = await testPipeline(redisUrl, [runbook('')]);
    expect(
      await pipeline.intake(firingAlert({ alertname: 'PodCrashLooping', namespace: 'staging' })),
    ).toEqual([{ outcome: 'no_runbook' }]);
    expect(await pipeline.intake(firingAlert({ alertname: 'Other', namespace: 'prod' }))).toEqual([
      { outcome: 'no_runbook' },
    ]);
    const [o] = await pipeline.intake(firingAlert({ alertname: 'PodCrashLooping', namespace: 'prod' }));
    expect(o).toMatchObject({ outcome: 'opened', runbookId: 'pods-crashing' });
  });

  it('groupBy: pods of one service make one incident; it auto-resolves only when the last alert resolves', async () => {
    pipeline = await testPipeline(redisUrl, [runbook('groupBy: [namespace, service]\nautoResolve: true')]);
    await pipeline.startWorkers(FAST_WORKERS);
    const pods = ['a', 'b', 'c'].map((pod) =>
      firingAlert({ alertname: 'PodCrashLooping', namespace: 'prod', service: 'checkout', pod }),
    );
    const outcomes = (await Promise.all(pods.map((p) => pipeline!.intake(p)))).flat();
    expect(outcomes.filter((o) => o.outcome === 'opened')).toHaveLength(1);
    const id = (outcomes[0] as { incidentId: string }).incidentId;
    expect(outcomes.every((o) => (o as { incidentId: string }).incidentId === id)).toBe(true);
    await eventsUntil(pipeline, id, (e) => e.type === 'decision.made');

    for (const pod of pods.slice(0, 2)) {
      const [r] = await pipeline.intake(resolved(pod));
      expect(r).toEqual({
        outcome: 'resolved_event',
        runbookId: 'pods-crashing',
        incidentId: id,
        autoResolved: false,
      });
    }
    expect((await pipeline.deps.store.get(id))?.status).not.toBe('resolved');
    const timer = await pipeline.deps.queues.byName.notifications.getJob(`${id}-escalate`);
    expect(await timer?.getState()).toBe('delayed');

    const [last] = await pipeline.intake(resolved(pods[2]!));
    expect(last).toEqual({
      outcome: 'resolved_event',
      runbookId: 'pods-crashing',
      incidentId: id,
      autoResolved: true,
    });
    const incident = await pipeline.deps.store.get(id);
    expect(incident?.status).toBe('resolved');
    const types: string[] = (await pipeline.deps.store.timeline(id)).map((e) => e.type);
    expect(types.filter((t) => t === 'alert.resolved')).toHaveLength(3);
    expect(types).toContain('escalation.cancelled');
    expect(await pipeline.deps.queues.byName.notifications.getJob(`${id}-escalate`)).toBeUndefined();

    // The incident is over: the same alert firing again opens a new one.
    const [again] = await pipeline.intake(pods[0]!);
    expect(again).toMatchObject({ outcome: 'opened' });
    expect((again as { incidentId: string }).incidentId).not.toBe(id);
  });

  it('a resolved alert without autoResolve adds an event and cancels escalation, never a remediation or incident', async () => {
    pipeline = await testPipeline(redisUrl, [runbook('')]);
    const alert = firingAlert({ alertname: 'PodCrashLooping', namespace: 'prod' });
    expect(await pipeline.intake(resolved(alert))).toEqual([
      { outcome: 'no_open_incident', runbookId: 'pods-crashing' },
    ]);
    expect((await pipeline.deps.store.list({}, { limit: 10 })).items).toHaveLength(0);
    const [o] = await pipeline.intake(alert);
    const id = (o as { incidentId: string }).incidentId;
    await pipeline.startWorkers(FAST_WORKERS);
    await eventsUntil(pipeline, id, (e) => e.type === 'escalation.scheduled');
    const [r] = await pipeline.intake(resolved(alert));
    expect(r).toEqual({
      outcome: 'resolved_event',
      runbookId: 'pods-crashing',
      incidentId: id,
      autoResolved: false,
    });
    expect((await pipeline.deps.store.get(id))?.status).not.toBe('resolved');
    await eventsUntil(pipeline, id, (e) => e.type === 'escalation.cancelled');
  });
});
