import type { Incident } from '../engine/types.ts';
import type { HistoryPage } from '../history/search.ts';
import type { HistoryStats, Percentiles, RunbookStats } from '../history/stats.ts';
import { clean, dateTime, table } from './format.ts';

/**
 * What `fireline stats` and `fireline history` print: the effectiveness statistics as tables (one
 * row per runbook, then each runbook's actions, rules and manual steps, then the coverage) and a
 * page of past incidents. Every name and label in them is untrusted text, cleaned for a terminal.
 */

/** Seconds as `45s`, `1m 30s`, `2h 5m`, `3d 4h`; below 10 s with a tenth; null as `–`. */
export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s < 10) return `${Number(s.toFixed(1))}s`;
  const total = Math.round(s);
  const pair = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit} ${small}${smallUnit}`;
  if (total < 60) return `${total}s`;
  if (total < 3600) return pair(Math.floor(total / 60), 'm', total % 60, 's');
  if (total < 86_400) return pair(Math.floor(total / 3600), 'h', Math.floor((total % 3600) / 60), 'm');
  return pair(Math.floor(total / 86_400), 'd', Math.floor((total % 86_400) / 3600), 'h');
}

/** A share as a whole percentage; null as `–`. */
export function percent(share: number | null | undefined): string {
  return share === null || share === undefined ? '–' : `${Math.round(share * 100)}%`;
}

const pair = (p: Percentiles) => `${seconds(p.p50)} / ${seconds(p.p90)}`;
const indent = (lines: string[]) => lines.map((l) => `    ${l}`);

function runbookTable(runbooks: readonly RunbookStats[]): string[] {
  return table([
    [
      'RUNBOOK',
      'INCIDENTS',
      'RESOLVED',
      'TTE p50/p90',
      'TTA p50/p90',
      'TTR p50/p90',
      'UNATTENDED',
      'ESCALATED',
    ],
    ...runbooks.map((r) => [
      clean(r.runbookId),
      String(r.incidents),
      String(r.resolved),
      pair(r.timeToEvidence),
      pair(r.timeToAcknowledge),
      pair(r.timeToResolve),
      percent(r.resolvedUnattendedShare),
      String(r.escalations),
    ]),
  ]);
}

/** Actions, rules and manual steps of one runbook; nothing when it has none of them. */
function runbookDetail(r: RunbookStats): string[] {
  const lines: string[] = [];
  if (r.actions.length > 0)
    lines.push(
      '  Actions',
      ...indent(
        table([
          ['STEP', 'TYPE', 'RUNS', 'OUTCOMES', 'VERIFIED OK'],
          ...r.actions.map((a) => [
            clean(a.stepId),
            clean(a.actionType ?? '-'),
            String(a.runs),
            Object.entries(a.outcomes)
              .sort(([s1, n1], [s2, n2]) => n2 - n1 || s1.localeCompare(s2))
              .map(([state, n]) => `${clean(state)} ${n}`)
              .join(', '),
            a.verifySuccessRate === null
              ? 'no verify ran'
              : `${a.verified} of ${a.verified + a.verifyFailed} (${percent(a.verifySuccessRate)})`,
          ]),
        ]),
      ),
    );
  if (r.rules.length > 0)
    lines.push(
      '  Rules',
      ...indent(
        table([
          ['RULE', 'HELD', 'DESCRIPTION'],
          ...r.rules.map((rule) => [
            String(rule.ruleIndex + 1),
            `${rule.held} of ${rule.evaluated} (${percent(rule.heldShare)})`,
            clean(rule.description) || '-',
          ]),
        ]),
      ),
    );
  if (r.manualSteps.length > 0)
    lines.push(
      '  Manual steps',
      ...indent(
        table([
          ['STEP', 'DONE', 'TOOK p50/p90'],
          ...r.manualSteps.map((m) => [clean(m.stepId), String(m.completed), pair(m.duration)]),
        ]),
      ),
    );
  const title = r.runbookName === r.runbookId ? '' : `  ${clean(r.runbookName)}`;
  return lines.length === 0 ? [] : ['', `${clean(r.runbookId)}${title}`, ...lines];
}

function coverage(stats: HistoryStats, timeZone?: string): string[] {
  const { unmatched, neverFired } = stats.coverage;
  return [
    '',
    'Coverage',
    ...(unmatched.length === 0
      ? ['  Every alert that fired was taken by a runbook.']
      : [
          '  Alerts no runbook took, most firings first:',
          ...indent(
            table([
              ['ALERT', 'FIRINGS', 'DELIVERIES', 'LAST SEEN', 'LABELS'],
              ...unmatched.map((u) => [
                clean(u.alertname) || '(no alertname)',
                String(u.firings),
                String(u.deliveries),
                dateTime(u.lastSeen, timeZone),
                Object.entries(u.labels)
                  .filter(([k]) => k !== 'alertname')
                  .map(([k, v]) => `${clean(k)}=${clean(v)}`)
                  .join(' '),
              ]),
            ]),
          ),
        ]),
    `  Runbooks that never fired: ${neverFired.map(clean).join(', ') || 'none'}`,
  ];
}

/** The `fireline stats` report. */
export function formatStats(stats: HistoryStats, opts: { timeZone?: string } = {}): string {
  const range = `${stats.from ? dateTime(stats.from, opts.timeZone) : 'the start'} to ${stats.to ? dateTime(stats.to, opts.timeZone) : 'now'}`;
  const body =
    stats.runbooks.length === 0
      ? ['No incidents in this range.']
      : [
          ...runbookTable(stats.runbooks),
          '(TTE: time to evidence, the decision; TTA: to acknowledge; TTR: to resolve)',
          ...stats.runbooks.flatMap(runbookDetail),
        ];
  return `${[`Incidents from ${range}`, '', ...body, ...coverage(stats, opts.timeZone)].join('\n')}\n`;
}

/** The `fireline history` list: id, opened, runbook, status. */
export function formatHistoryPage(page: HistoryPage, opts: { timeZone?: string } = {}): string {
  if (page.items.length === 0) return 'No past incident matches.\n';
  const rows = [
    ['ID', 'OPENED', 'RUNBOOK', 'STATUS'],
    ...page.items.map((i: Incident) => [
      clean(i.id),
      dateTime(i.createdAt, opts.timeZone),
      clean(i.runbookId),
      clean(i.status).replaceAll('_', ' '),
    ]),
  ];
  const more = page.nextCursor ? ['(more incidents match: raise --limit or add words)'] : [];
  return `${[...table(rows), ...more].join('\n')}\n`;
}
