/**
 * `npm run demo`: Fireline with a real Prometheus and Alertmanager watching a demo payment service
 * whose latency degrades on a schedule (healthy 20 s, degraded 60 s, then recovered). Prometheus
 * fires PaymentServiceHighLatency, Alertmanager posts it to Fireline, the demo payment runbook
 * (demo/runbooks/) queries Prometheus, decides, runs its remediations in dry run and posts to a
 * local Slack stand-in that prints each message here; the incident resolves when the metrics do.
 * Ctrl-C stops every process and removes the temporary directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiClient } from '../src/cli/client.ts';
import { followEvents } from '../src/cli/sse.ts';
import type { TimelineEvent } from '../src/engine/types.ts';
import { type Phase, startPaymentService } from './demo/payment-service.ts';
import { startSlackSink } from './demo/slack-sink.ts';
import { elapsed, findOnPath, paint, portIsFree, printBox, tail, waitForLine } from './demo/terminal.ts';
import { startAlertmanager } from './harness/alertmanager.ts';
import { startPrometheus } from './harness/prometheus.ts';
import { freePort } from './harness/redis-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCHEDULE = { healthyMs: 20_000, degradedMs: 60_000 };
const FIRELINE_STOP_MS = 20_000;

const PHASE_LINES: Record<
  Phase,
  (p: { medianS: number; dbConnections: number; errorRate: number }) => string
> = {
  healthy: (p) => `healthy: median latency ${p.medianS} s, DB pool ${p.dbConnections} %`,
  degraded: (p) =>
    `DEGRADING: median latency ${p.medianS} s, DB pool ${p.dbConnections} %, ${p.errorRate * 100} % errors`,
  recovered: (p) => `recovered: median latency ${p.medianS} s, DB pool ${p.dbConnections} %`,
};

/** Which of the demo's programs are missing from PATH, as the Debian packages that bring them. */
function missingPackages(bins: Record<string, string | undefined>): string[] {
  const packages: Record<string, string> = {
    prometheus: 'prometheus',
    alertmanager: 'prometheus-alertmanager',
    redis: 'redis-server',
  };
  return Object.entries(bins).flatMap(([name, path]) => (path ? [] : [packages[name] ?? name]));
}

