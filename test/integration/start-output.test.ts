import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { type FirelineProcess, spawnFireline } from '../../scripts/harness/fireline-process.ts';
import { freePort, type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import { QUEUES } from '../../src/queues/catalog.ts';
import { until } from '../helpers/poll.ts';

/** A runbook whose metric_threshold trigger polls every second, on a machine without Prometheus. */
const runbook = (id: string) => `id: ${id}
name: ${id} watched by a threshold
severity: P3
service: ${id}
triggers:
  - type: alert
    alertName: ${id}-alert
  - type: metric_threshold
    metricQuery: up{job="${id}"}
    threshold: 1
    comparison: "<"
    intervalSeconds: 1
diagnostics:
  - id: always_fine
    name: Always fine
    type: shell_command
    config: { command: ["true"] }
    interpret: { healthy: "exit_code == 0", critical: "exit_code != 0" }
decisionTree:
  - otherwise: true
    then: [look]
remediations:
  - id: look
    name: Look around
    type: manual
    instructions: Look around.
escalation:
  primary: "#oncall"
`;

describe('npm start on a terminal with nothing configured (FIRELINE_LOG_FORMAT=pretty)', () => {
  const procs: FirelineProcess[] = [];
  let redis: PrivateRedis | undefined;
  afterEach(async () => {
    for (const p of procs.splice(0))
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    await redis?.stop();
  });

  it('prints readable lines, says the gap once while polls keep failing, and tells the incident', async () => {
    redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'fireline-start-output-'));
    for (const id of ['alpha', 'beta']) writeFileSync(join(dir, `${id}.yaml`), runbook(id));
    const port = await freePort();
    const prefix = `out${port}`;
    const p = spawnFireline(['start'], {
      FIRELINE_LOG_FORMAT: 'pretty',
      REDIS_URL: redis.url,
      PORT: String(port),
      FIRELINE_PREFIX: prefix,
      FIRELINE_RUNBOOKS: dir,
      FIRELINE_CONFIG: join(dir, 'no-fireline.yaml'),
      PROMETHEUS_URL: '',
      LOKI_URL: '',
      DATABASE_URL: '',
      SLACK_WEBHOOK_URL: '',
      PAGERDUTY_ROUTING_KEY: '',
      KUBECONFIG: '',
      NO_COLOR: '1',
    });
    procs.push(p);
    await p.waitForLine(/^Stop with Ctrl-C\.$/, 30_000);

    // Let both triggers poll (and fail) several times: the gap must still be said once.
    const queue = new Queue(QUEUES.triggers, { connection: { url: redis.url }, prefix });
    try {
      await until(
        'six finished threshold polls',
        async () => (await queue.getJobs(['completed'])).filter((j) => j.name === 'threshold').length,
        (n) => n >= 6,
        20_000,
      );
    } finally {
      await queue.close();
    }
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/alerts/alertmanager`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        version: '4',
        status: 'firing',
        receiver: 'fireline',
        groupKey: 'g',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'alpha-alert' },
            annotations: {},
            startsAt: new Date().toISOString(),
          },
        ],
      }),
    });
    expect(res.status).toBe(202);
    await p.waitForLine(/INFO {2}inc-\S+ {2}decision\.made {2}/, 20_000);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);

    const out = p.lines;
    const shown = `output was:\n${out.join('\n')}`;
    expect(
      out.filter((l) => l.trimStart().startsWith('{')),
      shown,
    ).toEqual([]);
    expect(
      out.filter((l) => /^\s+at /.test(l)),
      shown,
    ).toEqual([]);
    const gap = out.filter((l) => l.includes('prometheus is not configured (set PROMETHEUS_URL)'));
    expect(gap, shown).toHaveLength(1);
    expect(gap[0]).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}metric_threshold poll failed: prometheus: prometheus is not configured/,
    );
    expect(out, shown).toContain(
      'No connections configured: no Prometheus, Loki, databases, Kubernetes, Slack, PagerDuty or',
    );
    expect(out.some((l) => l.includes('npx fireline doctor'))).toBe(true);
    expect(out.some((l) => l.includes('npm run demo'))).toBe(true);
    expect(
      out.some((l) =>
        /^\d\d:\d\d:\d\d INFO {2}inc-\S+ {2}incident\.opened {2}Runbook "alpha watched by a threshold"/.test(
          l,
        ),
      ),
      shown,
    ).toBe(true);
    // Every log line is one line of `HH:MM:SS LEVEL message`; the rest is the banner and npm's header.
    for (const line of out.filter((l) => /^\d\d:\d\d:\d\d /.test(l)))
      expect(line).toMatch(/^\d\d:\d\d:\d\d (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/);
  });
});
