import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConnectionsSchema } from '../../src/adapters/connections.ts';
import { type Adapters, createAdapters } from '../../src/adapters/index.ts';
import type { TimelineEvent } from '../../src/engine/types.ts';
import type { Pipeline } from '../../src/process/pipeline.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

/**
 * Safety defaults by action risk, through the real pipeline: a `notify` step is not a restart, so
 * four critical alerts in an hour post four messages (a restart would be held to 3 an hour), and a
 * `maxPerHour` the runbook sets still wins. Slack is a local receiver recording what it got.
 */

const redisUrl = inject('redisUrl');
const MESSAGE = 'Checkout is failing; the on-call is looking';

/** Every alert of `Checkout5xx` is critical and posts MESSAGE to #status; `maxPerHour` only when given. */
function runbook(maxPerHour?: number): string {
  return `
id: checkout
name: Checkout failing
severity: P1
service: checkout
triggers: [{ type: alert, alertName: Checkout5xx }]
diagnostics:
  - id: errors
    name: Error rate
    type: shell_command
    config: { command: [node, -e, "console.log(9)"] }
    interpret: { critical: "json >= 5", healthy: "json < 5" }
decisionTree:
  - condition: "diagnostics.errors.status == 'critical'"
    then: [post_status]
remediations:
  - id: post_status
    name: Post to the status channel
    type: automated
    action: { type: notify, config: { channel: "#status", message: "${MESSAGE}" } }
${maxPerHour === undefined ? '' : `    maxPerHour: ${maxPerHour}\n`}escalation:
  primary: "#ops"
  escalateAfterMinutes: 30
`;
}

const OUTCOME = new Set(['remediation.succeeded', 'remediation.skipped', 'remediation.failed']);
const show = (events: TimelineEvent[]) => events.map((e) => `${e.type}: ${e.message}`).join('\n');

describe('notify remediations: safety defaults by action risk', () => {
  let pipeline: Pipeline | undefined;
  let adapters: Adapters | undefined;
  let slack: Receiver | undefined;
  afterEach(async () => {
    await pipeline?.close(5000);
    pipeline = undefined;
    await adapters?.close();
    adapters = undefined;
    await slack?.close();
    slack = undefined;
  });

  /** Opens `count` incidents one after the other; returns each one's notify outcome event. */
  async function alerts(yaml: string, count: number): Promise<TimelineEvent[]> {
    slack = await startReceiver();
    adapters = createAdapters(ConnectionsSchema.parse({ slack: { webhooks: { default: slack.url } } }));
    pipeline = await testPipeline(redisUrl, [yaml], { adapters });
    await pipeline.startWorkers(FAST_WORKERS);
    const outcomes: TimelineEvent[] = [];
    for (let i = 0; i < count; i++) {
      const [opened] = await pipeline.intake(firingAlert({ alertname: 'Checkout5xx', pod: `checkout-${i}` }));
      if (opened?.outcome !== 'opened')
        throw new Error(`alert ${i + 1}: expected an incident, got ${JSON.stringify(opened)}`);
      const events = await eventsUntil(
        pipeline,
        opened.incidentId,
        (e) => OUTCOME.has(e.type) && e.data?.stepId === 'post_status',
      );
      const outcome = events.at(-1);
      if (!outcome) throw new Error(`alert ${i + 1}: no outcome:\n${show(events)}`);
      outcomes.push(outcome);
    }
    return outcomes;
  }

  const posted = () => (slack?.received ?? []).filter((r) => r.body.includes(MESSAGE)).length;

  it('4 critical alerts in an hour: every notify is posted (no hourly budget by default)', async () => {
    const outcomes = await alerts(runbook(), 4);
    expect(
      outcomes.map((e) => e.type),
      show(outcomes),
    ).toEqual([
      'remediation.succeeded',
      'remediation.succeeded',
      'remediation.succeeded',
      'remediation.succeeded',
    ]);
    expect(posted(), 'messages posted to #status').toBe(4);
  });

  it('a maxPerHour the runbook sets still wins: with 2, the 3rd is skipped naming the budget', async () => {
    const outcomes = await alerts(runbook(2), 3);
    expect(
      outcomes.map((e) => [e.type, e.data?.reason]),
      show(outcomes),
    ).toEqual([
      ['remediation.succeeded', undefined],
      ['remediation.succeeded', undefined],
      ['remediation.skipped', 'budget'],
    ]);
    expect(posted(), 'messages posted to #status').toBe(2);
  });
});
