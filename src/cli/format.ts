import {
  type Incident,
  type PlanStep,
  type RuleRationale,
  type TimelineEvent,
  VERDICT_SYMBOLS,
  type VerdictStatus,
} from '../engine/types.ts';

/** Bodies of the API answers the CLI prints (as src/producer/routes/incidents.ts and remediations.ts send them). */
export interface IncidentDetail {
  incident: Incident;
  runbook: {
    id: string;
    name: string;
    severity: string;
    service: string;
    diagnostics: { id: string; name: string; type: string }[];
  } | null;
  escalation: { dueAt: string | null };
}
export interface IncidentPage {
  items: Incident[];
  nextCursor: string | null;
}
export interface RemediationsStatus {
  paused: boolean;
  counts: Record<string, number>;
}

/** How times are shown: relative to `now`, in `timeZone` (the machine's zone when unset). */
export interface TimeOptions {
  now: Date;
  timeZone?: string;
}

// Untrusted text made safe for a terminal: the helpers live beside the pretty log lines, which need them too.
import { clean } from '../logger.ts';

export { clean, cleanLines } from '../logger.ts';

function parts(at: string, timeZone: string | undefined): Record<string, string> | null {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) return null;
  const fmt = new Intl.DateTimeFormat('en-GB', {
    ...(timeZone ? { timeZone } : {}),
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}

/** `12:03:04`; an unparseable time is shown as written. */
export function clock(at: string, timeZone?: string): string {
  const p = parts(at, timeZone);
  return p ? `${p.hour}:${p.minute}:${p.second}` : clean(at);
}

/** `2024-05-01 12:03:04`. */
export function dateTime(at: string, timeZone?: string): string {
  const p = parts(at, timeZone);
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}` : clean(at);
}

/** A duration as one rounded unit: `45s`, `12m`, `5h`, `3d`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function ago(at: string, now: Date): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? '?' : duration(now.getTime() - ms);
}

/** One `watch` line: `12:03:04  diagnostic.finished  Database connections: critical (value >= 90)`. */
export function formatEventLine(
  event: TimelineEvent,
  opts: { timeZone?: string; withIncident?: boolean },
): string {
  return [
    clock(event.at, opts.timeZone),
    ...(opts.withIncident ? [clean(event.incidentId)] : []),
    clean(event.type),
    clean(event.message),
  ].join('  ');
}

/** `✗ critical`: a symbol for the eye and the word for a screen reader or a colour-blind reader. */
export function verdictLabel(status: VerdictStatus | undefined): string {
  return status ? `${VERDICT_SYMBOLS[status] ?? '?'} ${status}` : '… pending';
}

function flags(incident: Incident): string {
  const list = [
    ...(incident.acknowledged ? ['ack'] : []),
    ...(incident.escalated ? ['escalated'] : []),
    ...(incident.dryRun ? ['dry-run'] : []),
  ];
  return list.join(',') || '-';
}

function status(s: string): string {
  return s.replaceAll('_', ' ');
}

/** Rows padded into columns; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
  );
}

/** The `incidents list` table: id, severity, status, runbook, age, flags. */
export function formatIncidentTable(page: IncidentPage, opts: TimeOptions): string {
  if (page.items.length === 0) return 'No incidents match.\n';
  const rows = [
    ['ID', 'SEV', 'STATUS', 'RUNBOOK', 'AGE', 'FLAGS'],
    ...page.items.map((i) => [
      clean(i.id),
      clean(i.severity),
      status(i.status),
      clean(i.runbookId),
      ago(i.createdAt, opts.now),
      flags(i),
    ]),
  ];
  const more = page.nextCursor ? ['(more incidents: raise --limit or narrow the filters)'] : [];
  return `${[...table(rows), ...more].join('\n')}\n`;
}

function value(v: unknown): string {
  return clean(typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));
}

function ruleLines(rule: RuleRationale): string[] {
  const mark = rule.error ? '!' : rule.matched ? '✓' : '·';
  const head = `  ${mark} ${clean(rule.description || `rule ${rule.index + 1}`)}: ${clean(rule.condition)}`;
  const read = Object.entries(rule.values ?? {}).map(([k, v]) => `${clean(k)} = ${value(v)}`);
  return [
    `${head}${rule.matched ? '' : ' (did not hold)'}${rule.stopped ? ' (stop)' : ''}`,
    ...(read.length ? [`      read: ${read.join(', ')}`] : []),
    ...(rule.error ? [`      error: ${clean(rule.error)}`] : []),
    ...(rule.matched && rule.then.length ? [`      → ${rule.then.map(clean).join(', ')}`] : []),
  ];
}

function stepHint(incident: Incident, step: PlanStep): string {
  if (incident.status === 'resolved') return '';
  const incidentId = incident.id;
  if (step.state === 'awaiting_approval')
    return `  → fireline approve|reject ${clean(incidentId)} ${clean(step.stepId)}`;
  if (step.kind === 'manual' && step.state === 'pending')
    return `  → fireline complete ${clean(incidentId)} ${clean(step.stepId)}`;
  return '';
}

function planLines(incident: Incident): string[] {
  const rows = incident.plan.map((s) => [
    status(s.state),
    clean(s.stepId),
    `${clean(s.name)} (${s.kind})${s.by ? ` by ${clean(s.by)}` : ''}${stepHint(incident, s)}`,
  ]);
  const details = incident.plan.flatMap((s) => [
    ...(s.action && s.state === 'awaiting_approval'
      ? [
          `    ${clean(s.stepId)}: will run ${clean(s.action.type)} on ${clean(s.action.target)} (rendering ${clean(s.action.hash)}): ${clean(JSON.stringify(s.action.config))}`,
        ]
      : []),
    ...(s.state === 'awaiting_approval' && incident.alertResolved
      ? [`    ${clean(s.stepId)}: the alert has resolved at the source; approving now skips this step`]
      : []),
    ...(s.instructions ? [`    ${clean(s.stepId)}: ${clean(s.instructions)}`] : []),
    ...(s.detail ? [`    ${clean(s.stepId)}: ${clean(s.detail)}`] : []),
    ...(s.comment ? [`    ${clean(s.stepId)}: “${clean(s.comment)}”`] : []),
  ]);
  return [...table(rows).map((r) => `  ${r}`), ...details];
}

/** The `incidents show` summary: state, alert, verdicts, decision rationale, plan, escalation. */
export function formatIncident(detail: IncidentDetail, opts: TimeOptions): string {
  const { incident, runbook, escalation } = detail;
  const labels = Object.entries(incident.alert?.labels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${clean(k)}=${clean(v)}`);
  const flagWords = flags(incident);
  const due = escalation?.dueAt;
  const head = table([
    [
      'runbook',
      `${clean(incident.runbookId)} (${clean(incident.severity)}, service ${clean(incident.service)})`,
    ],
    ['status', `${status(incident.status)}${flagWords === '-' ? '' : `  [${flagWords}]`}`],
    [
      'opened',
      `${dateTime(incident.createdAt, opts.timeZone)} (${ago(incident.createdAt, opts.now)} ago) via ${clean(incident.alert?.source ?? '?')}`,
    ],
    ...(incident.resolvedAt ? [['resolved', dateTime(incident.resolvedAt, opts.timeZone)]] : []),
    ['labels', labels.join(' ') || '-'],
    [
      'escalation',
      due
        ? `due ${dateTime(due, opts.timeZone)} (in ${duration(Date.parse(due) - opts.now.getTime())})`
        : 'none pending',
    ],
  ]);
  const names = new Map(runbook?.diagnostics.map((d) => [d.id, d.name]) ?? []);
  const stepIds = [...new Set([...names.keys(), ...Object.keys(incident.verdicts ?? {})])];
  const verdictRows = stepIds.map((id) => {
    const v = incident.verdicts?.[id];
    const why = v?.matched ? clean(v.matched.expression) : v?.message ? `— ${clean(v.message)}` : '';
    return [verdictLabel(v?.status), clean(names.get(id) ?? id), why];
  });
  const decision = incident.decision;
  const lines = [
    `${clean(incident.id)}  ${clean(incident.runbookName)}`,
    ...head.map((l) => `  ${l}`),
    '',
    `Verdicts${incident.overall ? ` (overall ${verdictLabel(incident.overall)})` : ''}`,
    ...(verdictRows.length ? table(verdictRows).map((r) => `  ${r.trimEnd()}`) : ['  (none yet)']),
    '',
    'Decision',
    ...(decision
      ? [
          ...decision.rationale.flatMap(ruleLines),
          ...(decision.otherwiseApplied ? ['  ✓ otherwise applied'] : []),
          ...(decision.remediations.length === 0 ? ['  no remediation chosen'] : []),
        ]
      : ['  (not made yet)']),
    '',
    'Plan',
    ...(incident.plan?.length ? planLines(incident) : ['  (empty)']),
    '',
  ];
  return lines.join('\n');
}

/** One plan step after approve/reject/complete: `rollback_deployment: approved by token:operator`. */
export function formatStep(step: PlanStep): string {
  return `${clean(step.stepId)}: ${status(step.state)}${step.by ? ` by ${clean(step.by)}` : ''}\n`;
}

/** `remediations status`: the kill switch and the queue counts. */
export function formatRemediations(s: RemediationsStatus): string {
  const state = s.paused
    ? 'paused: no automated action starts until `fireline remediations resume`'
    : 'running';
  const counts = Object.entries(s.counts ?? {}).map(([k, n]) => [k, String(n)]);
  return `${[`Remediations ${state}`, ...table(counts).map((r) => `  ${r}`)].join('\n')}\n`;
}
