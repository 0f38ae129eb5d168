import { createHmac } from 'node:crypto';
import { AdapterError } from '../../errors.ts';
import type { Connections } from '../connections.ts';
import type { Notification, Notifier, NotifierContext, NotifyOutcome } from '../types.ts';
import { postJson } from './http.ts';

/**
 * Generic webhooks (`webhook:<name>` → `connections.webhooks[name]`). The body is JSON:
 * `{kind, incidentId, title, text, severity, link, incident, sentAt}`. With a secret configured,
 * `X-Fireline-Signature: sha256=<hex HMAC-SHA256(secret, raw body bytes)>` and
 * `X-Fireline-Timestamp: <unix seconds>` (equal to the body's `sentAt`) are sent: a receiver
 * recomputes the HMAC over the exact bytes it got, compares in constant time, and refuses a
 * timestamp far from its clock or different from `sentAt` (the signature covers `sentAt`, so
 * an old body cannot be replayed under a new timestamp).
 */

/** The header names, for receivers and tests. */
export const WEBHOOK_HEADERS = {
  signature: 'X-Fireline-Signature',
  timestamp: 'X-Fireline-Timestamp',
} as const;

/** `sha256=<hex>` over the raw body. */
export function webhookSignature(secret: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export interface WebhookNotifierOptions {
  /** Clock for the timestamp. Default `Date.now`. */
  now?: () => number;
}

export function createWebhookNotifier(
  config: Connections['webhooks'],
  options: WebhookNotifierOptions = {},
): Notifier {
  const now = options.now ?? Date.now;
  return {
    channel: 'webhook',
    async send(target: string, n: Notification, ctx: NotifierContext): Promise<NotifyOutcome> {
      const hook = config[target];
      if (!hook)
        throw new AdapterError(
          'webhook',
          `no webhook named '${target}': set connections.webhooks.${target}.url (and .secret to sign)`,
          { retryable: false },
        );
      const sentAt = Math.floor(now() / 1000);
      const body = JSON.stringify({
        kind: n.kind,
        incidentId: n.incidentId,
        title: n.title,
        text: n.text,
        severity: n.severity ?? null,
        link: n.link ?? null,
        incident: n.incident ?? null,
        sentAt,
      });
      const headers: Record<string, string> = { 'user-agent': 'fireline-webhook' };
      if (hook.secret) {
        headers[WEBHOOK_HEADERS.signature] = webhookSignature(hook.secret, body);
        headers[WEBHOOK_HEADERS.timestamp] = String(sentAt);
      }
      const res = await postJson(`webhook ${target}`, hook.url, body, { headers, signal: ctx.signal });
      return { summary: `${target} answered ${res.status}${hook.secret ? ' (signed)' : ''}` };
    },
  };
}
