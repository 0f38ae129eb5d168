import type { z } from 'zod';
import { NotifyConfigSchema } from '../../engine/action-types/notify.ts';
import { parseNotifyAddress } from '../../engine/notify-address.ts';
import { AdapterError } from '../../errors.ts';
import type { NotifierRegistry } from '../notifiers/registry.ts';
import type { ActionContext, ActionExecutor, ActionOutcome } from '../types.ts';

/** A `notify` action's config: `channel` (`#ops`, `pagerduty:payments`, `webhook:status`) and `message`. */
export type NotifyConfig = z.infer<typeof NotifyConfigSchema>;

/**
 * `notify`: a remediation step that tells people something (`"Rolled back, watching error rate"`).
 * It sends at once through the process's notifiers (the same Slack, PagerDuty and webhook
 * notifiers as the notifications queue), as an `update` about `ctx.incident` (so Slack shows its verdicts and PagerDuty its severity);
 * a message left out says that the step ran. A dry run sends nothing and says what it would send.
 * A channel kind without a notifier, or a send that fails, is an `AdapterError` (a 429 keeps its
 * `retryAfterMs`; the remediation worker retries it, the action being idempotent).
 */
export function createNotifyAction(notifiers: NotifierRegistry): ActionExecutor<NotifyConfig> {
  return {
    type: 'notify',
    configSchema: NotifyConfigSchema,
    async run(config: NotifyConfig, ctx: ActionContext): Promise<ActionOutcome> {
      const address = parseNotifyAddress(config.channel);
      const text = config.message ?? 'A runbook step asked to notify this channel.';
      const request = { channel: config.channel, message: text };
      const notifier = notifiers.get(address.channel);
      if (ctx.dryRun)
        return {
          dryRun: true,
          summary: `dry run: would notify ${config.channel}: ${firstLine(text)}${notifier ? '' : ` (no ${address.channel} notifier is configured)`}`,
          request,
        };
      if (!notifier)
        throw new AdapterError(
          'notify',
          `no ${address.channel} notifier is configured for ${config.channel}`,
          {
            retryable: false,
          },
        );
      const { incident } = ctx;
      if (incident === undefined)
        throw new AdapterError('notify', 'a notify action needs the incident it runs for', {
          retryable: false,
        });
      const sent = await notifier.send(
        address.target,
        {
          kind: 'update',
          incidentId: incident.id,
          title: `${incident.severity} ${incident.service}: ${incident.runbookName}`,
          text,
          severity: incident.severity,
          incident,
          runbookName: incident.runbookName,
        },
        { signal: ctx.signal },
      );
      return { dryRun: false, summary: `notified ${config.channel}: ${sent.summary}`, request };
    },
  };
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 120)}…` : line;
}