async function main(): Promise<number> {
  const bins = {
    prometheus: findOnPath(['prometheus']),
    alertmanager: findOnPath(['prometheus-alertmanager', 'alertmanager']),
    redis: findOnPath(['redis-server']),
  };
  const missing = missingPackages(bins);
  if (missing.length > 0) {
    console.error(
      `npm run demo runs a real Prometheus and Alertmanager, and Redis; not found on PATH: ${missing.join(', ')}.`,
    );
    console.error('Install them with:\n');
    console.error('  sudo apt-get install prometheus prometheus-alertmanager redis-server\n');
    console.error('(or put their binaries on PATH: prometheus, alertmanager, redis-server).');
    return 1;
  }

  const dir = mkdtempSync(join(tmpdir(), 'fireline-demo-'));
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  const follow = new AbortController();
  let fireline: ChildProcess | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      follow.abort();
      for (const { name, stop } of stops.splice(0).reverse())
        await stop().catch((err: unknown) => console.error(`stopping ${name} failed: ${String(err)}`));
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // npm and tsx may pass on the terminal's Ctrl-C that this process got too: a repeat within a
    // second is the same Ctrl-C, not a second one.
    if (firstSignalAt !== undefined && Date.now() - firstSignalAt < 1000) return;
    if (firstSignalAt !== undefined) {
      // A second Ctrl-C: no more waiting. Fireline leads its own process group (its redis-server too).
      if (fireline?.pid && fireline.exitCode === null) process.kill(-fireline.pid, 'SIGKILL');
      console.error(`\nforced; temporary files left in ${dir}`);
      process.exit(130);
    }
    firstSignalAt = Date.now();
    console.log(`\n${signal}: stopping everything (Ctrl-C again to force)…`);
    stopAll().then(
      () => {
        console.log(`Stopped. Removed ${dir}.`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const sink = await startSlackSink((lines) => printBox('Slack message', lines));
    stops.push({ name: 'the Slack stand-in', stop: sink.close });
    const payment = await startPaymentService(SCHEDULE);
    stops.push({ name: 'the payment service', stop: payment.close });

    const port = (await portIsFree(3000)) ? 3000 : await freePort();
    const url = `http://127.0.0.1:${port}`;
    const alertmanager = await startAlertmanager({
      webhookUrl: `${url}/api/v1/alerts/alertmanager`,
      groupWait: '1s',
      groupInterval: '5s',
      repeatInterval: '1h',
      binary: bins.alertmanager!,
    });
    stops.push({ name: 'Alertmanager', stop: alertmanager.stop });
    const prometheus = await startPrometheus([payment.target], {
      rules: readFileSync(join(ROOT, 'demo', 'prometheus-rules.yml'), 'utf8'),
      alertmanagers: [alertmanager.target],
      binary: bins.prometheus!,
    });
    stops.push({ name: 'Prometheus', stop: prometheus.stop });

    const logPath = join(dir, 'fireline.log');
    const log = createWriteStream(logPath);
    fireline = spawn(process.execPath, [join(ROOT, 'bin', 'fireline.js'), 'start'], {
      cwd: ROOT,
      // Its own process group: the terminal's Ctrl-C reaches the demo only, which stops Fireline
      // before anything it depends on; Fireline then stops its own redis-server.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        // Always a private redis-server with its data here, never a Redis of yours.
        REDIS_URL: '',
        FIRELINE_LOCAL_REDIS: `redis://127.0.0.1:${await freePort()}`,
        FIRELINE_DATA_DIR: join(dir, 'fireline'),
        FIRELINE_PREFIX: 'fireline-demo',
        FIRELINE_RUNBOOKS: join(ROOT, 'demo', 'runbooks'),
        FIRELINE_CONFIG: join(dir, 'fireline.yaml'),
        FIRELINE_DRY_RUN: 'true',
        FIRELINE_SHUTDOWN_TIMEOUT_MS: '5000',
        FIRELINE_INGEST_TOKEN: '',
        FIRELINE_OPERATOR_TOKEN: '',
        FIRELINE_VIEWER_TOKEN: '',
        PROMETHEUS_URL: prometheus.url,
        SLACK_WEBHOOK_URL: sink.url,
        LOG_LEVEL: 'info',
      },
    });
    const child = fireline;
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    stops.push({
      name: 'Fireline',
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), FIRELINE_STOP_MS);
          await exited;
          clearTimeout(timer);
        }
        log.end();
      },
    });
    try {
      await waitForLine(child, /^Console: +(\S+)/, 60_000);
    } catch (err) {
      console.error(`Fireline did not start: ${(err as Error).message}\n${tail(logPath)}`);
      await stopAll();
      return 1;
    }
    child.once('exit', (code, signal) => {
      if (stopping) return;
      console.error(`Fireline exited unexpectedly (${code ?? signal}):\n${tail(logPath)}`);
      void stopAll().then(() => process.exit(1));
    });

    console.log(paint('1', '\nFireline demo'));
    console.log(`  Console        ${paint('1;36', `${url}/`)}   ← open this in a browser`);
    console.log(`  Prometheus     ${prometheus.url}/alerts`);
    console.log(`  Alertmanager   ${alertmanager.url}/`);
    console.log(`  Service        http://${payment.target}/metrics`);
    console.log(`  Fireline log   ${logPath}`);
    console.log(
      `\nThe payment service is healthy for ${SCHEDULE.healthyMs / 1000} s, degraded for ${SCHEDULE.degradedMs / 1000} s, then recovers.`,
    );
    console.log('Remediations run in DRY RUN: they say what they would do. Ctrl-C stops everything.\n');

    const started = Date.now();
    const say = (who: string, text: string) =>
      console.log(`${paint('2', `[${elapsed(started)}]`)} ${who}  ${text}`);
    let opened: string | undefined;
    payment.start((phase, profile) => {
      say(paint('1;33', 'payment-service'), PHASE_LINES[phase](profile));
      if (phase === 'degraded')
        say(
          paint('2', 'demo'),
          'Prometheus fires after ~10 s of high p99; Alertmanager then posts to Fireline…',
        );
    });
    void followEvents(createApiClient({ url }), '/api/v1/events', {
      signal: follow.signal,
      onEvent: ({ data }) => {
        const event = JSON.parse(data) as TimelineEvent;
        opened ??= event.type === 'incident.opened' ? event.incidentId : undefined;
        say(paint('1;35', 'fireline'), `${paint('2', event.type.padEnd(24))} ${event.message}`);
        if (event.type === 'incident.resolved' && event.incidentId === opened)
          console.log(
            paint(
              '1;32',
              `\nThe incident resolved itself when the metrics recovered. Look around: ${url}/incidents/${opened}\n` +
                'The demo keeps running until Ctrl-C.\n',
            ),
          );
        return false;
      },
      onReconnect: (reason) => say(paint('2', 'demo'), `event stream dropped (${reason}); reconnecting`),
    }).catch((err: unknown) => {
      if (!follow.signal.aborted) say(paint('31', 'demo'), `cannot follow Fireline's events: ${String(err)}`);
    });
    return await new Promise<number>(() => undefined);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

process.exitCode = await main();
