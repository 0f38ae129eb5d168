import type { RenderedAction, Verdict } from '../../engine/types.ts';
import { formatArgv } from '../process.ts';

/**
 * Text for Slack: escaping per Slack's rules and clipping to Block Kit's limits. Pure functions.
 *
 * Slack reads `&`, `<` and `>` as control characters in mrkdwn (`<!channel>`, `<@U123>`,
 * `<https://x|label>`), so untrusted text (alert labels, diagnostic output) has them escaped as
 * `&amp;`, `&lt;`, `&gt;` and is sent with `verbatim: true`, which also stops Slack from linking
 * bare channel names and URLs in it.
 */

/** Escapes Slack's three control characters; everything else is shown as written. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/**
 * Escapes `raw` and keeps the result within `max` characters; when it does not fit, cuts on a
 * character boundary (never inside an escape or a surrogate pair) and ends with
 * "… (n more chars)", n counted in the raw text.
 */
export function clipMrkdwn(raw: string, max: number): string {
  const full = escapeMrkdwn(raw);
  if (full.length <= max) return full;
  return clipBy(raw, max, escapeMrkdwn);
}

/** Keeps plain text within `max` characters the same way (plain_text needs no escaping). */
export function clipPlain(raw: string, max: number): string {
  return raw.length <= max ? raw : clipBy(raw, max, (c) => c);
}

function clipBy(raw: string, max: number, render: (c: string) => string): string {
  const chars = Array.from(raw);
  const suffix = (left: number) => `… (${left} more chars)`;
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const next = out + render(chars[i] as string);
    if (next.length + suffix(chars.length - i - 1).length > max) return out + suffix(chars.length - i);
    out = next;
  }
  return out;
}

/** Raw text as inline code, one line, escaped and clipped; a backtick shows as ˋ so it cannot end the code. */
export function inlineCode(raw: string, max: number): string {
  return `\`${clipMrkdwn(oneLine(raw).replaceAll('`', 'ˋ'), max)}\``;
}

/** One line for a list: newlines and runs of blanks folded to a space, so a value cannot add lines. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * A value as compact text: strings as they are, numbers to at most 3 decimals (a responder reads
 * `6.014`, not `6.014285714285705`), the rest as JSON.
 */
export function compactValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value))
    return String(Math.round(value * 1000) / 1000);
  // Facts and rationale values come from JSON, so stringify cannot meet a cycle or a BigInt.
  return JSON.stringify(value) ?? String(value);
}

/**
 * Packs lines (already escaped, each well under `maxChars`) into as few section texts of at most `maxChars` as
 * it can, at most `maxSections` of them; lines that do not fit are counted in a final
 * "… (n more)" line.
 */
export function packLines(lines: readonly string[], maxChars: number, maxSections: number): string[] {
  const sections: string[] = [];
  let current = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const joined = current ? `${current}\n${line}` : line;
    const last = sections.length === maxSections - 1;
    // The last section keeps room for the "… (n more)" line.
    const room = last && i < lines.length - 1 ? maxChars - `\n… (${lines.length} more)`.length : maxChars;
    if (joined.length <= room) {
      current = joined;
      continue;
    }
    if (!last && current) {
      sections.push(current);
      current = line.length <= maxChars ? line : line.slice(0, maxChars);
      continue;
    }
    const more = `… (${lines.length - i} more)`;
    sections.push(current ? `${current}\n${more}` : more);
    return sections;
  }
  if (current) sections.push(current);
  return sections;
}

/** The matched expression with the facts it read, or why there is no verdict. */
export function verdictDetail(v: Verdict): string {
  if (!v.matched) return v.message ?? 'no interpret expression held';
  const read = keyFacts(v.matched.expression, v.facts);
  return `${v.matched.expression}${read ? ` (${read})` : ''}`;
}

/** `json.used_pct = 96`: the scalar facts an expression names, at most three. */
export function keyFacts(expression: string, facts: Record<string, unknown>): string {
  const code = expression.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ');
  const paths = [...new Set(code.match(/[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/g) ?? [])];
  const shown: string[] = [];
  for (const path of paths) {
    let value: unknown = facts;
    for (const key of path.split('.'))
      value =
        value !== null && typeof value === 'object' && Object.hasOwn(value, key)
          ? (value as Record<string, unknown>)[key]
          : undefined;
    if (value === undefined || (value !== null && typeof value === 'object')) continue;
    shown.push(`${path} = ${clipPlain(compactValue(value), 60)}`);
    if (shown.length === 3) break;
  }
  return shown.join(', ');
}

const KUBECTL: Record<string, string[]> = {
  restart_service: ['rollout', 'restart'],
  rollback: ['rollout', 'undo'],
  scale_up: ['scale'],
};

/**
 * What a rendered action will run, as one raw line (escape it for its destination): an argv as a
 * shell would need it quoted, a Kubernetes action as its kubectl command (without the
 * connection's --kubeconfig), anything else as its config in compact JSON.
 */
export function actionCommand(action: Pick<RenderedAction, 'type' | 'config'>): string {
  const c = (action.config ?? {}) as Record<string, unknown>;
  if (Array.isArray(c.command) && c.command.every((a) => typeof a === 'string')) return formatArgv(c.command);
  const verb = KUBECTL[action.type];
  if (verb && typeof c.deployment === 'string' && typeof c.namespace === 'string') {
    const flags = [
      ...(typeof c.context === 'string' ? [`--context=${c.context}`] : []),
      ...(c.toRevision === undefined ? [] : [`--to-revision=${c.toRevision}`]),
      ...(c.replicas === undefined ? [] : [`--replicas=${c.replicas}`]),
    ];
    const scale = [
      c.by === undefined ? '' : `by +${c.by}`,
      c.maxReplicas === undefined ? '' : `at most ${c.maxReplicas} replicas`,
    ].filter(Boolean);
    const argv = ['kubectl', ...verb, `deployment/${c.deployment}`, '-n', c.namespace, ...flags];
    return `${formatArgv(argv)}${scale.length > 0 ? ` (${scale.join(', ')})` : ''}`;
  }
  return compactValue(action.config);
}
