import { AdapterError } from '../../errors.ts';
import type { Connections } from '../connections.ts';
import type { Notification, Notifier, NotifierContext, NotifyOutcome } from '../types.ts';
import { HttpStatusError, postJson } from './http.ts';
import { slackMessage } from './slack-blocks.ts';

/**
 * Slack through incoming webhooks: one webhook per channel (`connections.slack.webhooks`, keyed
 * `#channel`, `default` for the rest). Slack answers 200 with the body `ok`; 400
 * `invalid_payload`, 403, 404 `channel_not_found`, 410 `channel_is_archived` will not get better;
 * 429 carries Retry-After (seconds).
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
      // Incoming webhooks answer 200 "ok"; anything else in a 2xx is not a posted message.
      if (res.body.trim() !== 'ok')
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
