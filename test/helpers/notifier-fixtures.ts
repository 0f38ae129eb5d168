import { afterEach, expect } from 'vitest';
import { type ConnectionsInput, ConnectionsSchema } from '../../src/adapters/connections.ts';
import { type Adapters, createAdapters } from '../../src/adapters/index.ts';
import type { Notification, Notifier } from '../../src/adapters/types.ts';
import type { Incident } from '../../src/engine/types.ts';
import { AdapterError } from '../../src/errors.ts';
import { INCIDENT } from '../fixtures/report-incident.ts';
import { type Receiver, startReceiver } from './receiver.ts';

/**
 * Shared by the notifier tests: receivers and adapters closed after each test (the module
 * registers the afterEach when imported from a test file), a notification about an incident
 * waiting for approval, and a helper that expects a rejection.
 */

/** A Slack-like webhook path: a secret that must never appear in an error or on the timeline. */
export const SECRET_PATH = '/services/T000/B000/XXXXSECRETTOKEN';
const receivers: Receiver[] = [];
let adapters: Adapters | undefined;
afterEach(async () => {
  await adapters?.close();
  adapters = undefined;
  for (const r of receivers.splice(0)) await r.close();
});

/** A receiver closed after the test. */
export async function receiver(reply?: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(reply);
  receivers.push(r);
  return r;
}

/** The notifier createAdapters registers for `channel`, from these connections. */
export function notifier(channel: string, connections: ConnectionsInput): Notifier {
  adapters = createAdapters(ConnectionsSchema.parse(connections));
  return adapters.notifiers.require(channel);
}

export const awaiting: Incident = {
  ...INCIDENT,
  status: 'awaiting_approval',
  plan: [{ stepId: 'scale_db_pool', name: 'Scale DB pool', kind: 'approval', state: 'awaiting_approval' }],
};

export const note = (over: Partial<Notification> = {}): Notification => ({
  kind: 'approval_needed',
  incidentId: awaiting.id,
  title: 'P1 payment: Payment service slow (PaymentSlow)',
  text: 'Approval needed for "Scale DB pool".',
  severity: 'P1',
  link: 'http://fireline.test/incidents/inc-1',
  incident: awaiting,
  runbookName: awaiting.runbookName,
  stepId: 'scale_db_pool',
  ...over,
});

export const signal = () => AbortSignal.timeout(5000);

/** Runs `send` and returns the AdapterError it rejected with (failing the test if it resolved). */
export async function failure(send: Promise<unknown>): Promise<AdapterError> {
  const err = await send.then(
    (v) => new Error(`expected a rejection, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  if (!(err instanceof AdapterError)) throw err;
  expect(err.message).not.toContain('SECRETTOKEN');
  return err;
}
