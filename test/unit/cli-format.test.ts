import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/cli/client.ts';
import { apiTarget, expectArgs, listQuery, parseLabels } from '../../src/cli/commands.ts';
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
import { main } from '../../src/cli.ts';
import type { Incident, TimelineEvent } from '../../src/engine/types.ts';

describe('SseParser', () => {
  it.each([
    {
      name: 'id, event and data; the retry and comments are not events',
      chunks: ['retry: 2000\n\n: ping\n\nid: 1-0\nevent: note\ndata: {"a":1}\n\n'],
      events: [{ id: '1-0', event: 'note', data: '{"a":1}' }],
      retryMs: 2000,
    },
    {
      name: 'an event split anywhere, even inside CRLF',
      chunks: ['id: 5-1\r', '\nevent: no', 'te\r\ndata: x\r', '\n\r', '\n'],
      events: [{ id: '5-1', event: 'note', data: 'x' }],
    },
    {
      name: 'multi-line data joined with \\n, no space after the colon, default event name',
      chunks: ['data:a\ndata: b\n\n'],
      events: [{ id: undefined, event: 'message', data: 'a\nb' }],
    },
    {
      name: 'the id carries over to later events; a frame without data dispatches nothing',
      chunks: ['id: 7-0\n\ndata: y\n\n'],
      events: [{ id: '7-0', event: 'message', data: 'y' }],
    },
    {
      name: 'a half-received event waits for its blank line',
      chunks: ['data: z\n'],
      events: [],
    },
    {
      name: 'a BOM at the start is skipped; CR alone ends lines',
      chunks: ['\uFEFFdata: w\r\r'],
      events: [{ id: undefined, event: 'message', data: 'w' }],
    },
  ])('$name', ({ chunks, events, retryMs }) => {
    const parser = new SseParser();
    const seen = chunks.flatMap((c) => parser.feed(c));
    expect({ seen, retryMs: parser.retryMs }).toEqual({ seen: events, retryMs });
  });

  it('reset drops a half-received event but keeps the last id for the reconnect', () => {
    const parser = new SseParser('1-0');
    parser.feed('id: 2-0\ndata: complete\n\nid: 3-0\ndata: half');
    parser.reset();
    expect({ events: parser.feed('data: next\n\n'), last: parser.lastEventId }).toEqual({
      events: [{ id: '3-0', event: 'message', data: 'next' }],
      last: '3-0',
    });
  });
});

describe('command-line parsing', () => {
  it.each([
    { list: [], labels: {} },
    { list: ['namespace=prod', 'pod=a=b'], labels: { namespace: 'prod', pod: 'a=b' } },
    { list: ['empty='], labels: { empty: '' } },
    { list: ['novalue'], error: "--label must be name=value with a Prometheus label name; got 'novalue'" },
    { list: ['1x=y'], error: "got '1x=y'" },
    { list: ['a=1', 'a=2'], error: '--label a is given twice' },
  ])('parseLabels $list', ({ list, labels, error }) => {
    if (error) expect(() => parseLabels(list)).toThrow(error);
    else expect(parseLabels(list)).toEqual(labels);
  });

  it.each([
    { values: {}, query: '' },
    { values: { open: true, limit: '20' }, query: '?open=true&limit=20' },
    {
      values: { status: 'resolved', service: 'pay ment', severity: 'P1', runbook: 'db' },
      query: '?status=resolved&service=pay+ment&severity=P1&runbook=db',
    },
    { values: { limit: '0' }, error: "--limit must be a whole number from 1 to 200; got '0'" },
    { values: { limit: '201' }, error: "got '201'" },
    { values: { limit: '2x' }, error: "got '2x'" },
  ])('listQuery $values', ({ values, query, error }) => {
    if (error) expect(() => listQuery(values)).toThrow(error);
    else expect(listQuery(values)).toBe(query);
  });

  it.each([
    { args: ['a', 'b'], names: ['<incident>', '<step>'], got: ['a', 'b'] },
    { args: [], names: ['[incident]'], got: [undefined] },
    { args: ['a'], names: ['<incident>', '<step>'], error: 'missing <step>' },
    { args: ['a', 'b'], names: ['<incident>'], error: "unexpected argument 'b' (expected <incident>)" },
  ])('expectArgs $args $names', ({ args, names, got, error }) => {
    if (error) expect(() => expectArgs(args, names)).toThrow(error);
    else expect(expectArgs(args, names)).toEqual(got);
  });

  it.each([
    { values: {}, env: {}, target: { url: 'http://127.0.0.1:3000' } },
    {
      values: {},
      env: { FIRELINE_URL: 'https://fl.example', FIRELINE_TOKEN: 'tok' },
      target: { url: 'https://fl.example', token: 'tok' },
    },
    {
      values: { url: 'http://h:1', token: 'flag' },
      env: { FIRELINE_URL: 'https://fl.example', FIRELINE_TOKEN: 'env' },
      target: { url: 'http://h:1', token: 'flag' },
    },
    { values: { url: 'localhost:3000' }, env: {}, error: "got 'localhost:3000'" },
    { values: { url: 'not a url' }, env: {}, error: '--url must be an http(s) URL' },
  ])('apiTarget $values $env', ({ values, env, target, error }) => {
    if (error) expect(() => apiTarget(values, env)).toThrow(error);
    else expect(apiTarget(values, env)).toEqual(target);
  });
});

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

describe('API commands: bad command lines exit 2 before any request', () => {
  it.each([
    { argv: ['approve', 'inc-1'], says: 'fireline approve: missing <step>' },
    {
      argv: ['ack', 'inc-1', 'extra'],
      says: "fireline ack: unexpected argument 'extra' (expected <incident>)",
    },
    { argv: ['trigger', 'db', '--label', 'oops'], says: "got 'oops'" },
    { argv: ['trigger'], says: 'fireline trigger: missing <runbook>' },
    {
      argv: ['incidents', 'bogus'],
      says: "unknown subcommand 'bogus' (expected list, show <id> or report <id>)",
    },
    { argv: ['incidents', 'show'], says: 'fireline incidents: missing <id>' },
    { argv: ['incidents', 'show', 'inc-1', '--open'], says: "--open applies to 'incidents list' only" },
    {
      argv: ['incidents', '--limit', '500'],
      says: "--limit must be a whole number from 1 to 200; got '500'",
    },
    { argv: ['incidents', '--status', 'gone'], says: '--status must be one of triggered, diagnosing' },
    { argv: ['remediations', 'stop'], says: "expected pause, resume or status; got 'stop'" },
    {
      argv: ['watch', '--url', 'ftp://x'],
      says: "--url must be an http(s) URL such as http://127.0.0.1:3000; got 'ftp://x'",
    },
  ])('fireline $argv', async ({ argv, says }) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    });
    expect({ code, stdout, says: stderr.includes(says) }, stderr).toEqual({
      code: 2,
      stdout: '',
      says: true,
    });
  });
});
