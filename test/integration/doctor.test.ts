import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Exporter,
  type PrivatePrometheus,
  startExporter,
  startPrometheus,
} from '../../scripts/harness/prometheus.ts';
import { type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import { type ConnectionsInput, ConnectionsSchema } from '../../src/adapters/connections.ts';
import { createAdapters } from '../../src/adapters/index.ts';
import { loadRunbooks } from '../../src/adapters/runbook-files.ts';
import { connectHistoryServer, type HistoryDb, openHistoryDb } from '../../src/history/db.ts';
import {
  type DoctorCheck,
  type DoctorReport,
  type HistorySource,
  runDoctor,
} from '../../src/incidents/doctor.ts';
import { historyCheck } from '../../src/incidents/doctor-platform.ts';
import { doctorRunbooks } from '../../src/incidents/doctor-runbooks.ts';
import { createRedis, type RedisClient, waitReady } from '../../src/redis/client.ts';
import { HISTORY_BACKENDS } from '../helpers/history.ts';
import { createKubectlStandIn, type KubectlStandIn } from '../helpers/kubectl-stand-in.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/postgres.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

/**
 * `runDoctor` against real services: a Prometheus scraping an exporter, the machine's PostgreSQL,
 * private redis-servers (noeviction + AOF, and allkeys-lru without persistence), the kubectl
 * stand-in, local receivers for Slack / PagerDuty / a webhook, and a Loki stand-in (no Loki runs
 * here) answering Loki's documented format. Each check passes in one run and fails in the other.
 */

const RUNBOOK = (db: string) => `
id: doctor-checkout
name: Checkout slow
severity: P2
service: checkout
triggers:
  - type: alert
    alertName: CheckoutSlow
  - type: metric_threshold
    metricQuery: sum(up)
    threshold: 0
    comparison: "<="
diagnostics:
  - id: targets_up
    name: Targets up
    type: prometheus_query
    config:
      query: 'sum(up{job="{{ alert.labels.job }}"})'
    interpret:
      critical: "value < 1"
      healthy: "value >= 1"
  - id: sessions
    name: Sessions
    type: database_query
    config:
      database: ${db}
      query: "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1"
      params: ['{{ alert.labels.datname }}']
    interpret:
      healthy: "value >= 0"
  - id: errors_logged
    name: Errors logged
    type: log_search
    config:
      source: loki
      query: '{app="checkout"} |= "error"'
    interpret:
      healthy: "count == 0"
  - id: rollout
    name: Rollout
    type: shell_command
    config:
      command: [fireline-doctor-no-such-program, get, deployment]
    interpret:
      healthy: "exit_code == 0"
  - id: by_instance
    name: By instance
    type: prometheus_query
    config:
      query: 'up{instance="{{ alert.labels.instance }}"}'
    interpret:
      healthy: "value == 1"
decisionTree:
  - otherwise: true
    then: [restart, tell, page]
remediations:
  - id: restart
    name: Restart
    type: automated
    action:
      type: restart_service
      config: { deployment: checkout, namespace: shop }
  - id: tell
    name: Tell the status page
    type: automated
    action:
      type: notify
      config: { channel: "webhook:status", message: checkout is slow }
  - id: page
    name: Page
    type: escalate
escalation:
  primary: "#checkout-oncall"
  secondary: pagerduty:checkout
`;

const TEST_FILE = (db: string) => `
runbook: doctor-checkout
defaults: { verdict: healthy }
cases:
  - name: slow checkout
    alert:
      labels: { alertname: CheckoutSlow, job: exporter, datname: ${db} }
    expect: { overall: healthy }
`;

const LOKI_EMPTY = JSON.stringify({ status: 'success', data: { resultType: 'streams', result: [] } });

const byId = (report: DoctorReport) => new Map(report.checks.map((c) => [c.id, c]));
const statusOf = (report: DoctorReport) =>
  Object.fromEntries(report.checks.map((c) => [c.id, c.status])) as Record<string, DoctorCheck['status']>;

describe('fireline doctor against real services', () => {
  let dir: string;
  let exporter: Exporter;
  let prometheus: PrivatePrometheus;
  let scratch: ScratchDatabase;
  let unmigrated: ScratchDatabase;
  let kubectl: KubectlStandIn;
  let slack: Receiver;
  let pagerduty: Receiver;
  let webhook: Receiver;
  let loki: Receiver;
  let lokiBroken: Receiver;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fireline-doctor-'));
    exporter = await startExporter();
    prometheus = await startPrometheus([exporter.target]);
    scratch = await createScratchDatabase();
    unmigrated = await createScratchDatabase();
    kubectl = await createKubectlStandIn();
    [slack, pagerduty, webhook] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
    loki = await startReceiver(() => ({
      status: 200,
      body: LOKI_EMPTY,
      headers: { 'content-type': 'application/json' },
    }));
    lokiBroken = await startReceiver(() => ({ status: 500, body: 'loki is down for maintenance' }));
    writeFileSync(join(dir, 'checkout.yaml'), RUNBOOK('orders'));
    writeFileSync(join(dir, 'checkout.test.yaml'), TEST_FILE(scratch.name));
  }, 60_000);

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  afterAll(async () => {
    await Promise.all([slack, pagerduty, webhook, loki, lokiBroken].map((r) => r?.close()));
    await kubectl?.remove();
    await prometheus?.stop();
    await exporter?.close();
    await scratch?.drop();
    await unmigrated?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function redisOn(args: string[]): Promise<{ server: PrivateRedis; client: RedisClient }> {
    const server = await startRedis(args);
    const client = createRedis(server.url, 'producer');
    client.on('error', () => undefined);
    await waitReady(client);
    cleanups.push(async () => {
      client.disconnect();
      await server.stop();
    });
    return { server, client };
  }

  async function doctor(opts: {
    connections: ConnectionsInput;
    client: RedisClient;
    history: HistorySource;
    tokens?: boolean;
    dryRun?: boolean;
  }): Promise<DoctorReport> {
    const connections = ConnectionsSchema.parse(opts.connections);
    const adapters = createAdapters(connections);
    cleanups.push(() => adapters.close());
    const loaded = await loadRunbooks([dir]);
    expect(
      loaded.issues.filter((i) => i.severity === 'error'),
      'the test runbook lints',
    ).toEqual([]);
    return runDoctor({
      redis: { client: opts.client, where: 'the test Redis' },
      history: opts.history,
      connections,
      configFile: 'fireline.yaml',
      diagnostics: adapters.diagnostics,
      runbooks: await doctorRunbooks([dir], loaded.runbooks),
      runbookIssues: loaded.issues,
      tokens: opts.tokens ?? true,
      dryRun: opts.dryRun ?? false,
    });
  }

  it('passes every check when everything is wired, running the diagnostics with the example labels and sending nothing', async () => {
    const { client } = await redisOn(['--maxmemory-policy', 'noeviction', '--appendonly', 'yes']);
    await kubectl.behave({ context: 'shop-prod' });
    const history: HistoryDb = await openHistoryDb({ url: scratch.url }, () => undefined);
    cleanups.push(() => history.close());
    const report = await doctor({
      client,
      history: { kind: 'db', db: history },
      connections: {
        prometheus: { url: prometheus.url },
        loki: { url: loki.url },
        databases: { orders: { url: scratch.url } },
        kubernetes: { kubectl: kubectl.path, context: 'shop-prod' },
        slack: { webhooks: { '#checkout-oncall': `${slack.url}/hook` } },
        pagerduty: { routingKeys: { checkout: 'routing-key-checkout' }, url: `${pagerduty.url}/enqueue` },
        webhooks: { status: { url: `${webhook.url}/status` } },
      },
    });
    expect(statusOf(report)).toEqual({
      'redis.reachable': 'ok',
      'redis.persistence': 'ok',
      'redis.eviction': 'ok',
      'history.database': 'ok',
      'runbooks.load': 'ok',
      'connection.prometheus': 'ok',
      'connection.database:orders': 'ok',
      'connection.loki': 'ok',
      'connection.program:fireline-doctor-no-such-program': 'fail',
      'connection.kubernetes': 'ok',
      'connection.webhook:status': 'ok',
      'connection.slack:#checkout-oncall': 'ok',
      'connection.pagerduty:checkout': 'ok',
      'diagnostic.doctor-checkout.targets_up': 'ok',
      'diagnostic.doctor-checkout.sessions': 'ok',
      'diagnostic.doctor-checkout.errors_logged': 'ok',
      'diagnostic.doctor-checkout.rollout': 'fail',
      'diagnostic.doctor-checkout.by_instance': 'skip',
      'settings.tokens': 'ok',
      'settings.dry-run': 'ok',
    });
    const checks = byId(report);
    // The example labels of checkout.test.yaml reached Prometheus and PostgreSQL.
    expect(prometheus.loggedQueries()).toContain('sum(up{job="exporter"})');
    expect(checks.get('diagnostic.doctor-checkout.targets_up')?.detail).toMatch(/value=1\b/);
    expect(checks.get('diagnostic.doctor-checkout.sessions')?.detail).toMatch(/row_count=1/);
    // A diagnostic whose label no example gives is skipped, naming the label and the test file.
    const byInstance = checks.get('diagnostic.doctor-checkout.by_instance')!;
    expect(byInstance.detail).toMatch(/alert\.labels\.instance is not set/);
    expect(byInstance.fix).toBe(`add a case with alert.labels to ${join(dir, 'checkout.test.yaml')}`);
    // A command is looked up, not run: a program that is not on the PATH is "not wired".
    expect(checks.get('connection.program:fireline-doctor-no-such-program')).toMatchObject({
      missing: true,
      fix: "install fireline-doctor-no-such-program on Fireline's PATH",
    });
    expect(report.ok).toBe(false);
    // Nothing was sent anywhere, and kubectl was only asked for its context.
    expect([...slack.received, ...pagerduty.received, ...webhook.received]).toEqual([]);
    expect(await kubectl.calls()).toEqual([['config', 'get-contexts', 'shop-prod', '-o', 'name']]);
    expect(checks.get('connection.kubernetes')?.detail).toBe(`${kubectl.path}: context shop-prod`);
    expect(loki.received.map((r) => new URL(r.path, 'http://x').pathname)).toEqual([
      '/loki/api/v1/query_range',
      '/loki/api/v1/query_range',
    ]);
  });

  it('fails each check when nothing is wired or what is wired is broken, and says what to set', async () => {
    const { client } = await redisOn(['--maxmemory-policy', 'allkeys-lru']);
    await kubectl.behave({ context: null });
    const history = connectHistoryServer(unmigrated.url, () => undefined);
    cleanups.push(() => history.close());
    const report = await doctor({
      client,
      history: { kind: 'db', db: history },
      tokens: false,
      dryRun: true,
      connections: {
        prometheus: { url: 'http://127.0.0.1:9' },
        loki: { url: lokiBroken.url },
        databases: { orders: { url: `postgres://postgres@127.0.0.1:5432/${scratch.name}_absent` } },
        kubernetes: { kubectl: kubectl.path },
      },
    });
    const checks = byId(report);
    expect(statusOf(report)).toMatchObject({
      'redis.reachable': 'ok',
      'redis.persistence': 'warn',
      'redis.eviction': 'warn',
      'history.database': 'fail',
      'connection.prometheus': 'fail',
      'connection.database:orders': 'fail',
      'connection.loki': 'fail',
      'connection.kubernetes': 'fail',
      'connection.webhook:status': 'fail',
      'connection.slack:#checkout-oncall': 'fail',
      'connection.pagerduty:checkout': 'fail',
      'diagnostic.doctor-checkout.targets_up': 'fail',
      'diagnostic.doctor-checkout.sessions': 'fail',
      'diagnostic.doctor-checkout.errors_logged': 'fail',
      'settings.tokens': 'warn',
      'settings.dry-run': 'warn',
    });
    expect(report.ok).toBe(false);
    expect(checks.get('redis.eviction')).toMatchObject({
      detail: expect.stringContaining('maxmemory-policy allkeys-lru'),
      fix: 'maxmemory-policy noeviction in redis.conf (or CONFIG SET on the server)',
    });
    expect(checks.get('redis.persistence')?.detail).toMatch(/^no persistence/);
    expect(checks.get('history.database')?.detail).toMatch(/schema version 0, this Fireline needs 2/);
    expect(checks.get('connection.database:orders')?.detail).toMatch(/does not exist/);
    expect(checks.get('connection.loki')?.detail).toMatch(/loki is down for maintenance/);
    expect(checks.get('connection.kubernetes')?.detail).toMatch(/current-context is not set/);
    // Configured but failing is "broken"; not configured at all is "not wired", with the variable to set.
    expect(checks.get('connection.prometheus')?.missing).toBe(false);
    expect(checks.get('connection.slack:#checkout-oncall')).toMatchObject({
      missing: true,
      fix: "SLACK_WEBHOOK_URL (every channel), or connections.slack.webhooks['#checkout-oncall'] in fireline.yaml",
    });
    expect(checks.get('connection.slack:#checkout-oncall')?.detail).toBe(
      `not configured (used at ${join(dir, 'checkout.yaml')}:73)`,
    );
    expect(checks.get('connection.pagerduty:checkout')?.fix).toMatch(/^PAGERDUTY_ROUTING_KEY/);
    expect(checks.get('connection.webhook:status')?.fix).toBe(
      'connections.webhooks.status.url in fireline.yaml',
    );
    expect(checks.get('settings.tokens')?.fix).toMatch(/FIRELINE_OPERATOR_TOKEN/);
    expect(checks.get('settings.dry-run')?.fix).toBe('FIRELINE_DRY_RUN=false to let actions run');
  });

  it('skips a diagnostic as "not wired" when its connection is not configured', async () => {
    const { client } = await redisOn([]);
    const report = await doctor({ client, history: { kind: 'off' }, connections: {} });
    const checks = byId(report);
    expect(checks.get('diagnostic.doctor-checkout.targets_up')).toMatchObject({
      status: 'skip',
      missing: true,
      fix: 'PROMETHEUS_URL (or connections.prometheus.url in fireline.yaml)',
    });
    expect(checks.get('connection.prometheus')).toMatchObject({ status: 'fail', missing: true });
    expect(checks.get('history.database')?.status).toBe('skip');
  });

  it('fails Redis when it stops answering, and the embedded history when its directory cannot be made', async () => {
    const { server, client } = await redisOn(['--maxmemory-policy', 'noeviction']);
    await server.stop();
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const report = await doctor({
      client,
      history: { kind: 'dir', dir: join(file, 'history') },
      connections: {},
    });
    const checks = byId(report);
    expect(checks.get('redis.reachable')).toMatchObject({ status: 'fail', fix: 'REDIS_URL' });
    expect(checks.get('redis.eviction')?.status).toBe('skip');
    expect(checks.get('history.database')).toMatchObject({
      status: 'fail',
      detail: `embedded PostgreSQL: ${file} is a file, so ${join(file, 'history')} cannot be created`,
    });
    const unreachable = connectHistoryServer('postgres://postgres@127.0.0.1:1/fireline', () => undefined);
    cleanups.push(() => unreachable.close());
    const noServer = await doctor({ client, history: { kind: 'db', db: unreachable }, connections: {} });
    expect(byId(noServer).get('history.database')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(
        /^postgres:\/\/postgres@127\.0\.0\.1:1\/fireline does not answer: .*ECONNREFUSED/,
      ),
      fix: 'DATABASE_URL',
    });
    const fresh = await doctor({
      client,
      history: { kind: 'dir', dir: join(dir, 'data', 'history') },
      connections: {},
    });
    expect(byId(fresh).get('history.database')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('will be created when Fireline starts'),
    });
  });

  it.each(HISTORY_BACKENDS)('reads the schema version of an open history on $name', async (backend) => {
    const { db, close } = await backend.open();
    cleanups.push(close);
    const found = await historyCheck({ kind: 'db', db })(AbortSignal.timeout(10_000));
    expect(found).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/, schema version 2 \(latest\)$/),
    });
  });
});
