import { type Facts, type Incident, type TimelineEvent, VERDICT_SYMBOLS, type Verdict } from './types.ts';

/**
 * The post-incident report, as Markdown (GitHub-flavoured tables). Everything that came from
 * outside — labels, annotations, facts, messages, comments — is escaped, so an alert cannot add
 * table cells, links, HTML or headings to the report. Output depends only on the inputs: times are
 * ISO-8601 UTC, labels are sorted, and no clock is read.
 */
export function renderReport(
  incident: Incident,
  timeline: readonly TimelineEvent[],
  charts: readonly ReportChart[] = [],
): string {
  return `${[
    `# Incident ${text(incident.id)}: ${text(incident.runbookName)} (${text(incident.severity)})`,
    summary(incident, timeline),
    alertSection(incident),
    verdicts(incident),
    ...(charts.length > 0 ? [chartsSection(charts)] : []),
    decision(incident),
    actions(incident),
    timelineSection(timeline),
  ].join('\n\n')}\n`;
}

/** A chart the report shows (src/engine/chart.ts): its title, its words, and where its image is. */
export interface ReportChart {
  title: string;
  summary: string;
  /** The image: a URL (report.md), or a placeholder the HTML report swaps for the inline SVG. */
  src: string;
}

function chartsSection(charts: readonly ReportChart[]): string {
  // The URL is ours (a chart route), but escaped all the same: it must stay one link target.
  const target = (src: string) => `<${src.replace(/[<>\s]/g, encodeURIComponent)}>`;
  const lines = charts.map((c) => `### ${text(c.title)}\n\n![${text(c.summary)}](${target(c.src)})`);
  return `## Charts\n\n${lines.join('\n\n')}`;
}

/** Inline Markdown text: HTML and Markdown punctuation escaped, line breaks as `<br>`. */
function text(s: string): string {
  return (
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/[\\`*_[\]|~]/g, '\\$&')
      .replace(/\r\n|\r|\n/g, '<br>')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes (an ESC in a label would reach a terminal)
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `&#${c.charCodeAt(0)};`)
  );
}

/** A code span that survives any content: a fence longer than any backtick run inside. */
function code(s: string, inTable: boolean): string {
  let body = s.replace(/\r\n|\r|\n/g, ' ');
  // GFM splits table cells on `|` even inside code spans; its escape is `\|` there.
  if (inTable) body = body.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s;
}

/** ISO-8601 UTC without zero milliseconds; an unparseable time is shown as written. */
function time(s: string | undefined): string {
  if (s === undefined) return '—';
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) return text(s);
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  return h > 0 ? `${h}h ${m}m ${s}s` : `${m}m ${s}s`;
}

