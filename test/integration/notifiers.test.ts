import { describe, expect, it } from 'vitest';
import { HttpStatusError } from '../../src/adapters/notifiers/http.ts';
import type { SlackMessage } from '../../src/adapters/notifiers/slack-blocks.ts';
import { slackActionValue } from '../../src/engine/slack-actions.ts';
import { failure, note, notifier, receiver, SECRET_PATH, signal } from '../helpers/notifier-fixtures.ts';
import type { Reply } from '../helpers/receiver.ts';

/**
 * The Slack notifier, and through it the shared POST (status → AdapterError), against a local
 * HTTP server standing in for Slack. PagerDuty and webhook: notifiers-pagerduty-webhook.test.ts.
 */

describe('slack notifier', () => {
  it('POSTs Block Kit JSON to the channel webhook, else to default; buttons with a signing secret', async () => {
    const ops = await receiver();
    const other = await receiver();
    const slack = notifier('slack', {
      slack: { webhooks: { '#ops': `${ops.url}${SECRET_PATH}`, default: other.url }, signingSecret: 'shh' },
    });
    const outcome = await slack.send('#ops', note(), { signal: signal() });
    expect(outcome.summary).toMatch(/^posted to #ops \(\d+ blocks\)$/);
    expect(ops.received.map((r) => [r.method, r.path, r.headers['content-type']])).toEqual([
      ['POST', SECRET_PATH, 'application/json; charset=utf-8'],
    ]);
    const [message] = ops.json<SlackMessage>();
    expect(message?.text).toBe('Approval needed: P1 payment: Payment service slow (PaymentSlow)');
    expect(message?.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: 'P1 payment: Payment service slow' },
    });
    const actions = message?.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])) ?? [];
    expect(actions.map((a) => [a.action_id, a.value ?? a.url])).toEqual([
      ['approve', slackActionValue('inc-1', 'scale_db_pool')],
      ['reject', slackActionValue('inc-1', 'scale_db_pool')],
      ['open_incident', 'http://fireline.test/incidents/inc-1'],
    ]);
    // The pod label carries HTML-ish text: escaped, never a Slack control sequence.
    expect(ops.received[0]?.body).not.toMatch(/<img|<!|<@/);

    await slack.send('#elsewhere', note({ kind: 'resolved' }), { signal: signal() });
    expect(other.received).toHaveLength(1);
    expect(ops.received).toHaveLength(1);
  });

  it('says what to configure when no webhook fits, and refuses a 200 whose body is a Slack error', async () => {
    const none = await failure(notifier('slack', {}).send('#ops', note(), { signal: signal() }));
    expect({ message: none.message, retryable: none.retryable }).toEqual({
      message:
        "slack: no Slack webhook for #ops: set connections.slack.webhooks['#ops'] or a default (SLACK_WEBHOOK_URL)",
      retryable: false,
    });
    const odd = await receiver(() => ({ status: 200, body: 'no_text' }));
    const err = await failure(
      notifier('slack', { slack: { webhooks: { default: `${odd.url}${SECRET_PATH}` } } }).send(
        '#ops',
        note(),
        {
          signal: signal(),
        },
      ),
    );
    expect({ message: err.message, retryable: err.retryable }).toEqual({
      message: 'slack: HTTP 200: no_text',
      retryable: false,
    });
  });

  it.each<[string, Reply]>([
    ['Slack', { status: 200, body: 'ok' }],
    [
      'a proxy answering JSON',
      { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } },
    ],
    [
      'Rocket.Chat',
      { status: 200, body: '{"success":true}', headers: { 'content-type': 'application/json' } },
    ],
    ['an empty 200', { status: 200 }],
    ['a 204', { status: 204 }],
    ['a 202 with text', { status: 202, body: 'accepted' }],
  ])('a 2xx from %s is delivered', async (_name, reply) => {
    const r = await receiver(() => reply);
    const slack = notifier('slack', { slack: { webhooks: { default: `${r.url}${SECRET_PATH}` } } });
    const outcome = await slack.send('#ops', note(), { signal: signal() });
    expect(outcome.summary).toMatch(/^posted to #ops \(\d+ blocks\)$/);
    expect(r.received).toHaveLength(1);
  });

  it.each([
    'no_text',
    'invalid_payload',
    'channel_not_found',
    'channel_is_archived',
    'invalid_token',
    'no_service',
    'action_prohibited',
    'posting_to_general_channel_denied',
    'too_many_attachments',
    'user_not_found',
    '{"ok":false,"error":"channel_not_found"}',
  ])("a 200 whose body is Slack's error %s is not delivered, and not retried", async (body) => {
    const r = await receiver(() => ({ status: 200, body }));
    const err = await failure(
      notifier('slack', { slack: { webhooks: { default: `${r.url}${SECRET_PATH}` } } }).send('#ops', note(), {
        signal: signal(),
      }),
    );
    expect({ message: err.message, retryable: err.retryable }).toEqual({
      message: `slack: HTTP 200: ${body}`,
      retryable: false,
    });
  });

  it.each<[string, Reply, { retryable: boolean; message: string; retryAfterMs?: number }]>([
    [
      '404',
      { status: 404, body: 'channel_not_found' },
      { retryable: false, message: 'slack: HTTP 404: channel_not_found' },
    ],
    [
      '410',
      { status: 410, body: 'channel_is_archived' },
      { retryable: false, message: 'slack: HTTP 410: channel_is_archived' },
    ],
    [
      '400',
      { status: 400, body: 'invalid_payload' },
      { retryable: false, message: 'slack: HTTP 400: invalid_payload' },
    ],
    ['500', { status: 500, body: 'oops' }, { retryable: true, message: 'slack: HTTP 500: oops' }],
    ['503', { status: 503 }, { retryable: true, message: 'slack: HTTP 503' }],
    [
      '302',
      { status: 302, headers: { location: 'http://x/' } },
      { retryable: false, message: 'slack: HTTP 302: redirected; configure the final URL instead' },
    ],
    [
      '429 seconds',
      { status: 429, body: 'rate_limited', headers: { 'retry-after': '3' } },
      { retryable: true, retryAfterMs: 3000, message: 'slack: HTTP 429: rate_limited' },
    ],
    [
      '429 without Retry-After',
      { status: 429 },
      { retryable: true, retryAfterMs: 5000, message: 'slack: HTTP 429' },
    ],
  ])('%s → AdapterError as the worker needs it', async (_name, reply, expected) => {
    const r = await receiver(() => reply);
    const err = await failure(
      notifier('slack', { slack: { webhooks: { default: `${r.url}${SECRET_PATH}` } } }).send('#ops', note(), {
        signal: signal(),
      }),
    );
    expect(err).toBeInstanceOf(HttpStatusError);
    expect({ message: err.message, retryable: err.retryable, retryAfterMs: err.retryAfterMs }).toEqual({
      retryAfterMs: undefined,
      ...expected,
    });
    expect(r.received).toHaveLength(1);
  });

  it('429 with Retry-After as an HTTP date; network error and no answer in time are retryable', async () => {
    const at = new Date(Date.now() + 4000).toUTCString();
    const limited = await receiver(() => ({ status: 429, headers: { 'retry-after': at } }));
    const err = await failure(
      notifier('slack', { slack: { webhooks: { default: limited.url } } }).send('#ops', note(), {
        signal: signal(),
      }),
    );
    // The date has whole seconds, so the wait is 3–4 s from now.
    expect(err.retryAfterMs).toBeGreaterThan(2000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(4000);

    const gone = await receiver();
    const goneUrl = `${gone.url}${SECRET_PATH}`;
    await gone.close();
    const refused = await failure(
      notifier('slack', { slack: { webhooks: { default: goneUrl } } }).send('#ops', note(), {
        signal: signal(),
      }),
    );
    expect({ message: refused.message, retryable: refused.retryable }).toEqual({
      message: 'slack: could not reach the endpoint: ECONNREFUSED',
      retryable: true,
    });

    const silent = await receiver(() => 'hang');
    const late = await failure(
      notifier('slack', { slack: { webhooks: { default: silent.url } } }).send('#ops', note(), {
        signal: AbortSignal.timeout(200),
      }),
    );
    expect({ message: late.message, retryable: late.retryable }).toEqual({
      message: 'slack: no answer in time',
      retryable: true,
    });
  });
});
