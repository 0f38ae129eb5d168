import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedis, startRedis } from '../../scripts/harness/redis-server.ts';
import type { DoctorReport } from '../../src/incidents/doctor.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

/**
 * `fireline doctor` as a user runs it: bin/fireline.js in a child process, configured by its
 * environment and fireline.yaml only, against a private redis-server and a local receiver that
 * stands in for the checked service and for Slack.
 */

const RUNBOOK = (url: string) => `
id: shop-down
name: Shop down
severity: P2
service: shop
triggers:
  - type: manual
diagnostics:
  - id: front
    name: Front page
    type: http_check
    config:
      urls:
        - name: front
          url: ${url}/health
    interpret:
      healthy: all_healthy
decisionTree:
  - otherwise: true
    then: [page]
remediations:
  - id: page
    name: Tell ops
    type: escalate
escalation:
  primary: "#ops"
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function doctor(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'node',
      ['bin/fireline.js', 'doctor', ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code as number | null) : 0, stdout, stderr }),
    );
  });
}

describe('fireline doctor (CLI)', () => {
  let dir: string;
  let redis: PrivateRedis;
  let service: Receiver;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fireline-cli-doctor-'));
    redis = await startRedis(['--maxmemory-policy', 'noeviction', '--appendonly', 'yes']);
    service = await startReceiver();
    mkdirSync(join(dir, 'runbooks'));
    writeFileSync(join(dir, 'runbooks', 'shop-down.yaml'), RUNBOOK(service.url));
    writeFileSync(join(dir, 'fireline.yaml'), `slack:\n  webhooks:\n    "#ops": ${service.url}/slack\n`);
    env = {
      REDIS_URL: redis.url,
      FIRELINE_RUNBOOKS: join(dir, 'runbooks'),
      FIRELINE_CONFIG: join(dir, 'fireline.yaml'),
      FIRELINE_HISTORY: 'off',
      FIRELINE_OPERATOR_TOKEN: 'doctor-operator-token-0123',
    };
  });

  afterAll(async () => {
    await service?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 when no check fails, and --json prints the report; only the diagnostic is sent anything', async () => {
    const run = await doctor(['--json'], env);
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(Object.fromEntries(report.checks.map((c) => [c.id, c.status]))).toEqual({
      'redis.reachable': 'ok',
      'redis.persistence': 'ok',
      'redis.eviction': 'ok',
      'history.database': 'skip',
      'runbooks.load': 'ok',
      'connection.slack:#ops': 'ok',
      'diagnostic.shop-down.front': 'ok',
      'settings.tokens': 'ok',
      'settings.dry-run': 'ok',
    });
    // The health check was run once (GET); Slack got nothing.
    expect(service.received.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /health']);
  });

  it('exits 1 with one ✗ line per failed check naming what to set', async () => {
    const run = await doctor([], {
      ...env,
      FIRELINE_CONFIG: join(dir, 'absent.yaml'),
      FIRELINE_DRY_RUN: 'true',
    });
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toContain(
      `  ✗ Slack #ops: not configured (used at ${join(dir, 'runbooks', 'shop-down.yaml')}:25 and 1 more)  → SLACK_WEBHOOK_URL (every channel), or connections.slack.webhooks['#ops'] in ${join(dir, 'absent.yaml')}\n`,
    );
    expect(run.stdout).toContain('  ✓ Redis eviction policy: maxmemory-policy noeviction\n');
    expect(run.stdout).toContain(
      '  ! Dry run: on: every action is recorded, none runs  → FIRELINE_DRY_RUN=false to let actions run\n',
    );
    expect(run.stdout).toMatch(
      /\n6 ok, 1 warning, 1 failed, 1 skipped \(\d+ ms\)\. Each ✗ says what to set after the arrow\.\n$/,
    );
  });

  it('exits 1 when Redis does not answer at REDIS_URL', async () => {
    const gone = await startRedis();
    await gone.stop();
    const run = await doctor([], { ...env, REDIS_URL: gone.url });
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(
      / {2}✗ Redis reachable: no answer from redis:\/\/127\.0\.0\.1:\d+: .+ {2}→ REDIS_URL\n/,
    );
    expect(run.stdout).toContain('  – Redis eviction policy: Redis was not reached\n');
  });

  it('exits 1 naming the variable when the configuration is invalid, 2 on a bad command line', async () => {
    const bad = await doctor([], { ...env, FIRELINE_HISTORY: 'maybe' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^fireline doctor: invalid configuration:\n {2}FIRELINE_HISTORY="maybe": /);
    const usage = await doctor(['--verbose'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^fireline doctor: Unknown option '--verbose'/);
  });
});
