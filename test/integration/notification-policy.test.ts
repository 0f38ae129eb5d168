import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import { type Adapters, createAdapters } from '../../src/adapters/index.ts';
import type { SlackMessage } from '../../src/adapters/notifiers/slack-blocks.ts';
import type { NotificationPolicy } from '../../src/engine/notification-policy.ts';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { resolveIncident } from '../../src/incidents/operations.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

/**
 * The notification policy through the real pipeline (intake, diagnosis, decision, dispatch,
 * resolve, the notification worker) on the run's private Redis. Each Slack channel is its own
 * local receiver, answering `{"ok":true}` as Slack-compatible proxies do; the tests assert on
 * what each receiver got and on every `notify` job the pipeline queued.
 */

const redisUrl = inject('redisUrl');
const CHANNELS = ['#pay', '#sre', '#team', '#status', '#all'] as const;

/** Critical at once; the decision pages through an `escalate` step with no `escalateTo`. */
function runbook(notifications?: string): string {
  return `
id: pay
name: Payment errors
severity: P1
service: payment
triggers: [{ type: alert, alertName: PaymentErrors }]
diagnostics:
  - id: db
    name: DB pool
    type: shell_command
    config: { command: [node, -e, "console.log(96)"] }
    interpret: { critical: "json >= 90", healthy: "json < 90" }
decisionTree:
  - condition: "diagnostics.db.status == 'critical'"
    then: [page]
remediations:
  - id: page
    name: Page the SRE on-call
    type: escalate
escalation:
  primary: "#pay"
  secondary: "#sre"
  escalateAfterMinutes: 30
${notifications ?? ''}`;
}

/** Each `kind→channel` a notification was sent for, from the incident's timeline. */
const sent = (events: TimelineEvent[]) =>
  events
    .filter((e) => e.type === 'notification.sent')
    .map((e) => `${String(e.data?.kind)}→${String(e.data?.channel)}`)
    .sort();
const show = (events: TimelineEvent[]) => events.map((e) => `${e.type}: ${e.message}`).join('\n');

describe('notification policy through the pipeline', () => {
  let pipeline: Pipeline | undefined;
  let adapters: Adapters | undefined;
  const receivers = new Map<string, Receiver>();
  afterEach(async () => {
    await pipeline?.close(5000);
    pipeline = undefined;
    await adapters?.close();
    adapters = undefined;
    for (const r of receivers.values()) await r.close();
    receivers.clear();
  });

  /**
   * Opens an incident, waits until every notification in `expected` was sent, resolves it, waits
   * for the `resolved` ones; returns the timeline and every `notify` job queued for it.
   */
  async function run(yaml: string, expected: string[], notifications?: NotificationPolicy) {
    for (const c of CHANNELS)
      receivers.set(c, await startReceiver(() => ({ status: 200, body: '{"ok":true}' })));
    const webhooks = Object.fromEntries([...receivers].map(([c, r]) => [c, r.url]));
    adapters = createAdapters(ConnectionsSchema.parse({ slack: { webhooks } }));
    pipeline = await testPipeline(redisUrl, [yaml], {
      adapters: { notifiers: adapters.notifiers },
      ...(notifications ? { notifications } : {}),
    });
    await pipeline.startWorkers(FAST_WORKERS);
    const [opened] = await pipeline.intake(firingAlert({ alertname: 'PaymentErrors' }));
    if (opened?.outcome !== 'opened') throw new Error(`expected an incident, got ${JSON.stringify(opened)}`);
    const id = opened.incidentId;
    const before = expected.filter((e) => !e.startsWith('resolved'));
    await eventsUntil(pipeline, id, (_e, seen) => before.every((x) => sent(seen).includes(x)));
    await resolveIncident(pipeline.deps, id, 'tester', 'fixed');
    const events = await eventsUntil(pipeline, id, (_e, seen) =>
      expected.every((x) => sent(seen).includes(x)),
    );
    const jobs = await pipeline.deps.queues.byName.notifications.getJobs();
    const queued = jobs
      .filter((j) => j.name === 'notify' && j.data.incidentId === id)
      .map((j) => `${j.data.kind}→${j.data.channel}`)
      .sort();
    return { events, queued };
  }

  /** What each channel's receiver got: the first words of each Slack message. */
  const heard = () =>
    Object.fromEntries(
      [...receivers].map(([c, r]) => [c, r.json<SlackMessage>().map((m) => m.text.split(':')[0])]),
    );

  it("a runbook's policy routes each event, and wins over the global default", async () => {
    const policy = `notifications:
  opened: []
  diagnosed: ["#team"]
  escalated: ["#team", escalation]
  resolved: ["#status"]
`;
    const expected = ['escalation→#sre', 'escalation→#team', 'resolved→#status', 'update→#team'];
    const { events, queued } = await run(runbook(policy), expected, {
      opened: ['#all'],
      diagnosed: ['primary'],
    });
    expect(queued, show(events)).toEqual(expected);
    expect(sent(events), show(events)).toEqual(expected);
    expect(
      events.filter((e) => e.type === 'notification.failed'),
      show(events),
    ).toEqual([]);
    expect(heard()).toEqual({
      '#pay': [],
      '#sre': ['Escalated'],
      '#team': expect.arrayContaining(['Escalated', 'Diagnosed']),
      '#status': ['Resolved'],
      '#all': [],
    });
    expect(events.find((e) => e.type === 'escalation.fired')?.message).toBe(
      'Page the SRE on-call: escalated to #team, #sre',
    );
  });

  it('the global default applies to a runbook that names no policy; resolved goes to the channels told', async () => {
    const expected = ['escalation→#sre', 'resolved→#all', 'resolved→#sre', 'update→#all'];
    const { events, queued } = await run(runbook(), expected, { opened: [], diagnosed: ['#all'] });
    expect(queued, show(events)).toEqual(expected);
    expect(heard()).toMatchObject({
      '#pay': [],
      '#all': ['Diagnosed', 'Resolved'],
      '#sre': ['Escalated', 'Resolved'],
    });
  });

  it('with no policy anywhere, everything goes where it always did', async () => {
    const expected = ['escalation→#sre', 'opened→#pay', 'resolved→#pay', 'resolved→#sre', 'update→#pay'];
    const { events, queued } = await run(runbook(), expected);
    expect(queued, show(events)).toEqual(expected);
    expect(heard()).toMatchObject({ '#team': [], '#status': [], '#all': [] });
  });
});