function between(from: string, to: string | undefined): number | undefined {
  return to === undefined ? undefined : Date.parse(to) - Date.parse(from);
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

function summary(incident: Incident, timeline: readonly TimelineEvent[]): string {
  const decided = timeline.find((e) => e.type === 'decision.made')?.at;
  const resolvedAt = incident.resolvedAt ?? timeline.findLast((e) => e.type === 'incident.resolved')?.at;
  const overall = incident.overall ? `${VERDICT_SYMBOLS[incident.overall]} ${incident.overall}` : '—';
  const rows = [
    ['Runbook', `${text(incident.runbookName)} (${code(incident.runbookId, true)})`],
    ['Service', text(incident.service)],
    ['Severity', text(incident.severity)],
    ['Status', text(incident.status)],
    ['Overall verdict', overall],
    ['Opened', time(incident.createdAt)],
    ['Resolved', time(resolvedAt)],
    ['Time to evidence', duration(between(incident.createdAt, decided))],
    ['Time to resolve', duration(between(incident.createdAt, resolvedAt))],
    ['Acknowledged', yesNo(incident.acknowledged)],
    ['Escalated', yesNo(incident.escalated)],
    ['Dry run', yesNo(incident.dryRun)],
    ['Incident key', code(incident.key, true)],
  ];
  return `## Summary\n\n${table(['Field', 'Value'], rows)}`;
}

function pairs(record: Record<string, string>): string[][] {
  return Object.keys(record)
    .sort()
    .map((k) => [text(k), text(record[k]!)]);
}

function alertSection(incident: Incident): string {
  const a = incident.alert;
  const name = a.labels.alertname ?? '(no alertname)';
  const intro =
    `${text(name)}, ${text(a.status)} since ${time(a.startsAt)}` +
    `${a.endsAt && a.status === 'resolved' ? ` until ${time(a.endsAt)}` : ''}, ` +
    `from ${text(a.source)}, fingerprint ${code(a.fingerprint, false)}.`;
  const labels = table(['Label', 'Value'], pairs(a.labels));
  const annotations = Object.keys(a.annotations).length
    ? `\n\n${table(['Annotation', 'Value'], pairs(a.annotations))}`
    : '';
  return `## Triggering alert\n\n${intro}\n\n${labels}${annotations}`;
}

function brief(value: unknown): string {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(truncate(value, 40));
  if (Array.isArray(value)) return `[${value.length} item${value.length === 1 ? '' : 's'}]`;
  return value === undefined ? 'undefined' : '{…}';
}

/** The first few facts, abbreviated: enough to see why, not the whole output. */
function keyFacts(facts: Facts): string {
  const shown = Object.entries(facts)
    .slice(0, 4)
    .map(([k, v]) => `${k}=${brief(v)}`);
  if (Object.keys(facts).length > 4) shown.push('…');
  return shown.length ? text(shown.join(', ')) : '—';
}

function verdictRow(v: Verdict): string[] {
  const why = v.matched
    ? `${v.matched.level}: ${code(v.matched.expression, true)}`
    : v.message
      ? text(v.message)
      : '—';
  return [
    text(v.stepId),
    `${VERDICT_SYMBOLS[v.status]} ${v.status}`,
    why,
    keyFacts(v.facts),
    duration(v.durationMs),
  ];
}

function verdicts(incident: Incident): string {
  const rows = Object.values(incident.verdicts).map(verdictRow);
  if (rows.length === 0) return '## Verdicts\n\n_No diagnostics ran._';
  return `## Verdicts\n\n${table(['Step', 'Verdict', 'Matched', 'Key facts', 'Duration'], rows)}`;
}

function decision(incident: Incident): string {
  const d = incident.decision;
  if (!d) return '## Decision\n\n_No decision was made._';
  const chosen = d.remediations.length ? d.remediations.map((r) => code(r, false)).join(', ') : 'none';
  const lines = [
    `Remediations chosen: ${chosen}.${d.otherwiseApplied ? ' No condition held; `otherwise` applied.' : ''}`,
    '',
  ];
  for (const rule of d.rationale) {
    const title = `Rule ${rule.index + 1}${rule.description ? ` — ${text(rule.description)}` : ''}`;
    lines.push(`${rule.index + 1}. ${rule.matched ? '✓ matched' : '✗ not matched'}: **${title}**`);
    lines.push(`   - condition: ${code(rule.condition, false)}`);
    for (const [name, value] of Object.entries(rule.values))
      lines.push(
        `   - ${code(name, false)} = ${code(truncate(JSON.stringify(value) ?? 'undefined', 80), false)}`,
      );
    if (rule.error) lines.push(`   - error: ${text(rule.error)}`);
    const then = rule.then.length ? rule.then.map((r) => code(r, false)).join(', ') : 'nothing';
    lines.push(`   - then: ${then}${rule.stopped ? ' (stop: later rules not evaluated)' : ''}`);
  }
  return `## Decision\n\n${lines.join('\n')}`;
}

function actions(incident: Incident): string {
  if (incident.plan.length === 0) return '## Actions\n\n_No remediations were planned._';
  const rows = incident.plan.map((s) => [
    `${text(s.name)} (${code(s.stepId, true)})`,
    `${text(s.kind)}${s.actionType ? ` · ${text(s.actionType)}` : ''}`,
    text(s.state),
    s.by ? text(s.by) : '—',
    s.at ? time(s.at) : '—',
    s.comment ? text(s.comment) : '—',
    s.detail ? text(truncate(s.detail, 200)) : '—',
  ]);
  return `## Actions\n\n${table(['Step', 'Kind', 'State', 'By', 'At', 'Comment', 'Detail'], rows)}`;
}

function timelineSection(timeline: readonly TimelineEvent[]): string {
  if (timeline.length === 0) return '## Timeline\n\n_No events._';
  const rows = timeline.map((e) => [time(e.at), text(e.actor), code(e.type, true), text(e.message)]);
  return `## Timeline\n\n${table(['Time', 'Actor', 'Event', 'Message'], rows)}`;
}
