import { describe, expect, it } from 'vitest';
import {
  clean,
  cleanLines,
  duration,
  formatEventLine,
  formatIncident,
  formatIncidentTable,
  formatRemediations,
  type IncidentDetail,
} from '../../src/cli/format.ts';
import type { Incident, TimelineEvent } from '../../src/engine/types.ts';

const EVENT: TimelineEvent = {
  id: '1714564984000-0',
  incidentId: 'inc-1',
  type: 'diagnostic.finished',
  at: '2024-05-01T12:03:04.000Z',
  actor: 'system',
  message: 'Database connections: critical (value >= 90)',
};

describe('human output', () => {
  it.each([
    { s: 'plain', out: 'plain' },
    { s: 'two\nlines\r\nand\ttab', out: 'two lines and tab' },
    { s: 'red \u001b[31m alert', out: 'red \\x1b[31m alert' },
    { s: 'bidi \u202e reversed', out: 'bidi \\x202e reversed' },
  ])('clean($s)', ({ s, out }) => {
    expect(clean(s)).toBe(out);
  });

  it('cleanLines keeps line breaks and tabs of a report but not its escape sequences', () => {
    expect(cleanLines('# T\r\n| a\t| \u001b[2J |\n')).toBe('# T\n| a\t| \\x1b[2J |\n');
  });

  it.each([
    { ms: 0, out: '0s' },
    { ms: 59_999, out: '59s' },
    { ms: 60_000, out: '1m' },
    { ms: 3 * 3600_000, out: '3h' },
    { ms: 47 * 3600_000, out: '47h' },
    { ms: 49 * 3600_000, out: '2d' },
    { ms: -5000, out: '0s' },
  ])('duration($ms)', ({ ms, out }) => {
    expect(duration(ms)).toBe(out);
  });

  it('an event line is time, type and message; the global stream adds the incident', () => {
    expect(formatEventLine(EVENT, { timeZone: 'UTC' })).toBe(
      '12:03:04  diagnostic.finished  Database connections: critical (value >= 90)',
    );
    expect(
      formatEventLine(
        { ...EVENT, message: 'x\u001b]0;owned\u0007' },
        { timeZone: 'UTC', withIncident: true },
      ),
    ).toBe('12:03:04  inc-1  diagnostic.finished  x\\x1b]0;owned\\x07');
  });

  it('lists incidents as a table with age and flags', () => {
    const now = new Date('2024-05-01T12:10:00Z');
    const items = [
      incident({ id: 'inc-b', acknowledged: true, escalated: true, createdAt: '2024-05-01T12:05:00Z' }),
      incident({ id: 'inc-a', status: 'resolved', severity: 'P3', dryRun: true }),
    ];
    expect(formatIncidentTable({ items, nextCursor: 'x' }, { now })).toBe(
      [
        'ID     SEV  STATUS             RUNBOOK  AGE  FLAGS',
        'inc-b  P1   awaiting approval  db-pool  5m   ack,escalated',
        'inc-a  P3   resolved           db-pool  10m  dry-run',
        '(more incidents: raise --limit or narrow the filters)',
        '',
      ].join('\n'),
    );
    expect(formatIncidentTable({ items: [], nextCursor: null }, { now })).toBe('No incidents match.\n');
  });

  it('shows an incident: verdicts with symbol and word, rationale, plan with states and hints', () => {
    const text = formatIncident(DETAIL, { now: new Date('2024-05-01T12:10:00Z'), timeZone: 'UTC' });
    expect(text.split('\n')).toEqual([
      'inc-a  DB pool',
      '  runbook     db-pool (P1, service payments)',
      '  status      awaiting approval  [ack]',
      '  opened      2024-05-01 12:00:00 (10m ago) via manual',
      '  labels      alertname=DbPool namespace=prod',
      '  escalation  due 2024-05-01 12:15:00 (in 5m)',
      '',
      'Verdicts (overall ✗ critical)',
      '  ✗ critical  Database connections  json.used_pct >= 90',
      '  ! error     Downstream            — timed out after 10 s',
      '  … pending   Logs',
      '',
      'Decision',
      "  ✓ Pool exhausted: diagnostics.db.status == 'critical'",
      '      read: diagnostics.db.status = "critical"',
      '      → restart, rollback',
      "  · rule 2: diagnostics.down.status == 'critical' (did not hold)",
      '      read: diagnostics.down.status = "error"',
      '',
      'Plan',
      '  succeeded          restart   Restart (automated)',
      '  awaiting approval  rollback  Roll back (approval)  → fireline approve|reject inc-a rollback',
      '  pending            look      Look (manual)  → fireline complete inc-a look',
      '    look: Open the dashboard.',
      '',
    ]);
  });

  it('a resolved incident shows no next-step hints', () => {
    const resolved = { ...DETAIL, incident: { ...DETAIL.incident, status: 'resolved' as const } };
    const text = formatIncident(resolved, { now: new Date('2024-05-01T12:10:00Z'), timeZone: 'UTC' });
    expect(text).not.toContain('→ fireline');
    expect(text).toContain('  awaiting approval  rollback  Roll back (approval)\n');
  });

  it('a step awaiting approval shows what will run, its rendering hash, and that its alert resolved', () => {
    const plan = DETAIL.incident.plan.map((step) =>
      step.stepId === 'rollback'
        ? {
            ...step,
            action: {
              type: 'rollback',
              config: { deployment: 'payments', namespace: 'prod' },
              hash: '0123456789ab',
              target: 'payments',
              idempotent: false,
            },
          }
        : step,
    );
    const detail = { ...DETAIL, incident: { ...DETAIL.incident, plan, alertResolved: true } };
    const lines = formatIncident(detail, { now: new Date('2024-05-01T12:10:00Z'), timeZone: 'UTC' }).split(
      '\n',
    );
    expect(lines).toContain(
      '    rollback: will run rollback on payments (rendering 0123456789ab): {"deployment":"payments","namespace":"prod"}',
    );
    expect(lines).toContain(
      '    rollback: the alert has resolved at the source; approving now skips this step',
    );
  });

  it('prints the kill switch state and queue counts', () => {
    expect(formatRemediations({ paused: true, counts: { waiting: 2, active: 0 } })).toBe(
      'Remediations paused: no automated action starts until `fireline remediations resume`\n' +
        '  waiting  2\n  active   0\n',
    );
  });
});

