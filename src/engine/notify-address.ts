import { AdapterError } from '../errors.ts';

/** A runbook's notification address split into the notifier's channel and its target. */
export interface NotifyAddress {
  channel: string;
  target: string;
}

/**
 * Reads an escalation or `notify` address: `#ops` is Slack, `kind:target` names the channel kind
 * (`pagerduty:payments`, `webhook:statuspage`, `slack:#ops`).
 *
 * @throws AdapterError (not retryable) for an address of neither form.
 */
export function parseNotifyAddress(address: string): NotifyAddress {
  if (address.startsWith('#') && address.length > 1) return { channel: 'slack', target: address };
  const match = /^([a-z][a-z0-9_-]*):(.+)$/.exec(address);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new AdapterError('notify', `cannot read address '${address}': expected #channel or kind:target`, {
      retryable: false,
    });
  return { channel: match[1], target: match[2] };
}
