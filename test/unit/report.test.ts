import { describe, expect, test } from 'vitest';
import { renderReport } from '../../src/engine/report.ts';
import type { Incident } from '../../src/engine/types.ts';
import { INCIDENT, TIMELINE } from '../fixtures/report-incident.ts';

const EXPECTED = `# Incident inc-1: Payment service slow (P1)

## Summary

| Field | Value |
| --- | --- |
| Runbook | Payment service slow (\`payment-slow\`) |
| Service | payment |
| Severity | P1 |
| Status | resolved |
| Overall verdict | ✗ critical |
| Opened | 2024-05-01T03:00:05Z |
| Resolved | 2024-05-01T03:14:08Z |
| Time to evidence | 1m 12s |
| Time to resolve | 14m 3s |
| Acknowledged | yes |
| Escalated | no |
| Dry run | no |
| Incident key | \`payment-slow:42c4de4129450ec782925cbf7c5af8f8\` |

## Triggering alert

PaymentSlow, firing since 2024-05-01T02:59:30Z, from alertmanager, fingerprint \`0123456789abcdef\`.

| Label | Value |
| --- | --- |
| alertname | PaymentSlow |
| namespace | checkout |
| pod | pay-1\\|&lt;img src=x onerror=alert(1)&gt; |

| Annotation | Value |
| --- | --- |
| summary | p99 \\\`latency\\\` over 2s<br># not a heading<br>\\[click\\](http://evil) |

## Verdicts

| Step | Verdict | Matched | Key facts | Duration |
| --- | --- | --- | --- | --- |
| db\\_connections | ✗ critical | critical: \`value > 90 \\|\\| count > 3\` | value=96, count=1, empty=false, values=\\[1 item\\], … | 1.2 s |
| error\\_logs | ! error | loki timed out after 30 s | — | 30.0 s |

## Decision

Remediations chosen: \`scale_db_pool\`.

1. ✓ matched: **Rule 1 — Pool exhausted**
   - condition: \`diagnostics.db_connections.status == 'critical'\`
   - \`diagnostics.db_connections.status\` = \`"critical"\`
   - then: \`scale_db_pool\` (stop: later rules not evaluated)

## Actions

| Step | Kind | State | By | At | Comment | Detail |
| --- | --- | --- | --- | --- | --- | --- |
| Scale DB pool (\`scale_db_pool\`) | approval · scale\\_up | succeeded | slack:U123 | 2024-05-01T03:02:00Z | go \\| ahead &lt;b&gt; | kubectl scale deployment/pgbouncer -n db --replicas=4 |

## Timeline

| Time | Actor | Event | Message |
| --- | --- | --- | --- |
| 2024-05-01T03:00:05Z | system | \`incident.opened\` | Opened by PaymentSlow |
| 2024-05-01T03:01:17Z | system | \`decision.made\` | Chose scale\\_db\\_pool |
| 2024-05-01T03:02:00Z | slack:U123 | \`remediation.approved\` | Approved: go \\| ahead<br>now |
| 2024-05-01T03:14:08Z | token:operator | \`incident.resolved\` | Resolved |
`;

test('the whole report for a resolved incident', () => {
  expect(renderReport(INCIDENT, TIMELINE)).toBe(EXPECTED);
});

/** Cells of a GFM table row, split on unescaped pipes. */
function cells(row: string): number {
  return row.split(/(?<!\\)\|/).length - 2;
}

function tables(markdown: string): string[][] {
  const out: string[][] = [];
  let current: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    if (!current) {
      current = [];
      out.push(current);
    }
    current.push(line);
  }
  return out;
}

describe('untrusted text cannot change the report structure', () => {
  test.each([
    { name: 'pipe', value: 'a|b', cell: 'a\\|b' },
    { name: 'html', value: '<script>alert(1)</script>', cell: '&lt;script&gt;alert(1)&lt;/script&gt;' },
    { name: 'entity', value: '&amp;', cell: '&amp;amp;' },
    { name: 'backticks', value: '`rm -rf`', cell: '\\`rm -rf\\`' },
    { name: 'newlines', value: 'one\r\ntwo\nthree', cell: 'one<br>two<br>three' },
    {
      name: 'emphasis and links',
      value: '*x* _y_ [z](http://e) ~~s~~',
      cell: '\\*x\\* \\_y\\_ \\[z\\](http://e) \\~\\~s\\~\\~',
    },
    { name: 'backslash', value: 'C:\\temp\\|', cell: 'C:\\\\temp\\\\\\|' },
    { name: 'unicode', value: 'ünïcødé ✓ \u200F', cell: 'ünïcødé ✓ \u200F' },
    { name: 'empty', value: '', cell: '' },
  ])('$name', ({ value, cell }) => {
    const incident: Incident = {
      ...INCIDENT,
      alert: { ...INCIDENT.alert, labels: { zz: value }, annotations: {} },
    };
    const report = renderReport(incident, []);
    expect(report).toContain(`| zz | ${cell} |`);
    for (const t of tables(report)) {
      const widths = t.map(cells);
      expect(widths, `every row of the table starting ${t[0]} has as many cells as its header`).toEqual(
        widths.map(() => widths[0]),
      );
    }
  });

  test('a code span is fenced longer than any backtick run inside it', () => {
    const incident: Incident = {
      ...INCIDENT,
      verdicts: {
        s: {
          stepId: 's',
          status: 'warning',
          matched: { level: 'warning', expression: 'x == "``" || y' },
          facts: {},
        },
      },
    };
    expect(renderReport(incident, [])).toContain(
      '| s | ⚠ warning | warning: ```x == "``" \\|\\| y``` | — | — |',
    );
  });
});

test('an open incident without diagnostics, decision, plan or events', () => {
  const incident: Incident = {
    ...INCIDENT,
    status: 'diagnosing',
    acknowledged: false,
    dryRun: true,
    resolvedAt: undefined,
    verdicts: {},
    overall: undefined,
    decision: undefined,
    plan: [],
  };
  const report = renderReport(incident, []);
  const expected = [
    '| Status | diagnosing |',
    '| Overall verdict | — |',
    '| Resolved | — |',
    '| Time to evidence | — |',
    '| Time to resolve | — |',
    '| Acknowledged | no |',
    '| Dry run | yes |',
    '## Verdicts\n\n_No diagnostics ran._',
    '## Decision\n\n_No decision was made._',
    '## Actions\n\n_No remediations were planned._',
    '## Timeline\n\n_No events._\n',
  ];
  expect(
    expected.filter((part) => !report.includes(part)),
    `missing from:\n${report}`,
  ).toEqual([]);
});
