import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terminate } from './child-process.ts';
import { freePort } from './redis-server.ts';

/**
 * A real Prometheus (the Debian package's /usr/bin/prometheus) on a free loopback port, scraping a
 * local exporter every second whose metric values the caller sets. Waiting is by polling the API
 * for a condition, never by sleeping a fixed time.
 */

/** An HTTP server answering /metrics in the text exposition format with the values the caller set. */
export interface Exporter {
  /** `127.0.0.1:<port>`, a scrape target. */
  target: string;
  /** Sets a gauge sample; label values may hold anything (they are escaped as the format says). */
  set(name: string, labels: Record<string, string>, value: number): void;
  /** Removes every sample of the metric. */
  clear(name: string): void;
  close(): Promise<void>;
}

function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

export async function startExporter(): Promise<Exporter> {
  const samples = new Map<string, Map<string, number>>();
  const server: Server = createServer((_req, res) => {
    const lines: string[] = [];
    for (const [name, series] of samples) {
      lines.push(`# TYPE ${name} gauge`);
      for (const [labels, value] of series) lines.push(`${name}${labels} ${formatValue(value)}`);
    }
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    set(name, labels, value) {
      const key = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      const series = samples.get(name) ?? new Map<string, number>();
      samples.set(name, series);
      series.set(`{${key}}`, value);
    },
    clear(name) {
      samples.delete(name);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface PrivatePrometheus {
  url: string;
  /** Every query Prometheus logged (its query log file), in order. */
  loggedQueries(): string[];
  /** Runs an instant query directly (for waiting on scrapes); throws on an error envelope. */
  query(promql: string): Promise<{ resultType: string; result: unknown }>;
  /** Polls `promql` until `holds(result)` is true; throws naming the last result after `timeoutMs`. */
  waitFor(promql: string, holds: (result: unknown) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** A rule file's YAML (`groups: …`), evaluated every second. */
  rules?: string;
  /** Alertmanagers (`host:port`) that firing and resolved alerts are sent to. */
  alertmanagers?: string[];
  /** The executable; the Debian package's by default. */
  binary?: string;
}

/**
 * Starts Prometheus scraping `targets` every second (and, with `opts.rules`, evaluating them every
 * second and sending alerts to `opts.alertmanagers`); resolves once it has scraped them all.
 */
export async function startPrometheus(
  targets: string[],
  opts: PrometheusOptions = {},
): Promise<PrivatePrometheus> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fireline-prometheus-'));
  const queryLog = join(dir, 'query.log');
  const config = join(dir, 'prometheus.yml');
  const ruleFile = join(dir, 'rules.yml');
  if (opts.rules !== undefined) writeFileSync(ruleFile, opts.rules);
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      `  query_log_file: ${JSON.stringify(queryLog)}`,
      ...(opts.rules === undefined ? [] : [`rule_files: [${JSON.stringify(ruleFile)}]`]),
      ...(opts.alertmanagers?.length
        ? [
            'alerting:',
            '  alertmanagers:',
            `    - static_configs: [{ targets: ${JSON.stringify(opts.alertmanagers)} }]`,
          ]
        : []),
      'scrape_configs:',
      '  - job_name: exporter',
      '    static_configs:',
      `      - targets: ${JSON.stringify(targets)}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    opts.binary ?? '/usr/bin/prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let stopping: Promise<void> | undefined;
  const url = `http://127.0.0.1:${port}`;

  const query = async (promql: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { resultType: string; result: unknown } };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
    return body.data;
  };
  const waitFor = async (promql: string, holds: (result: unknown) => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${stderr}`);
      try {
        last = (await query(promql)).result;
        if (holds(last)) return;
      } catch (err) {
        // Not up yet: connection refused or the TSDB still opening.
        last = err;
      }
      if (Date.now() > deadline)
        throw new Error(
          `waited ${timeoutMs} ms for ${promql}; last: ${String(JSON.stringify(last) ?? last)}`,
        );
      // The poll interval of a condition wait, not a wait for time to pass.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const prometheus: PrivatePrometheus = {
    url,
    loggedQueries() {
      let text: string;
      try {
        text = readFileSync(queryLog, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => (JSON.parse(line) as { params: { query: string } }).params.query);
    },
    query,
    waitFor,
    stop() {
      stopping ??= (async () => {
        await terminate(child);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  try {
    await waitFor(
      'count(up{job="exporter"} == 1)',
      (r) => (r as { value: [number, string] }[])[0]?.value[1] === String(targets.length),
    );
  } catch (err) {
    await prometheus.stop();
    throw err;
  }
  return prometheus;
}

/** The sample values of a vector result, by one label's value. */
export function vectorValues(result: unknown, label: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of result as { metric: Record<string, string>; value: [number, string] }[])
    out[s.metric[label] ?? ''] = s.value[1];
  return out;
}
