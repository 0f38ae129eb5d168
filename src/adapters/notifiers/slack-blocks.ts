import { SLACK_ACTIONS, slackActionValue } from '../../engine/slack-actions.ts';
import type { Incident, PlanStep, VerdictStatus } from '../../engine/types.ts';
import type { Notification, NotificationKind } from '../types.ts';
import {
  actionCommand,
  clipMrkdwn,
  clipPlain,
  compactValue,
  escapeMrkdwn,
  inlineCode,
  oneLine,
  packLines,
  verdictDetail,
} from './slack-text.ts';

export { keyFacts } from './slack-text.ts';

/**
 * The Slack message of a notification, as Block Kit: pure data from the notification and its
 * incident document. Untrusted text is escaped (slack-text.ts) and everything is clipped to
 * Block Kit's limits, so a huge incident still posts.
 */

/** Block Kit's limits (Slack reference: blocks, text objects, button and confirm elements). */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  imageUrl: 3000,
  imageAltText: 2000,
  imageTitle: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji: true;
}
export interface MrkdwnText {
  type: 'mrkdwn';
  text: string;
  verbatim: true;
}
export interface SlackButton {
  type: 'button';
  text: PlainText;
  action_id: string;
  value?: string;
  url?: string;
  style?: 'primary' | 'danger';
  confirm?: { title: PlainText; text: PlainText; confirm: PlainText; deny: PlainText; style?: 'primary' };
}
export type SlackBlock =
  | { type: 'header'; text: PlainText }
  | { type: 'section'; text: MrkdwnText }
  | { type: 'context'; elements: MrkdwnText[] }
  | { type: 'actions'; elements: SlackButton[] }
  | { type: 'image'; image_url: string; alt_text: string; title: PlainText };

/** What an incoming webhook is POSTed: `text` is the fallback shown in notifications. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export interface SlackMessageOptions {
  /** Approve / Reject buttons work only when Slack's requests can be verified (a signing secret). */
  interactive: boolean;
}

/** Symbol AND word for each verdict, so the colour is never the only signal. */
export const VERDICT_MARKS: Record<VerdictStatus, string> = {
  critical: '🔴 critical',
  warning: '🟠 warning',
  healthy: '🟢 healthy',
  unknown: '⚪ unknown',
  error: '⚠️ error',
};
/** Worst first: when a long list is cut, what is cut is the healthy part. */
const VERDICT_ORDER: VerdictStatus[] = ['critical', 'error', 'warning', 'unknown', 'healthy'];

const KIND_LABELS: Record<NotificationKind, string> = {
  opened: 'Incident opened',
  update: 'Diagnosed',
  approval_needed: 'Approval needed',
  escalation: 'Escalated',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
};

/** A line of a list; long ones are cut so several fit in a section. */
const LINE_MAX = 500;
/** The command an approval would run, as shown with it. */
const COMMAND_MAX = 1000;
/** Said first, in the approval blocks and the fallback text, once no alert of the incident fires. */
const ALERT_RESOLVED = 'The alert has resolved at the source';
const RESOLVED_WARNING = `⚠️ *${ALERT_RESOLVED}:* none of this incident's alerts fires any more. Check that the step is still needed before approving it.`;

const plain = (text: string, max: number): PlainText => ({
  type: 'plain_text',
  text: clipPlain(oneLine(text) || '-', max),
  emoji: true,
});
const mrkdwn = (text: string): MrkdwnText => ({ type: 'mrkdwn', text, verbatim: true });
const section = (text: string): SlackBlock => ({ type: 'section', text: mrkdwn(text) });
const words = (state: string) => state.replaceAll('_', ' ');

