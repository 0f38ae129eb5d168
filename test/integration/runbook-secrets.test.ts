// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${NAME}` written literally is what these tests are about
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/harness/redis-server.ts';
import { createHttpCheckExecutor, type HttpCheckConfig } from '../../src/adapters/diagnostics/http-check.ts';
import { createDiagnosticRegistry } from '../../src/adapters/diagnostics/registry.ts';
import {
  createShellCommandExecutor,
  type ShellCommandConfig,
} from '../../src/adapters/diagnostics/shell-command.ts';
import { AdapterError } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { runbookRoutes } from '../../src/producer/routes/runbooks.ts';
import { jobIds } from '../../src/queues/catalog.ts';
import { call } from '../helpers/api.ts';
import { startApi } from '../helpers/api-server.ts';
import { eventsUntil, FAST_WORKERS, firingAlert, testPipeline } from '../helpers/pipeline.ts';

const redisUrl = inject('redisUrl');
const signal = () => new AbortController().signal;

/** A local HTTP server that records the headers of every request it gets. */
async function headerRecorder() {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The error a promise rejects with, as a value. */
const failure = (p: Promise<unknown>) =>
  p.then(
    (v) => new Error(`expected a rejection, got ${JSON.stringify(v)}`),
    (err: unknown) => err,
  );

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('${NAME} in http_check headers', () => {
  const httpConfig = (url: string, headers: Record<string, string>): HttpCheckConfig =>
    createHttpCheckExecutor().configSchema.parse({ urls: [{ name: 'api', url, headers }] });

  it('sends the value from the environment at run time; the config keeps the reference', async () => {
    const server = await headerRecorder();
    closers.push(server.close);
    const token = `tok-${randomUUID()}`;
    const exec = createHttpCheckExecutor({ env: { API_TOKEN: token, HOME: '/home/x' } });
    const literal = 'cost $$5, $API_TOKEN, ${api_token}, ${ API_TOKEN }, $HOME';
    const config = httpConfig(server.url, { Authorization: 'Bearer ${API_TOKEN}', 'X-Literal': literal });
    const facts = await exec.run(config, { signal: signal() });
    expect(server.seen[0]).toMatchObject({ authorization: `Bearer ${token}`, 'x-literal': literal });
    expect(facts.all_healthy).toBe(true);
    expect(JSON.stringify(facts)).not.toContain(token);
    // The config the job holds is not changed by the run.
    expect(config.urls[0]?.headers.Authorization).toBe('Bearer ${API_TOKEN}');

    // A check that fails never echoes the expanded header.
    const closed = `http://127.0.0.1:${await freePort()}/`;
    const unreachable = await exec.run(httpConfig(closed, { Authorization: 'Bearer ${API_TOKEN}' }), {
      signal: signal(),
    });
    expect(unreachable.any_unreachable).toBe(true);
    expect(JSON.stringify(unreachable)).not.toContain(token);
  });

  it('a missing variable is an error naming it; an unsendable value is an error without the value', async () => {
    const server = await headerRecorder();
    closers.push(server.close);
    const secret = `line1\nsecret-${randomUUID()}`;
    const exec = createHttpCheckExecutor({
      env: { MULTI_LINE: secret, FIRELINE_OPERATOR_TOKEN: 'op-token' },
    });
    const missing = await failure(
      exec.run(httpConfig(server.url, { 'X-Key': '${NOT_SET_ANYWHERE}' }), { signal: signal() }),
    );
    expect(missing).toBeInstanceOf(AdapterError);
    expect((missing as AdapterError).message).toMatch(/\$\{NOT_SET_ANYWHERE\} is not set/);
    expect((missing as AdapterError).retryable).toBe(false);

    const bad = await failure(
      exec.run(httpConfig(server.url, { 'X-Key': '${MULTI_LINE}' }), { signal: signal() }),
    );
    expect(bad).toBeInstanceOf(AdapterError);
    expect((bad as AdapterError).message).toMatch(/X-Key.*MULTI_LINE/);
    expect(`${(bad as AdapterError).message} ${String((bad as AdapterError).cause ?? '')}`).not.toContain(
      'secret-',
    );

    // Fireline's own settings are not for runbooks (a templated alert label could name them).
    const own = await failure(
      exec.run(httpConfig(server.url, { 'X-Key': '${FIRELINE_OPERATOR_TOKEN}' }), { signal: signal() }),
    );
    expect((own as AdapterError).message).toMatch(/FIRELINE_OPERATOR_TOKEN/);
    expect((own as AdapterError).message).not.toContain('op-token');
    expect(server.seen).toEqual([]);
  });
});

describe('${NAME} in shell_command env', () => {
  it('the child gets the value; argv and other text are left as written; a missing name is an error', async () => {
    const password = `pw-${randomUUID()}`;
    const exec = createShellCommandExecutor({ env: { DB_PASSWORD: password } });
    const config: ShellCommandConfig = exec.configSchema.parse({
      command: [
        'node',
        '-e',
        'console.log(JSON.stringify({ pw: process.env.PGPASSWORD, lit: process.env.LIT, arg: process.argv[1] }))',
        '${DB_PASSWORD}',
      ],
      env: { PGPASSWORD: '${DB_PASSWORD}', LIT: '$$ ${lower} $DB_PASSWORD' },
    });
    const facts = await exec.run(config, { signal: signal() });
    expect(facts.json).toEqual({ pw: password, lit: '$$ ${lower} $DB_PASSWORD', arg: '${DB_PASSWORD}' });
    expect(config.env.PGPASSWORD).toBe('${DB_PASSWORD}');

    const missing = await failure(
      exec.run(exec.configSchema.parse({ command: ['true'], env: { X: 'a ${NOT_SET_ANYWHERE} b' } }), {
        signal: signal(),
      }),
    );
    expect(missing).toBeInstanceOf(AdapterError);
    expect((missing as AdapterError).message).toMatch(/env\.X: \$\{NOT_SET_ANYWHERE\} is not set/);
  });
});

const RUNBOOK = (url: string) => `
id: secret-header
name: Secret header
severity: P3
service: secret-service
triggers:
  - type: alert
    alertName: SecretHeader
diagnostics:
  - id: api
    name: API health
    type: http_check
    timeout: 10
    config:
      urls:
        - name: api
          url: ${url}
          headers:
            Authorization: "Bearer \${API_TOKEN}"
    interpret:
      healthy: "all_healthy"
      critical: "!all_healthy"
decisionTree: []
remediations: []
escalation:
  primary: "#ops-secret"
  escalateAfterMinutes: 15
`;

describe('a runbook secret through the whole pipeline', () => {
  it('reaches the server; the timeline, job data, logs and runbook API keep ${API_TOKEN}', async () => {
    const server = await headerRecorder();
    closers.push(server.close);
    const token = `tok-${randomUUID()}`;
    const logged: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        logged.push(String(chunk));
        done();
      },
    });
    const pipeline = await testPipeline(redisUrl, [RUNBOOK(server.url)], {
      logger: createLogger({ level: 'debug', destination }),
      adapters: {
        diagnostics: createDiagnosticRegistry([
          createHttpCheckExecutor({ env: { API_TOKEN: token } }),
          createShellCommandExecutor(),
        ]),
      },
    });
    closers.push(() => pipeline.close(5000));
    await pipeline.startWorkers(FAST_WORKERS);
    const api = await startApi(pipeline, [runbookRoutes], { auth: { viewerToken: 'viewer-token-secrets' } });
    closers.push(api.close);
    const [outcome] = await pipeline.intake(firingAlert({ alertname: 'SecretHeader' }));
    const id = (outcome as { incidentId: string }).incidentId;
    const events = await eventsUntil(pipeline, id, (e) => e.type === 'diagnostic.finished');
    expect(events.at(-1)?.data?.status).toBe('healthy');
    expect(server.seen.map((h) => h.authorization)).toEqual([`Bearer ${token}`]);

    const job = await pipeline.deps.queues.byName.diagnostics.getJob(jobIds.diagnose(id, 'api'));
    expect(JSON.stringify(job?.data)).toContain('Bearer ${API_TOKEN}');
    expect(JSON.stringify(job?.data)).not.toContain(token);
    expect(JSON.stringify(job?.returnvalue ?? null)).not.toContain(token);
    expect(JSON.stringify(await pipeline.deps.store.timeline(id))).not.toContain(token);
    expect(JSON.stringify(await pipeline.deps.store.get(id))).not.toContain(token);
    const viewer = { token: 'viewer-token-secrets' };
    const one = await call(api.url, 'GET', '/api/v1/runbooks/secret-header', viewer);
    expect(one.status).toBe(200);
    expect(one.text).toContain('Bearer ${API_TOKEN}');
    const all = await call(api.url, 'GET', '/api/v1/runbooks', viewer);
    for (const text of [one.text, all.text, logged.join('')]) expect(text).not.toContain(token);
  });
});
