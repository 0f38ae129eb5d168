import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { eventTypes, LATENCY, type Stack, startStack } from '../helpers/alert-stack.ts';

/**
 * The whole chain on real processes, as a user runs it: an exporter the test sets → a real
 * Prometheus evaluating the alert rule every second → a real Alertmanager (1 s group_wait and
 * group_interval) → `fireline start` as its own process → prometheus_query diagnostics on that
 * same Prometheus → verdicts → decision → dry-run remediation → the Slack stand-in. Then the
 * metric recovers and Alertmanager's `resolved` resolves the incident.
 */

const redisUrl = inject('redisUrl');

/** Each test fails by itself past this; every wait inside it is bounded too. */
const TEST_TIMEOUT_MS = 90_000;
const PRODUCTION = { namespace: 'production' };

/** Polls `read` every 200 ms until it returns (throw to keep waiting); the last error names what was seen. */
function waitFor<T>(read: () => Promise<T>, timeout = 45_000): Promise<T> {
  return vi.waitFor(read, { timeout, interval: 200 });
}

function count(events: TimelineEvent[], type: string): number {
  return events.filter((e) => e.type === type).length;
}

/** The Slack posts' fallback texts (`Incident opened: …`, `Diagnosed: …`). */
function slackTexts(stack: Stack): string[] {
  return stack.slack.json<{ text: string }>().map((m) => m.text);
}