/** Builds the message for one notification. */
export function slackMessage(n: Notification, opts: SlackMessageOptions): SlackMessage {
  const incident = n.incident;
  const label = KIND_LABELS[n.kind];
  const resolvedNote =
    n.kind === 'approval_needed' && incident?.alertResolved ? ` (${ALERT_RESOLVED.toLowerCase()})` : '';
  const text = clipMrkdwn(oneLine(`${label}${resolvedNote}: ${n.title}`), SLACK_LIMITS.sectionText);
  const head: SlackBlock[] = [
    {
      type: 'header',
      text: plain(
        incident
          ? `${incident.severity} ${incident.service}: ${n.runbookName ?? incident.runbookName}`
          : n.title,
        SLACK_LIMITS.headerText,
      ),
    },
  ];
  if (incident) head.push({ type: 'context', elements: [mrkdwn(statusLine(label, incident))] });
  const body = [alertLine(incident), n.text].filter((s): s is string => !!s);
  head.push(section(clipMrkdwn(body.join('\n'), SLACK_LIMITS.sectionText)));
  if (incident) {
    head.push(...listSections('Diagnostics', diagnosticLines(incident), 4));
    head.push(...imageBlocks(n));
    if (incident.decision) head.push(...listSections('Decision', decisionLines(incident), 2));
    if (incident.plan.length > 0) head.push(...listSections('Plan', incident.plan.map(planLine), 2));
  }
  const tail: SlackBlock[] = [];
  const linkButton = n.link && n.link.length <= SLACK_LIMITS.buttonUrl ? n.link : undefined;
  if (linkButton)
    tail.push({
      type: 'actions',
      elements: [
        { type: 'button', text: plain('Open incident', 75), url: linkButton, action_id: 'open_incident' },
      ],
    });
  // What is left of the 50 blocks goes to approvals (two blocks each, one kept for "n more").
  const room = SLACK_LIMITS.blocks - head.length - tail.length;
  return { text, blocks: [...head, ...approvalBlocks(n, opts, room), ...tail] };
}

/** One image block per chart the notification carries (a link Slack can fetch). */
function imageBlocks(n: Notification): SlackBlock[] {
  return (n.images ?? [])
    .filter((image) => image.url.length <= SLACK_LIMITS.imageUrl)
    .map((image) => ({
      type: 'image',
      image_url: image.url,
      alt_text: clipPlain(image.alt || image.title, SLACK_LIMITS.imageAltText),
      title: plain(image.title, SLACK_LIMITS.imageTitle),
    }));
}

function statusLine(label: string, incident: Incident): string {
  const flags = [
    incident.acknowledged ? 'acknowledged' : '',
    incident.escalated ? 'escalated' : '',
    incident.dryRun ? 'dry run' : '',
    incident.alertResolved ? 'alert resolved' : '',
  ].filter(Boolean);
  return clipMrkdwn(
    oneLine(
      `*${label}* · incident \`${incident.id}\` · ${words(incident.status)}${flags.map((f) => ` · ${f}`).join('')}`,
    ),
    SLACK_LIMITS.sectionText,
  );
}

/** The alert's name and summary, raw: untrusted, escaped with the section it goes in. */
function alertLine(incident: Incident | undefined): string | undefined {
  if (!incident) return undefined;
  const { labels, annotations } = incident.alert;
  const name = labels.alertname ?? incident.alert.source;
  const summary = annotations.summary ?? annotations.description;
  return oneLine(`Alert: ${name}${summary ? ` — ${summary}` : ''}`);
}

function listSections(title: string, lines: string[], maxSections: number): SlackBlock[] {
  const all = lines.length > 0 ? lines : ['(none)'];
  const packed = packLines([`*${title}*`, ...all], SLACK_LIMITS.sectionText, maxSections);
  return packed.map(section);
}

function diagnosticLines(incident: Incident): string[] {
  const verdicts = Object.values(incident.verdicts).sort(
    (a, b) => VERDICT_ORDER.indexOf(a.status) - VERDICT_ORDER.indexOf(b.status),
  );
  if (verdicts.length === 0) return [incident.status === 'diagnosing' ? '_running…_' : '(none)'];
  return verdicts.map((v) => {
    const [mark, word] = VERDICT_MARKS[v.status].split(' ') as [string, string];
    return `${mark} *${word}* ${clipMrkdwn(oneLine(`${v.stepId} — ${verdictDetail(v)}`), LINE_MAX)}`;
  });
}

function decisionLines(incident: Incident): string[] {
  const held = incident.decision?.rationale.filter((r) => r.matched) ?? [];
  if (held.length === 0) return ['No rule matched: nothing planned.'];
  return held.map((r) => {
    const values = Object.entries(r.values);
    const read = values
      .slice(0, 4)
      .map(([k, v]) => `${k} = ${clipPlain(compactValue(v), 60)}`)
      .join(', ');
    const more = values.length > 4 ? ` (+${values.length - 4})` : '';
    const then = r.then.length > 0 ? ` → ${r.then.join(', ')}` : '';
    return `• ${clipMrkdwn(oneLine(`${r.description || r.condition} — ${read || 'no values'}${more}${then}`), LINE_MAX)}`;
  });
}

