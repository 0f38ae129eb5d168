import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { INCIDENT } from '../fixtures/report-incident.ts';
import { awaiting, failure, note, notifier, receiver, signal } from '../helpers/notifier-fixtures.ts';

/** PagerDuty Events v2 and the signed generic webhook against local HTTP receivers. */

describe('pagerduty notifier', () => {
  const accepted = (r: { body: string }) => ({
    status: 202,
    body: JSON.stringify({
      status: 'success',
      message: 'Event processed',
      dedup_key: JSON.parse(r.body).dedup_key,
    }),
  });

  it('trigger with payload and links, acknowledge and resolve on the same dedup key; per-service routing key', async () => {
    const pd = await receiver(accepted);
    const pagerduty = notifier('pagerduty', {
      pagerduty: { url: `${pd.url}/v2/enqueue`, routingKeys: { payments: 'R-PAY', default: 'R-DEFAULT' } },
    });
    const open = { ...INCIDENT, status: 'remediating' as const };
    const trigger = await pagerduty.send('payments', note({ kind: 'escalation', incident: open }), {
      signal: signal(),
    });
    await pagerduty.send('payments', note({ kind: 'acknowledged', incident: open }), { signal: signal() });
    await pagerduty.send('other', note({ kind: 'resolved', incident: { ...open, status: 'resolved' } }), {
      signal: signal(),
    });
    expect(trigger).toEqual({ summary: 'trigger sent for payments', externalId: 'inc-1' });
    expect(pd.received.map((r) => r.path)).toEqual(['/v2/enqueue', '/v2/enqueue', '/v2/enqueue']);
    const [t, a, r] = pd.json();
    expect(t).toEqual({
      routing_key: 'R-PAY',
      event_action: 'trigger',
      dedup_key: 'inc-1',
      payload: {
        summary: 'P1 payment: Payment service slow (PaymentSlow): Approval needed for "Scale DB pool".',
        source: 'payment',
        severity: 'critical',
        timestamp: INCIDENT.createdAt,
        component: 'payment',
        group: 'payment-slow',
        class: 'PaymentSlow',
        custom_details: {
          kind: 'escalation',
          incident: 'inc-1',
          runbook: 'Payment service slow',
          status: 'remediating',
          overall: 'critical',
          verdicts: {
            db_connections: 'critical (value > 90 || count > 3)',
            error_logs: 'error: loki timed out after 30 s',
          },
          decision: ['Pool exhausted → scale_db_pool'],
          plan: ['Scale DB pool: approval, succeeded'],
          text: 'Approval needed for "Scale DB pool".',
        },
      },
      client: 'Fireline',
      client_url: 'http://fireline.test/incidents/inc-1',
      links: [{ href: 'http://fireline.test/incidents/inc-1', text: 'Incident in Fireline' }],
    });
    expect(a).toEqual({ routing_key: 'R-PAY', event_action: 'acknowledge', dedup_key: 'inc-1' });
    expect(r).toEqual({ routing_key: 'R-DEFAULT', event_action: 'resolve', dedup_key: 'inc-1' });
  });

  it.each([
    ['P1', 'critical'],
    ['P2', 'error'],
    ['P3', 'warning'],
    ['P4', 'info'],
  ] as const)('severity %s → %s', async (severity, expected) => {
    const pd = await receiver(accepted);
    const pagerduty = notifier('pagerduty', { pagerduty: { url: pd.url, routingKeys: { default: 'R' } } });
    await pagerduty.send(
      'x',
      note({ kind: 'opened', severity, incident: { ...INCIDENT, status: 'diagnosing', severity } }),
      {
        signal: signal(),
      },
    );
    expect(pd.json<{ payload?: { severity?: string } }>()[0]?.payload?.severity).toBe(expected);
  });

  it('sends no trigger for a resolved incident (it would open a new one); names the missing key; 400 is final', async () => {
    const pd = await receiver(() => ({ status: 400, body: '{"status":"invalid event","errors":["bad"]}' }));
    const pagerduty = notifier('pagerduty', { pagerduty: { url: pd.url, routingKeys: { default: 'R' } } });
    const skipped = await pagerduty.send('x', note({ kind: 'update', incident: INCIDENT }), {
      signal: signal(),
    });
    expect(skipped.skipped).toMatch(/resolved/);
    expect(pd.received).toHaveLength(0);
    const refused = await failure(pagerduty.send('x', note({ kind: 'resolved' }), { signal: signal() }));
    expect({ message: refused.message, retryable: refused.retryable }).toEqual({
      message: 'pagerduty: HTTP 400: {"status":"invalid event","errors":["bad"]}',
      retryable: false,
    });
    const none = await failure(notifier('pagerduty', {}).send('payments', note(), { signal: signal() }));
    expect(none.message).toBe(
      "pagerduty: no PagerDuty routing key for service 'payments': set connections.pagerduty.routingKeys.payments or a default (PAGERDUTY_ROUTING_KEY)",
    );
  });
});

describe('webhook notifier', () => {
  it('POSTs the notification with the incident, signed so that the receiver can verify it', async () => {
    const hook = await receiver(() => ({ status: 204 }));
    const plain = await receiver(() => ({ status: 200 }));
    const webhook = notifier('webhook', {
      webhooks: { statuspage: { url: hook.url, secret: 'hook-secret' }, plain: { url: plain.url } },
    });
    const before = Math.floor(Date.now() / 1000);
    const outcome = await webhook.send('statuspage', note(), { signal: signal() });
    expect(outcome.summary).toBe('statuspage answered 204 (signed)');
    const [got] = hook.received;
    if (!got) throw new Error('the receiver got nothing');
    // What a receiver does: HMAC-SHA256 over the raw bytes, constant-time compare.
    const expected = `sha256=${createHmac('sha256', 'hook-secret').update(got.body).digest('hex')}`;
    const header = String(got.headers['x-fireline-signature']);
    expect(header).toBe(expected);
    expect(timingSafeEqual(Buffer.from(header), Buffer.from(expected))).toBe(true);
    const body = JSON.parse(got.body) as Record<string, unknown>;
    expect(Number(got.headers['x-fireline-timestamp'])).toBe(body.sentAt);
    expect(body.sentAt).toBeGreaterThanOrEqual(before);
    expect(body).toMatchObject({
      kind: 'approval_needed',
      incidentId: 'inc-1',
      title: note().title,
      text: note().text,
      severity: 'P1',
      link: 'http://fireline.test/incidents/inc-1',
      incident: JSON.parse(JSON.stringify(awaiting)),
    });
    // A tampered body no longer matches.
    const tampered = got.body.replace('inc-1', 'inc-2');
    expect(createHmac('sha256', 'hook-secret').update(tampered).digest('hex')).not.toBe(header.slice(7));

    await webhook.send('plain', note(), { signal: signal() });
    expect(plain.received[0]?.headers['x-fireline-signature']).toBeUndefined();
    const none = await failure(webhook.send('nope', note(), { signal: signal() }));
    expect(none.message).toBe(
      "webhook: no webhook named 'nope': set connections.webhooks.nope.url (and .secret to sign)",
    );
  });
});