describe('Prometheus → Alertmanager → Fireline → Slack, real processes', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it(
    'fires, diagnoses on the real Prometheus, dry-runs the fix, tells Slack; resolved by Alertmanager, escalation cancelled',
    async () => {
      stack = await startStack({ redisUrl, dbPercent: 95 });
      const s = stack;
      const pod = 'payment-service-0';
      s.exporter.set(LATENCY, { ...PRODUCTION, pod }, 0.3);
      const firedAt = Date.now();
      s.exporter.set(LATENCY, { ...PRODUCTION, pod }, 3.5);

      const id = await waitFor(async () => {
        const list = await s.fireline.api.incidents();
        if (list.length === 0) throw new Error('no incident yet');
        return list[0]!.id;
      });
      const decided = await waitFor(async () => {
        const d = await s.fireline.api.detail(id);
        const fix = d.incident.plan.find((p) => p.stepId === 'kill_idle_connections');
        if (fix?.state !== 'dry_run')
          throw new Error(`fix not dry-run yet: ${JSON.stringify(d.incident.plan)}`);
        return d;
      });
      const { incident } = decided;
      expect(incident.alert).toMatchObject({
        source: 'alertmanager',
        status: 'firing',
        labels: { alertname: 'PaymentServiceHighLatency', pod, severity: 'page', ...PRODUCTION },
      });
      expect(incident.dryRun).toBe(true);
      // Each verdict read the real Prometheus: the values the exporter serves.
      const verdicts = Object.fromEntries(
        Object.values(incident.verdicts).map((v) => [v.stepId, [v.status, v.facts.value]]),
      );
      expect(verdicts).toEqual({
        check_latency: ['critical', 3.5],
        check_db_connections: ['critical', 95],
        check_pod_health: ['healthy', 100],
      });
      expect(incident.decision?.remediations).toEqual(['kill_idle_connections', 'scale_db_connections']);
      expect(incident.plan.map((p) => [p.stepId, p.kind, p.state])).toEqual([
        ['kill_idle_connections', 'automated', 'dry_run'],
        ['scale_db_connections', 'manual', 'pending'],
      ]);
      expect(incident.plan[0]?.detail).toMatch(/^dry run: would run sql on database 'payments'/);
      expect(decided.escalation.dueAt, 'escalation pending while the alert fires').not.toBeNull();

      await waitFor(async () => {
        const texts = slackTexts(s);
        if (!texts.some((t) => t.startsWith('Diagnosed')))
          throw new Error(`Slack got ${JSON.stringify(texts)}`);
      });
      expect(slackTexts(s)[0]).toMatch(/^Incident opened/);
      for (const post of s.slack.received) {
        expect(post.headers['content-type']).toMatch(/^application\/json/);
        expect(post.body).toContain(id);
      }

      const opened = await s.fireline.api.timeline(id);
      const decisionAt = Date.parse(opened.find((e) => e.type === 'decision.made')!.at);
      const createdAt = Date.parse(incident.createdAt);
      console.info(
        `alert → decision: ${decisionAt - firedAt} ms from the metric crossing (Prometheus scrape + rule + ` +
          `Alertmanager group_wait: ${createdAt - firedAt} ms; Fireline intake → decision: ${decisionAt - createdAt} ms)`,
      );
      expect(decisionAt - firedAt, 'metric crossing → decision (ms)').toBeLessThan(45_000);

      s.exporter.set(LATENCY, { ...PRODUCTION, pod }, 0.3);
      const resolved = await waitFor(async () => {
        const d = await s.fireline.api.detail(id);
        if (d.incident.status !== 'resolved') throw new Error(`status ${d.incident.status}`);
        return d;
      });
      expect(resolved.escalation.dueAt, 'escalation after resolve').toBeNull();
      const events = await s.fireline.api.timeline(id);
      const types = eventTypes(events);
      const resolvedEvent = events.find((e) => e.type === 'alert.resolved');
      expect(resolvedEvent?.actor).toBe('alert:alertmanager');
      expect(types.indexOf('alert.resolved')).toBeLessThan(types.indexOf('incident.resolved'));
      expect(count(events, 'escalation.cancelled'), types.join(', ')).toBe(1);
      expect(count(events, 'escalation.fired'), types.join(', ')).toBe(0);
      expect(count(events, 'notification.failed'), types.join(', ')).toBe(0);
      expect(events.find((e) => e.type === 'incident.resolved')?.message).toMatch(/autoResolve/);

      await waitFor(async () => {
        const texts = slackTexts(s);
        if (!texts.some((t) => t.startsWith('Resolved')))
          throw new Error(`Slack got ${JSON.stringify(texts)}`);
      });
      expect(await s.fireline.api.incidents()).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "Alertmanager's repeats and a second pod of the group attach to the one incident; a hostile pod label reaches PromQL escaped",
    async () => {
      // group_interval 1s, repeat_interval 2s: the unchanged firing group is posted again every ~2 s.
      stack = await startStack({ redisUrl, dbPercent: 95, alertmanager: { repeatInterval: '2s' } });
      const s = stack;
      const marker = `/tmp/x-${randomUUID()}`;
      const hostile = `payment-"} or vector(1) $(touch ${marker})\n'; DROP TABLE incidents; --`;
      s.exporter.set(LATENCY, { ...PRODUCTION, pod: hostile }, 3.5);

      const id = await waitFor(async () => {
        const list = await s.fireline.api.incidents();
        const decided = list.find((i) => i.decision);
        if (!decided)
          throw new Error(`no decided incident yet: ${JSON.stringify(list.map((i) => i.status))}`);
        return decided.id;
      });
      const { incident } = await s.fireline.api.detail(id);
      expect(incident.alert.labels.pod).toBe(hostile);
      // The label went into the query as a Go string literal: Prometheus matched the one series
      // (3.5), where an injected `or vector(1)` would have answered 1 or two series.
      const escaped = `payment-\\"} or vector(1) $(touch ${marker})\\n'; DROP TABLE incidents; --`;
      const query = `max(${LATENCY}{namespace="production", pod="${escaped}"})`;
      expect(s.prometheus.loggedQueries()).toContain(query);
      expect(incident.verdicts.check_latency?.facts).toMatchObject({ value: 3.5, count: 1 });
      expect(existsSync(marker), `${marker} created`).toBe(false);

      const webhook = { integration: 'webhook' };
      const sentAtDecision = await s.alertmanager.metric('alertmanager_notifications_total', webhook);
      await waitFor(async () => {
        const sent = await s.alertmanager.metric('alertmanager_notifications_total', webhook);
        if (sent < sentAtDecision + 3)
          throw new Error(`Alertmanager sent ${sent} (${sentAtDecision} at decision)`);
      });

      // A second pod of the same group (alertname, namespace): a new fingerprint, the same incident.
      s.exporter.set(LATENCY, { ...PRODUCTION, pod: 'payment-service-1' }, 3.2);
      const events = await waitFor(async () => {
        const timeline = await s.fireline.api.timeline(id);
        const fingerprints = timeline
          .filter((e) => e.type === 'alert.refired')
          .map((e) => e.data?.fingerprint);
        if (!fingerprints.some((f) => f !== incident.alert.fingerprint))
          throw new Error(`refired fingerprints: ${fingerprints.join(', ')}`);
        return timeline;
      });
      // Alertmanager's repeats of the first pod's firing are not news: only the new pod is.
      const refired = events.filter((e) => e.type === 'alert.refired').map((e) => e.data?.fingerprint);
      expect(refired, 'refired fingerprints').not.toContain(incident.alert.fingerprint);

      const incidents = await s.fireline.api.incidents();
      expect(incidents.map((i) => i.id)).toEqual([id]);
      const types = eventTypes(events).join(', ');
      expect(count(events, 'incident.opened'), types).toBe(1);
      expect(count(events, 'decision.made'), types).toBe(1);
      expect(count(events, 'escalation.scheduled'), types).toBe(1);
      expect(count(events, 'alert.refired'), types).toBe(1);
      expect(await s.alertmanager.metric('alertmanager_notification_requests_failed_total', webhook)).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
