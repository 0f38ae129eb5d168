import { afterEach, describe, expect, it } from 'vitest';
import { createNotifyAction } from '../../src/adapters/actions/notify.ts';
import { createNotifierRegistry } from '../../src/adapters/notifiers/registry.ts';
import { createWebhookNotifier } from '../../src/adapters/notifiers/webhook.ts';
import type { ActionContext } from '../../src/adapters/types.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { makeIncident } from '../helpers/store-fixtures.ts';

const incident = {
  ...makeIncident({ id: 'inc-42' }),
  runbookName: 'Payment slow',
  service: 'payment',
  severity: 'P1' as const,
};

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A local receiver standing in for a status page's webhook, answering `status`. */
async function setup(status = 200) {
  const hook = await startReceiver(() => ({ status, body: 'ok' }));
  closers.push(hook.close);
  const action = createNotifyAction(
    createNotifierRegistry([createWebhookNotifier({ status: { url: `${hook.url}/hook` } })]),
  );
  const run = (config: Record<string, unknown>, ctx: Partial<ActionContext> = {}) =>
    action.run(action.configSchema.parse(config), {
      signal: new AbortController().signal,
      dryRun: false,
      incident,
      ...ctx,
    });
  return { hook, action, run };
}

describe('notify action', () => {
  it('sends an update about the incident through the channel’s notifier', async () => {
    const { hook, run } = await setup();
    const outcome = await run({ channel: 'webhook:status', message: 'Rolled back; watching the error rate' });
    expect(outcome).toEqual({
      dryRun: false,
      summary: 'notified webhook:status: status answered 200',
      request: { channel: 'webhook:status', message: 'Rolled back; watching the error rate' },
    });
    expect(hook.received.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /hook']);
    expect(hook.json()).toEqual([
      expect.objectContaining({
        kind: 'update',
        incidentId: 'inc-42',
        title: 'P1 payment: Payment slow',
        severity: 'P1',
        text: 'Rolled back; watching the error rate',
      }),
    ]);
  });

  it('sends nothing in a dry run and says what it would send', async () => {
    const { hook, run } = await setup();
    const outcome = await run({ channel: 'webhook:status', message: 'line one\nline two' }, { dryRun: true });
    expect(outcome.summary).toBe('dry run: would notify webhook:status: line one');
    expect(hook.received).toEqual([]);
    const slack = await run({ channel: '#ops' }, { dryRun: true });
    expect(slack.summary).toBe(
      'dry run: would notify #ops: A runbook step asked to notify this channel. (no slack notifier is configured)',
    );
  });

  it('fails clearly without a notifier, an incident, or when the receiver refuses', async () => {
    const { run } = await setup(500);
    await expect(run({ channel: '#ops' })).rejects.toMatchObject({
      message: 'notify: no slack notifier is configured for #ops',
      retryable: false,
    });
    await expect(run({ channel: 'webhook:status' }, { incident: undefined })).rejects.toThrow(
      'notify: a notify action needs the incident it runs for',
    );
    await expect(run({ channel: 'bad address' })).rejects.toThrow(/cannot read address 'bad address'/);
    await expect(run({ channel: 'webhook:status', message: 'x' })).rejects.toMatchObject({ retryable: true });
  });
});
