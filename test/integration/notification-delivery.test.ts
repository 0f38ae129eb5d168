import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type ConnectionsInput, ConnectionsSchema } from '../../src/adapters/connections.ts';
import { type Adapters, createAdapters } from '../../src/adapters/index.ts';
import type { SlackMessage } from '../../src/adapters/notifiers/slack-blocks.ts';
import type { NotificationKind } from '../../src/adapters/types.ts';
import { slackActionValue } from '../../src/engine/slack-actions.ts';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { acknowledge, resolveIncident } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { jobIds, QUEUES, type QueueName } from '../../src/queues/catalog.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { type Receiver, type Reply, startReceiver } from '../helpers/receiver.ts';

/**
 * Delivery through the real notification worker on the run's private Redis, to local HTTP
 * receivers: PagerDuty's trigger → acknowledge → resolve through the whole pipeline, and the
 * worker's answer to 429 (Retry-After), 5xx (retries with backoff) and other 4xx (final).
 */

const redisUrl = inject('redisUrl');
const LINK = 'http://fireline.test';

/** An escalate step pages PagerDuty; an approval step gets Slack buttons. */
const RUNBOOK = `
id: pay
name: Payment errors
severity: P1
service: payment-service
triggers: [{ type: alert, alertName: PaymentErrors }]
diagnostics:
  - id: db
    name: DB pool
    type: shell_command
    timeout: 10
    config:
      command: [node, -e, "console.log(JSON.stringify({ used_pct: 96 }))"]
    interpret:
      critical: "json.used_pct >= 90"
      healthy: "json.used_pct < 90"
decisionTree:
  - condition: "diagnostics.db.status == 'critical'"
    description: Database pool exhausted
    then: [page_payments, rollback]
remediations:
  - id: page_payments
    name: Page payments on-call
    type: escalate
    escalateTo: pagerduty:payments
  - id: rollback
    name: Roll back
    type: automated
    requiresApproval: true
    action: { type: run_script, config: { command: [node, -e, ""] } }
escalation:
  primary: "#ops"
  escalateAfterMinutes: 15
`;

const show = (events: TimelineEvent[]) => events.map((e) => `${e.type}: ${e.message}`).join('\n');
const expectNoFailure = (events: TimelineEvent[]) =>
  expect(
    events.filter((e) => e.type === 'notification.failed'),
    show(events),
  ).toEqual([]);