function incident(over: Partial<Incident>): Incident {
  return {
    id: 'inc-a',
    key: 'k',
    runbookId: 'db-pool',
    runbookName: 'DB pool',
    service: 'payments',
    severity: 'P1',
    status: 'awaiting_approval',
    acknowledged: false,
    escalated: false,
    dryRun: false,
    createdAt: '2024-05-01T12:00:00Z',
    updatedAt: '2024-05-01T12:00:00Z',
    alert: {
      source: 'manual',
      status: 'firing',
      labels: { namespace: 'prod', alertname: 'DbPool' },
      annotations: {},
      fingerprint: 'f',
      startsAt: '2024-05-01T12:00:00Z',
    },
    verdicts: {},
    plan: [],
    ...over,
  };
}

const DETAIL: IncidentDetail = {
  incident: incident({
    acknowledged: true,
    overall: 'critical',
    verdicts: {
      db: {
        stepId: 'db',
        status: 'critical',
        facts: {},
        matched: { level: 'critical', expression: 'json.used_pct >= 90' },
      },
      down: { stepId: 'down', status: 'error', facts: {}, message: 'timed out after 10 s' },
    },
    decision: {
      remediations: ['restart', 'rollback'],
      otherwiseApplied: false,
      rationale: [
        {
          index: 0,
          description: 'Pool exhausted',
          condition: "diagnostics.db.status == 'critical'",
          matched: true,
          values: { 'diagnostics.db.status': 'critical' },
          then: ['restart', 'rollback'],
        },
        {
          index: 1,
          description: '',
          condition: "diagnostics.down.status == 'critical'",
          matched: false,
          values: { 'diagnostics.down.status': 'error' },
          then: ['page'],
        },
      ],
    },
    plan: [
      { stepId: 'restart', name: 'Restart', kind: 'automated', state: 'succeeded' },
      { stepId: 'rollback', name: 'Roll back', kind: 'approval', state: 'awaiting_approval' },
      { stepId: 'look', name: 'Look', kind: 'manual', state: 'pending', instructions: 'Open the dashboard.' },
    ],
  }),
  runbook: {
    id: 'db-pool',
    name: 'DB pool',
    severity: 'P1',
    service: 'payments',
    diagnostics: [
      { id: 'db', name: 'Database connections', type: 'shell_command' },
      { id: 'down', name: 'Downstream', type: 'http_check' },
      { id: 'logs', name: 'Logs', type: 'log_search' },
    ],
  },
  escalation: { dueAt: '2024-05-01T12:15:00Z' },
};
