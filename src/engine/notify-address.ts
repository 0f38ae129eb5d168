import { AdapterError } from '../errors.ts';

/** A runbook's notification address split into the notifier's channel and its target. */
export interface NotifyAddress {
  channel: string;
  target: string;
}

const KIND_TARGET = /^([a-z][a-z0-9_-]*):(.+)$/;

/** Whether `address` is one `parseNotifyAddress` reads: `#channel` or `kind:target`. */
export function isNotifyAddress(address: string): boolean {
  return (address.startsWith('#') && address.length > 1) || KIND_TARGET.test(address);
}

/**
 * Reads an escalation or `notify` address: `#ops` is Slack, `kind:target` names the channel kind
 * (`pagerduty:payments`, `webhook:statuspage`, `slack:#ops`).
 *
 * @throws AdapterError (not retryable) for an address of neither form.
 */
export function parseNotifyAddress(address: string): NotifyAddress {
  if (address.startsWith('#') && address.length > 1) return { channel: 'slack', target: address };
  const match = KIND_TARGET.exec(address);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new AdapterError('notify', `cannot read address '${address}': expected #channel or kind:target`, {
      retryable: false,
    });
  return { channel: match[1], target: match[2] };
}
