import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import { eventTypes, LATENCY, type Stack, startStack } from '../helpers/alert-stack.ts';

/**
 * Redis down at ingest. Fireline must answer 503 (never 2xx for an alert it did not store, never
 * 4xx, which Alertmanager would not retry); a real Alertmanager then retries the failed webhook
 * with exponential backoff from 0.5 s for max(group_interval, 10 s) — group_interval is 30 s here,
 * so the retries span the outage — and the alert becomes one incident once Redis is back.
 *
 * Fireline runs on a private redis-server (append-only, fsync always, its own data directory) so
 * that it can be stopped and started again on the same port with its data.
 */

const WEBHOOK = { integration: 'webhook' };
/** Each test fails by itself past this; every wait inside it is bounded too. */
const TEST_TIMEOUT_MS = 90_000;

function waitFor<T>(read: () => Promise<T>, timeout = 30_000): Promise<T> {
  return vi.waitFor(read, { timeout, interval: 200 });
}

describe('Redis down while Alertmanager delivers an alert', () => {
  let stack: Stack | undefined;
  let redis: PrivateRedis | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await stack?.stop();
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    stack = redis = dataDir = undefined;
  });

  it(
    "answers 503, then Alertmanager's retry delivers the alert once Redis is back: one incident, diagnosed",
    async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'fireline-chaos-am-redis-'));
      // Later arguments win over startRedis' own `--appendonly no` and `--dir`.
      const persistent = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir];
      redis = await startRedis(persistent);
      const { port } = redis;
      stack = await startStack({
        redisUrl: redis.url,
        dbPercent: 95,
        alertmanager: { groupWait: '1s', groupInterval: '30s', repeatInterval: '1h' },
      });
      const s = stack;
      const pod = 'payment-service-0';
      s.exporter.set(LATENCY, { namespace: 'production', pod }, 0.3);

      await redis.stop();
      await waitFor(async () => {
        const ready = await fetch(`${s.fireline.url}/readyz`);
        if (ready.status !== 503) throw new Error(`/readyz answered ${ready.status} with Redis stopped`);
      });

      s.exporter.set(LATENCY, { namespace: 'production', pod }, 3.5);
      // Alertmanager's attempts (one request each) fail on Fireline's 503 and it keeps retrying.
      await waitFor(async () => {
        const failed = await s.alertmanager.metric(
          'alertmanager_notification_requests_failed_total',
          WEBHOOK,
        );
        if (failed < 3)
          throw new Error(
            `${failed} failed webhook requests so far; Alertmanager log:\n${s.alertmanager.log().slice(-3000)}`,
          );
      });
      expect(s.alertmanager.log()).toMatch(/unexpected status code 503: .*Redis is not available/);
      expect(s.alertmanager.log()).not.toMatch(/unexpected status code 4\d\d/);
      const requestsWhileDown = await s.alertmanager.metric(
        'alertmanager_notification_requests_total',
        WEBHOOK,
      );
      const failedWhileDown = await s.alertmanager.metric(
        'alertmanager_notification_requests_failed_total',
        WEBHOOK,
      );
      expect(requestsWhileDown, 'every request so far failed').toBe(failedWhileDown);

      redis = await startRedis(persistent, { port });
      const outageEndedAt = Date.now();
      const id = await waitFor(async () => {
        const list = await s.fireline.api.incidents();
        const decided = list.find((i) => i.decision);
        if (!decided)
          throw new Error(`no diagnosed incident yet: ${JSON.stringify(list.map((i) => i.status))}`);
        return decided.id;
      });
      console.info(
        `${failedWhileDown} webhook requests answered 503 while Redis was down; the alert was diagnosed ${Date.now() - outageEndedAt} ms after Redis came back`,
      );

      const requests = await s.alertmanager.metric('alertmanager_notification_requests_total', WEBHOOK);
      const failed = await s.alertmanager.metric('alertmanager_notification_requests_failed_total', WEBHOOK);
      expect(requests - failed, 'webhook requests that succeeded').toBeGreaterThanOrEqual(1);
      // The retries of the one notification succeeded in time: Alertmanager never gave it up.
      expect(await s.alertmanager.metric('alertmanager_notifications_failed_total', WEBHOOK)).toBe(0);
      expect(await s.fireline.api.incidents()).toHaveLength(1);
      const { incident } = await s.fireline.api.detail(id);
      expect(incident.alert.labels).toMatchObject({ alertname: 'PaymentServiceHighLatency', pod });
      expect(incident.verdicts.check_db_connections?.status).toBe('critical');
      const events = await s.fireline.api.timeline(id);
      expect(eventTypes(events).filter((t) => t === 'incident.opened')).toHaveLength(1);
      expect(eventTypes(events).filter((t) => t === 'decision.made')).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );
});
