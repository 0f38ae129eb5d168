import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terminate } from './child-process.ts';
import { freePort } from './redis-server.ts';

/**
 * A real Alertmanager (the Debian package's /usr/bin/prometheus-alertmanager) on a free loopback
 * port, no cluster, one route to one webhook receiver. Alertmanager 0.25 accepts 1 s intervals; it
 * retries a failed webhook (5xx or network error, never 4xx) with exponential backoff from 0.5 s
 * until max(group_interval, 10 s) has passed, then tries again at the next group_interval.
 */

export interface AlertmanagerOptions {
  /** Where the webhook posts (Fireline's `/api/v1/alerts/alertmanager`). */
  webhookUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  groupBy?: string[];
  /** Durations as Alertmanager reads them (`1s`, `30s`, `1h`). */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** The executable; the Debian package's by default. */
  binary?: string;
}

export interface PrivateAlertmanager {
  url: string;
  /** `127.0.0.1:<port>`, for Prometheus' `alerting.alertmanagers`. */
  target: string;
  /** The sum of a metric's samples whose labels include `labels`, from Alertmanager's /metrics. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** The end of Alertmanager's log (it logs each failed notification attempt). */
  log(): string;
  stop(): Promise<void>;
}

/** The Alertmanager configuration of one route to one webhook; the token is written, never logged. */
export function alertmanagerConfig(opts: AlertmanagerOptions): string {
  return [
    'route:',
    '  receiver: fireline',
    `  group_by: ${JSON.stringify(opts.groupBy ?? ['alertname', 'namespace'])}`,
    `  group_wait: ${opts.groupWait ?? '1s'}`,
    `  group_interval: ${opts.groupInterval ?? '1s'}`,
    `  repeat_interval: ${opts.repeatInterval ?? '1h'}`,
    'receivers:',
    '  - name: fireline',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(opts.webhookUrl)}`,
    '        send_resolved: true',
    ...(opts.bearerToken
      ? [
          '        http_config:',
          `          authorization: { credentials: ${JSON.stringify(opts.bearerToken)} }`,
        ]
      : []),
    '',
  ].join('\n');
}

/** Parses `name{a="b"} 1` lines of the text exposition format and sums the matching samples. */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}

/** Starts Alertmanager and resolves once it answers /-/ready. */
export async function startAlertmanager(opts: AlertmanagerOptions): Promise<PrivateAlertmanager> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fireline-alertmanager-'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(config, alertmanagerConfig(opts), { mode: 0o600 });
  const child: ChildProcess = spawn(
    opts.binary ?? '/usr/bin/prometheus-alertmanager',
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // An empty cluster address turns clustering (and its gossip port) off.
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  const am: PrivateAlertmanager = {
    url,
    target: `127.0.0.1:${port}`,
    async metric(name, labels = {}) {
      const res = await fetch(`${url}/metrics`);
      if (!res.ok) throw new Error(`alertmanager /metrics answered ${res.status}`);
      return sumSamples(await res.text(), name, labels);
    },
    log: () => stderr,
    stop() {
      stopping ??= (async () => {
        await terminate(child);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await am.stop();
      throw new Error(`alertmanager exited (${child.exitCode}):\n${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      // Not listening yet: connection refused.
      () => false,
    );
    if (ready) return am;
    if (Date.now() > deadline) {
      await am.stop();
      throw new Error(`alertmanager not ready within 20 s:\n${stderr}`);
    }
    // The poll interval of a condition wait, not a wait for time to pass.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
