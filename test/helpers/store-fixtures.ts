import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Incident, TimelineEvent } from '../../src/engine/types.ts';

/** An incident as the coordinator would open it; `overrides` replace any field. */
export function makeIncident(overrides: Partial<Incident> = {}): Incident {
  const createdAt = overrides.createdAt ?? '2024-05-01T03:00:00.000Z';
  return {
    id: `inc-${randomUUID()}`,
    key: `payment-slow:${randomUUID()}`,
    runbookId: 'payment-slow',
    runbookName: 'Payment service slow',
    service: 'payment',
    severity: 'P2',
    status: 'triggered',
    acknowledged: false,
    escalated: false,
    dryRun: false,
    createdAt,
    updatedAt: createdAt,
    alert: {
      source: 'alertmanager',
      status: 'firing',
      labels: { alertname: 'PaymentSlow', namespace: 'prod' },
      annotations: {},
      fingerprint: 'f1',
      startsAt: createdAt,
    },
    verdicts: {},
    plan: [],
    ...overrides,
  };
}

/** Opens ioredis clients on `url` and closes every one of them in `closeAll` (for afterEach). */
export function redisClients(url: string) {
  const open = new Set<Redis>();
  return {
    create(): Redis {
      const client = new Redis(url, { maxRetriesPerRequest: null });
      open.add(client);
      return client;
    },
    async closeAll(): Promise<void> {
      const clients = [...open];
      open.clear();
      await Promise.all(clients.map((c) => (c.status === 'end' ? undefined : c.quit())));
    },
  };
}

/**
 * Collects followed events and waits, on the events themselves, until a condition holds; on the
 * deadline it fails naming what it expected and what it saw.
 */
export class EventCollector {
  readonly events: { event: TimelineEvent; cursor: string }[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  readonly onEvent = (event: TimelineEvent, cursor: string): void => {
    this.events.push({ event, cursor });
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  };

  get cursors(): string[] {
    return this.events.map((e) => e.cursor);
  }

  /** Resolves once at least `count` events arrived. */
  waitForCount(count: number, deadlineMs = 10_000): Promise<void> {
    return this.waitFor(() => this.events.length >= count, `${count} events`, deadlineMs);
  }

  waitFor(check: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const last = this.cursors.slice(-3).join(', ');
        reject(new Error(`expected ${what}, saw ${this.events.length} events (last: ${last})`));
      }, deadlineMs);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}