describe('notification delivery', () => {
  let pipeline: Pipeline | undefined;
  let adapters: Adapters | undefined;
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await pipeline?.close(5000);
    pipeline = undefined;
    await adapters?.close();
    adapters = undefined;
    for (const r of receivers.splice(0)) await r.close();
  });

  async function receiver(reply?: (req: { body: string }, index: number) => Reply) {
    const r = await startReceiver(reply);
    receivers.push(r);
    return r;
  }

  /** A pipeline whose notifiers are createAdapters' own, built from these connections. */
  async function setup(connections: ConnectionsInput, queues?: readonly QueueName[]) {
    adapters = createAdapters(ConnectionsSchema.parse(connections));
    pipeline = await testPipeline(redisUrl, [RUNBOOK], {
      adapters: { notifiers: adapters.notifiers },
      publicUrl: LINK,
    });
    await pipeline.startWorkers(FAST_WORKERS, queues);
    const [opened] = await pipeline.intake(firingAlert({ alertname: 'PaymentErrors' }));
    if (opened?.outcome !== 'opened')
      throw new Error(`expected an opened incident, got ${JSON.stringify(opened)}`);
    return { p: pipeline, id: opened.incidentId };
  }

  /** Queues one notification as the pipeline does (deterministic job id, default attempts). */
  async function notify(p: Pipeline, id: string, kind: NotificationKind, channel: string) {
    const jobId = jobIds.notify(id, kind, channel);
    await p.deps.queues.add('notify', { incidentId: id, kind, channel }, { jobId });
    return jobId;
  }

  const delivered = (events: TimelineEvent[], kind: string, channel: string) =>
    events.some(
      (e) => e.type === 'notification.sent' && e.data?.kind === kind && e.data?.channel === channel,
    );

  it('PagerDuty gets trigger → acknowledge → resolve on one dedup key; Slack hears every step', async () => {
    const pd = await receiver((r) => ({
      status: 202,
      body: JSON.stringify({ dedup_key: JSON.parse(r.body).dedup_key }),
    }));
    const slack = await receiver();
    const { p, id } = await setup({
      slack: { webhooks: { '#ops': slack.url }, signingSecret: 'shh' },
      pagerduty: { url: `${pd.url}/v2/enqueue`, routingKeys: { payments: 'R-PAY' } },
    });
    const all = (_e: TimelineEvent, seen: TimelineEvent[]) =>
      (['opened', 'approval_needed', 'update'] as const).every((k) => delivered(seen, k, '#ops')) &&
      delivered(seen, 'escalation', 'pagerduty:payments');
    await eventsUntil(p, id, all);
    await acknowledge(p.deps, id, 'tester');
    await eventsUntil(
      p,
      id,
      (_e, seen) =>
        delivered(seen, 'acknowledged', 'pagerduty:payments') && delivered(seen, 'acknowledged', '#ops'),
    );
    await resolveIncident(p.deps, id, 'tester', 'fixed');
    const events = await eventsUntil(
      p,
      id,
      (_e, seen) => delivered(seen, 'resolved', 'pagerduty:payments') && delivered(seen, 'resolved', '#ops'),
    );
    expectNoFailure(events);

    const sent = pd.json<{
      event_action: string;
      dedup_key: string;
      routing_key: string;
      payload?: Record<string, unknown>;
      links?: unknown;
    }>();
    expect(sent.map((e) => [e.event_action, e.dedup_key, e.routing_key])).toEqual([
      ['trigger', id, 'R-PAY'],
      ['acknowledge', id, 'R-PAY'],
      ['resolve', id, 'R-PAY'],
    ]);
    expect(sent[0]?.payload).toMatchObject({
      severity: 'critical',
      source: 'payment-service',
      custom_details: { kind: 'escalation', verdicts: { db: 'critical (json.used_pct >= 90)' } },
    });
    expect(sent[0]?.links).toEqual([{ href: `${LINK}/incidents/${id}`, text: 'Incident in Fireline' }]);

    const messages = slack.json<SlackMessage>();
    expect(messages.map((m) => m.text.split(':')[0]).sort()).toEqual(
      ['Acknowledged', 'Approval needed', 'Diagnosed', 'Incident opened', 'Resolved'].sort(),
    );
    expect(messages.slice(-2).map((m) => m.text.split(':')[0])).toEqual(['Acknowledged', 'Resolved']);
    const approval = messages.find((m) => m.text.startsWith('Approval needed'));
    const buttons = approval?.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));
    expect(buttons?.map((b) => [b.action_id, b.value ?? b.url])).toEqual([
      ['approve', slackActionValue(id, 'rollback')],
      ['reject', slackActionValue(id, 'rollback')],
      ['open_incident', `${LINK}/incidents/${id}`],
    ]);
  });

  it('429 with Retry-After: 1 holds that address for a second (other addresses go on), then delivers', async () => {
    const slack = await receiver((_r, i) =>
      i === 0
        ? { status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } }
        : { status: 200, body: 'ok' },
    );
    const hook = await receiver(() => ({ status: 204 }));
    const { p, id } = await setup(
      { slack: { webhooks: { default: slack.url } }, webhooks: { hook: { url: hook.url } } },
      [QUEUES.notifications],
    );
    const first = await notify(p, id, 'opened', '#ops');
    const queue = p.deps.queues.byName.notifications;
    await expect.poll(async () => queue.getJobState(first), { timeout: 5000 }).toBe('delayed');
    // Queued while #ops is held: put off too, not sent into the rate limit.
    await notify(p, id, 'update', '#ops');
    await notify(p, id, 'opened', 'webhook:hook');
    const events = await eventsUntil(
      p,
      id,
      (_e, seen) => delivered(seen, 'opened', '#ops') && delivered(seen, 'update', '#ops'),
    );
    expectNoFailure(events);
    const [limited, retried, held] = slack.received;
    expect(slack.received).toHaveLength(3);
    expect(retried!.at - limited!.at, 'the 429ed message waited for Retry-After').toBeGreaterThanOrEqual(950);
    expect(held!.at - limited!.at, 'the message queued during the hold waited too').toBeGreaterThanOrEqual(
      950,
    );
    expect(hook.received[0]!.at, 'another address was not held').toBeLessThan(retried!.at);
    // attemptsMade counts finished attempts: only the delivery, the 429 was not an attempt.
    await expect.poll(() => queue.getJobState(first), { timeout: 5000 }).toBe('completed');
    expect((await queue.getJob(first))?.attemptsMade).toBe(1);
  });

  it('500 is retried with backoff and then delivered, signed each time', async () => {
    const hook = await receiver((_r, i) => (i === 0 ? { status: 500, body: 'busy' } : { status: 204 }));
    const { p, id } = await setup({ webhooks: { hook: { url: hook.url, secret: 's3' } } }, [
      QUEUES.notifications,
    ]);
    const jobId = await notify(p, id, 'resolved', 'webhook:hook');
    const events = await eventsUntil(
      p,
      id,
      (e) => e.type === 'notification.sent' || e.type === 'notification.failed',
    );
    expect(events.at(-1)).toMatchObject({
      type: 'notification.sent',
      message: 'Notified webhook:hook: hook answered 204 (signed)',
    });
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.at - hook.received[0]!.at, 'backoff before the retry').toBeGreaterThanOrEqual(
      900,
    );
    for (const r of hook.received)
      expect(r.headers['x-fireline-signature']).toBe(
        `sha256=${createHmac('sha256', 's3').update(r.body).digest('hex')}`,
      );
    const queue = p.deps.queues.byName.notifications;
    await expect.poll(() => queue.getJobState(jobId), { timeout: 5000 }).toBe('completed');
    expect((await queue.getJob(jobId))?.attemptsMade, 'one failed attempt, one delivery').toBe(2);
  });

  it('400 fails at once: one request, notification.failed naming the status and body', async () => {
    const slack = await receiver(() => ({ status: 400, body: 'invalid_payload' }));
    const { p, id } = await setup({ slack: { webhooks: { '#ops': slack.url } } }, [QUEUES.notifications]);
    const jobId = await notify(p, id, 'opened', '#ops');
    const events = await eventsUntil(p, id, (e) => e.type === 'notification.failed');
    expect(events.at(-1)).toMatchObject({
      type: 'notification.failed',
      message: 'Not delivered to #ops: slack: HTTP 400: invalid_payload',
      data: { channel: '#ops', kind: 'opened', status: 400, body: 'invalid_payload' },
    });
    // The event is written before the job finishes: wait for it to finish, after its one attempt,
    // so that no later attempt can come.
    const queue = p.deps.queues.byName.notifications;
    await expect.poll(() => queue.getJobState(jobId), { timeout: 5000 }).toBe('completed');
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(1);
    expect(slack.received).toHaveLength(1);
  });
});
