import { AdapterError } from '../../errors.ts';
import type { Connections } from '../connections.ts';
import type { Notification, Notifier, NotifierContext, NotifyOutcome } from '../types.ts';
import { HttpStatusError, postJson } from './http.ts';
import { slackMessage } from './slack-blocks.ts';

/**
 * Slack through incoming webhooks: one webhook per channel (`connections.slack.webhooks`, keyed
 * `#channel`, `default` for the rest), or any Slack-compatible receiver (Mattermost, Rocket.Chat, a
 * proxy). Slack answers 200 with the body `ok`; 400 `invalid_payload`, 403, 404 `channel_not_found`,
 * 410 `channel_is_archived` will not get better; 429 carries Retry-After (seconds).
 */
export function createSlackNotifier(config: Connections['slack']): Notifier {
  const interactive = Boolean(config.signingSecret);
  return {
    channel: 'slack',
    async send(target: string, notification: Notification, ctx: NotifierContext): Promise<NotifyOutcome> {
      const url = webhookFor(config.webhooks, target);
      if (!url)
        throw new AdapterError(
          'slack',
          `no Slack webhook for ${target}: set connections.slack.webhooks['${target}'] or a default (SLACK_WEBHOOK_URL)`,
          { retryable: false },
        );
      const message = slackMessage(notification, { interactive });
      const res = await postJson('slack', url, JSON.stringify(message), { signal: ctx.signal });
      // Any 2xx is delivered (Mattermost, Rocket.Chat and proxies answer JSON or nothing), unless
      // its body is one of Slack's own refusals, which some proxies pass on with a 200.
      if (isSlackRefusal(res.body))
        throw new HttpStatusError('slack', res.status, res.body, { retryable: false });
      return { summary: `posted to ${target} (${message.blocks.length} blocks)` };
    },
  };
}

/** `#ops` finds `#ops` or `ops`, else `default`. */
function webhookFor(webhooks: Record<string, string>, target: string): string | undefined {
  const bare = target.replace(/^#/, '');
  return webhooks[target] ?? webhooks[bare] ?? webhooks[`#${bare}`] ?? webhooks.default;
}

/**
 * The error codes Slack's incoming webhooks answer with (Slack's "Handling errors" list for
 * incoming webhooks). Slack sends them with a 4xx, but a proxy may pass one on with a 200.
 */
const SLACK_ERRORS = new Set([
  'invalid_payload',
  'user_not_found',
  'channel_not_found',
  'channel_is_archived',
  'action_prohibited',
  'posting_to_general_channel_denied',
  'too_many_attachments',
  'no_service',
  'no_service_id',
  'no_team',
  'team_disabled',
  'invalid_token',
  'no_text',
  'missing_text_or_fallback_or_attachments',
  'invalid_attachments',
  'invalid_blocks',
  'invalid_blocks_format',
  'rate_limited',
]);

/** A 2xx body that is a refusal: one of Slack's error codes, or a JSON object saying `"ok": false`. */
function isSlackRefusal(body: string): boolean {
  const text = body.trim();
  return SLACK_ERRORS.has(text) || /^\{[\s\S]*"ok"\s*:\s*false\b/.test(text);
}
