import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatDoctorReport } from '../../src/cli/doctor.ts';
import { needKey, runbookNeeds } from '../../src/engine/runbook-needs.ts';
import { parseRunbook } from '../../src/engine/runbook-parse.ts';
import type { DoctorReport } from '../../src/incidents/doctor.ts';
import { compileYaml } from '../helpers/pipeline.ts';

/** What a runbook needs (pure, from the runbook alone), and the doctor's report as the terminal shows it. */

const RUNBOOK = `
id: needs
name: Needs
severity: P2
service: shop
triggers:
  - type: metric_threshold
    metricQuery: sum(up)
    threshold: 1
diagnostics:
  - { id: q, name: Q, type: prometheus_query, config: { query: "up" }, interpret: { healthy: "true" } }
  - { id: l, name: L, type: log_search, config: { source: loki, query: '{a="b"}' }, interpret: { healthy: "true" } }
  - { id: f, name: F, type: log_search, config: { source: file, paths: [/var/log/x.log], pattern: err }, interpret: { healthy: "true" } }
  - { id: d, name: D, type: database_query, config: { query: "select 1" }, interpret: { healthy: "true" } }
  - { id: s, name: S, type: shell_command, config: { command: [kubectl, get, pods] }, interpret: { healthy: "true" } }
  - { id: h, name: H, type: http_check, config: { urls: [{ name: a, url: "http://a" }] }, interpret: { healthy: "true" } }
decisionTree:
  - otherwise: true
    then: [sql, cache, restart, tell, templated, page, page_default]
remediations:
  - { id: sql, name: SQL, type: automated, action: { type: run_script, config: { database: orders, sql: "select 1" } } }
  - { id: cache, name: Cache, type: automated, action: { type: flush_cache, config: { target: sessions, pattern: "s:*" } } }
  - { id: restart, name: Restart, type: automated, action: { type: restart_service, config: { deployment: a, namespace: b } } }
  - { id: tell, name: Tell, type: automated, action: { type: notify, config: { channel: "webhook:status" } } }
  - { id: templated, name: T, type: automated, action: { type: notify, config: { channel: "#team-{{ alert.labels.team }}" } } }
  - { id: page, name: Page, type: escalate, escalateTo: "slack:#dba" }
  - { id: page_default, name: Page default, type: escalate }
escalation:
  primary: "#ops"
  secondary: pagerduty:shop
notifications:
  opened: [primary, "#shop-feed"]
  escalated: [escalation, "webhook:statuspage"]
`;

describe('runbookNeeds', () => {
  it('lists each connection, program and notification target with where the runbook asks for it', () => {
    const [compiled] = compileYaml(RUNBOOK);
    const needs = runbookNeeds(compiled!.runbook).map((n) => [needKey(n), n.path.join('.')]);
    expect(needs).toEqual([
      ['prometheus', 'triggers.0'],
      ['prometheus', 'diagnostics.0'],
      ['loki', 'diagnostics.1'],
      ['database:default', 'diagnostics.3'],
      ['program:kubectl', 'diagnostics.4'],
      ['database:orders', 'remediations.0'],
      ['redis:sessions', 'remediations.1'],
      ['kubernetes', 'remediations.2'],
      ['webhook:status', 'remediations.3.action'],
      ['slack:#dba', 'remediations.5.escalateTo'],
      ['pagerduty:shop', 'escalation'],
      ['slack:#ops', 'escalation.primary'],
      ['pagerduty:shop', 'escalation.secondary'],
      ['slack:#shop-feed', 'notifications.opened.1'],
      ['webhook:statuspage', 'notifications.escalated.1'],
    ]);
  });

  it('finds what every shipped runbook needs', () => {
    for (const id of ['payment-service-slow', 'database-connection-exhaustion']) {
      const file = `runbooks/${id}.yaml`;
      const parsed = parseRunbook(readFileSync(file, 'utf8'), file);
      if (!parsed.ok) throw new Error(`${file} does not load`);
      const kinds = new Set(runbookNeeds(parsed.compiled.runbook).map((n) => n.kind));
      expect([...kinds].sort(), file).toEqual(
        id === 'payment-service-slow'
          ? ['database', 'kubernetes', 'pagerduty', 'program', 'prometheus', 'slack']
          : ['database', 'pagerduty', 'prometheus', 'slack'],
      );
    }
  });
});

describe('formatDoctorReport', () => {
  it('prints a heading per group, one line per check with its mark and fix, and a summary', () => {
    const check = (id: string, group: string, status: string, detail: string, fix: string | null = null) => ({
      id,
      group,
      title: id,
      status,
      detail,
      fix,
      runbooks: [],
      missing: false,
    });
    const report = {
      generatedAt: '2026-12-07T20:00:00.000Z',
      durationMs: 12,
      ok: false,
      counts: { ok: 1, warn: 1, fail: 1, skip: 1 },
      checks: [
        check('redis.reachable', 'redis', 'ok', 'answers'),
        check('redis.eviction', 'redis', 'warn', 'allkeys-lru', 'maxmemory-policy noeviction'),
        check('connection.prometheus', 'connections', 'fail', 'not configured', 'PROMETHEUS_URL'),
        check('diagnostic.a.b', 'diagnostics', 'skip', 'not run'),
      ],
    } as DoctorReport;
    expect(formatDoctorReport(report)).toBe(
      [
        'Redis',
        '  ✓ redis.reachable: answers',
        '  ! redis.eviction: allkeys-lru  → maxmemory-policy noeviction',
        '',
        'Connections the runbooks use',
        '  ✗ connection.prometheus: not configured  → PROMETHEUS_URL',
        '',
        'Diagnostics, run once read-only',
        '  – diagnostic.a.b: not run',
        '',
        '1 ok, 1 warning, 1 failed, 1 skipped (12 ms). Each ✗ says what to set after the arrow.',
        '',
      ].join('\n'),
    );
  });
});