function planLine(step: PlanStep): string {
  const by = step.by ? ` by ${step.by}` : '';
  return `• ${clipMrkdwn(oneLine(`${step.name} — ${step.kind} · ${words(step.state)}${by}`), LINE_MAX)}`;
}

/**
 * What each step this notification is about would run, with Approve / Reject (or, without a
 * signing secret, where to decide instead), within `room` blocks; first, when no alert of the
 * incident fires any more, a warning saying so.
 */
function approvalBlocks(n: Notification, opts: SlackMessageOptions, room: number): SlackBlock[] {
  const incident = n.incident;
  if (!incident || incident.status === 'resolved') return [];
  if (n.kind !== 'approval_needed' && n.kind !== 'escalation') return [];
  const steps = incident.plan.filter(
    (s) =>
      s.state === 'awaiting_approval' && (n.kind !== 'approval_needed' || !n.stepId || s.stepId === n.stepId),
  );
  if (steps.length === 0) return [];
  const blocks: SlackBlock[] = incident.alertResolved ? [section(RESOLVED_WARNING)] : [];
  const where = opts.interactive
    ? []
    : [
        context(
          `Approve or reject on the incident page, or with \`fireline approve ${escapeMrkdwn(incident.id)} &lt;step&gt;\`.`,
        ),
      ];
  // Each step takes its section, and its buttons; one block is kept for "n more".
  const per = opts.interactive ? 2 : 1;
  const left = room - blocks.length - where.length;
  const fit = steps.length * per <= left ? steps.length : Math.max(0, Math.floor((left - 1) / per));
  for (const step of steps.slice(0, fit)) {
    blocks.push(askSection(step));
    if (opts.interactive) blocks.push(...stepButtons(incident, step));
  }
  if (fit < steps.length)
    blocks.push(context(`… (${steps.length - fit} more awaiting approval: open the incident page)`));
  return [...blocks, ...where];
}

const context = (text: string): SlackBlock => ({ type: 'context', elements: [mrkdwn(text)] });

/** `name (type)`: the step and its action type. */
const stepLabel = (step: PlanStep) => `${step.name}${step.actionType ? ` (${step.actionType})` : ''}`;

/** The step, and the rendering it would run: the command, its target and the rendering's hash. */
function askSection(step: PlanStep): SlackBlock {
  const lines = [`*Needs approval:* ${clipMrkdwn(oneLine(stepLabel(step)), LINE_MAX)}`];
  const { action } = step;
  if (action)
    lines.push(
      `Runs ${inlineCode(actionCommand(action), COMMAND_MAX)}`,
      `Target ${inlineCode(action.target, LINE_MAX)} · rendering ${inlineCode(action.hash, 64)}`,
    );
  return section(lines.join('\n'));
}

function stepButtons(incident: Incident, step: PlanStep): SlackBlock[] {
  const value = slackActionValue(incident.id, step.stepId);
  if (value.length > SLACK_LIMITS.buttonValue) return [];
  const resolved = incident.alertResolved ? `${ALERT_RESOLVED}. ` : '';
  const rendering = step.action ? ` (rendering ${step.action.hash})` : '';
  return [
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: plain('Approve', SLACK_LIMITS.buttonText),
          action_id: SLACK_ACTIONS.approve,
          value,
          style: 'primary',
          confirm: {
            title: plain('Approve this step?', SLACK_LIMITS.confirmTitle),
            text: plain(
              `${resolved}Run ${stepLabel(step)} on ${incident.service} for incident ${incident.id}${rendering}.`,
              SLACK_LIMITS.confirmText,
            ),
            confirm: plain('Approve', SLACK_LIMITS.confirmButton),
            deny: plain('Cancel', SLACK_LIMITS.confirmButton),
            style: 'primary',
          },
        },
        {
          type: 'button',
          text: plain('Reject', SLACK_LIMITS.buttonText),
          action_id: SLACK_ACTIONS.reject,
          value,
          style: 'danger',
        },
      ],
    },
  ];
}
