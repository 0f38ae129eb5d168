import { createRegistry, type Notifier, type Registry } from '../types.ts';

/**
 * Notifiers need their deployment's endpoints and keys, so none is built without connections:
 * createAdapters (src/adapters/index.ts) builds Slack, PagerDuty and webhook from them.
 */
export const defaultNotifiers: readonly Notifier[] = [];

/** The notifiers by channel kind. */
export type NotifierRegistry = Registry<string, Notifier>;

/** Builds the table of notifiers; entry points pass the ones their config enables. */
export function createNotifierRegistry(notifiers: readonly Notifier[] = defaultNotifiers): NotifierRegistry {
  return createRegistry('notification channel', notifiers, (n) => n.channel);
}
