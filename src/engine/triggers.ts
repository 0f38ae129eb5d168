import { createHash } from 'node:crypto';
import { FirelineError } from '../errors.ts';
import { MATCHER_PATTERN, type Runbook } from './runbook-schema.ts';
import type { Alert, RunbookIssue } from './types.ts';

/** One Alertmanager label matcher, its value unescaped. */
export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/**
 * Parse `name="value"`, `name!="v"`, `name=~"re"` or `name!~"re"` as Alertmanager does: in the
 * quoted value `\"`, `\\` and `\n` are unescaped, any other backslash is kept (so `=~"a\.b"` stays
 * the regex `a\.b`). Matchers are validated by the runbook schema, so a string that is not one is a
 * bug in the caller and throws a `FirelineError` with code `MATCHER_INVALID`.
 */
export function parseMatcher(s: string): Matcher {
  const m = MATCHER_PATTERN.exec(s);
  if (!m) throw new FirelineError('MATCHER_INVALID', `not a label matcher: ${JSON.stringify(s)}`);
  const value = m[3]!.replace(/\\(.)/g, (all: string, ch: string) =>
    ch === 'n' ? '\n' : ch === '"' || ch === '\\' ? ch : all,
  );
  return { label: m[1]!, op: m[2] as Matcher['op'], value };
}

type Test = { ok: true; test: (value: string) => boolean } | { ok: false; reason: string };

/**
 * A matcher as a predicate over one label value. Regexes are RE2 as Alertmanager writes them,
 * run as JavaScript regexes and anchored at both ends like Alertmanager's `^(?:re)$`; a leading
 * `(?i)`, `(?s)` or `(?m)` becomes the JavaScript flag (the anchoring is by lookaround, so `(?m)`
 * cannot loosen it). A regex JavaScript cannot compile is a reason, never a silent match.
 */
export function compileMatcher(matcher: Matcher): Test {
  const { op, value } = matcher;
  if (op === '=') return { ok: true, test: (v) => v === value };
  if (op === '!=') return { ok: true, test: (v) => v !== value };
  const flagged = /^\(\?([a-zA-Z]+)\)/.exec(value);
  const flags = flagged?.[1] ?? '';
  if (/[^ims]/.test(flags))
    return { ok: false, reason: `regex flags (?${flags}) are not supported; use i, m or s` };
  const source = flagged ? value.slice(flagged[0].length) : value;
  let re: RegExp;
  try {
    re = new RegExp(`(?<![\\s\\S])(?:${source})(?![\\s\\S])`, flags);
  } catch (err) {
    return { ok: false, reason: `invalid regex ${JSON.stringify(value)}: ${(err as Error).message}` };
  }
  return op === '=~' ? { ok: true, test: (v) => re.test(v) } : { ok: true, test: (v) => !re.test(v) };
}

/** A label's value; absent is the empty string, as in Alertmanager. */
function labelValue(labels: Record<string, string>, name: string): string {
  const v = Object.hasOwn(labels, name) ? labels[name] : undefined;
  return typeof v === 'string' ? v : '';
}

/** A matcher string as a predicate over a label set. */
type LabelTest = (labels: Record<string, string>) => boolean;

/**
 * Matchers parsed and compiled once per matcher text (a pure function of it), not once per alert.
 * Bounded: runbooks hold a few matchers; past the bound (many reloads of changed matchers) the
 * cache starts over.
 */
const compiledMatchers = new Map<string, LabelTest>();
const COMPILED_MATCHERS_MAX = 10_000;

function labelTest(text: string): LabelTest {
  let test = compiledMatchers.get(text);
  if (test) return test;
  const matcher = parseMatcher(text);
  const compiled = compileMatcher(matcher);
  // A regex that does not compile never matches; `validateTriggerMatchers` reports it at lint time.
  test = compiled.ok ? (labels) => compiled.test(labelValue(labels, matcher.label)) : () => false;
  if (compiledMatchers.size >= COMPILED_MATCHERS_MAX) compiledMatchers.clear();
  compiledMatchers.set(text, test);
  return test;
}

function holds(text: string, labels: Record<string, string>): boolean {
  return labelTest(text)(labels);
}

/**
 * The runbooks an alert triggers: those with an `alert` trigger whose `alertName` equals the
 * alert's `alertname` label and whose matchers all hold. Each runbook appears once, in input order.
 * Manual and metric-threshold triggers name their runbook directly and never match here.
 */
export function matchTriggers(runbooks: readonly Runbook[], alert: Alert): Runbook[] {
  const alertName = labelValue(alert.labels, 'alertname');
  return runbooks.filter((runbook) =>
    runbook.triggers.some(
      (t) =>
        t.type === 'alert' && t.alertName === alertName && t.matchers.every((m) => holds(m, alert.labels)),
    ),
  );
}

/** Lint checks of a runbook's matchers: each must parse and each regex must compile. */
export function validateTriggerMatchers(runbook: Runbook): RunbookIssue[] {
  const issues: RunbookIssue[] = [];
  for (const [i, trigger] of runbook.triggers.entries()) {
    if (trigger.type !== 'alert') continue;
    for (const [j, text] of trigger.matchers.entries()) {
      const path = ['triggers', i, 'matchers', j];
      if (!MATCHER_PATTERN.test(text)) {
        issues.push({ path, message: `not a label matcher: ${JSON.stringify(text)}`, severity: 'error' });
        continue;
      }
      const compiled = compileMatcher(parseMatcher(text));
      if (!compiled.ok) issues.push({ path, message: compiled.reason, severity: 'error' });
    }
  }
  return issues;
}

/**
 * The dedup key of the incident an alert belongs to: `<runbook id>:<32 hex>`. The hex part is a
 * SHA-256 prefix of the alert's fingerprint, or, when the runbook sets `groupBy`, of those labels'
 * values (absent = empty; `groupBy: []` makes one incident per runbook). Hashing keeps untrusted
 * label text out of Redis keys (no `{`, `:` or newlines) and bounds their length.
 */
export function incidentKey(runbook: Runbook, alert: Alert): string {
  const material = runbook.groupBy
    ? ['groupBy', ...runbook.groupBy.flatMap((name) => [name, labelValue(alert.labels, name)])]
    : ['fingerprint', alert.fingerprint];
  const hex = createHash('sha256').update(JSON.stringify(material)).digest('hex');
  return `${runbook.id}:${hex.slice(0, 32)}`;
}

const FNV_OFFSET = 14695981039346656037n;
const FNV_PRIME = 1099511628211n;
const MASK_64 = (1n << 64n) - 1n;
const SEPARATOR = 0xff;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * A fingerprint for senders that omit one: Prometheus' label-set fingerprint (FNV-1a 64 over the
 * byte-sorted names, each name and value followed by 0xff), as 16 lowercase hex digits — the same
 * value Alertmanager sends, so dedup agrees whichever sender delivered the alert. Empty values are
 * left out, as Alertmanager removes empty labels before it fingerprints.
 */
export function fingerprintFromLabels(labels: Record<string, string>): string {
  const encoder = new TextEncoder();
  const pairs = Object.entries(labels)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => [encoder.encode(name), encoder.encode(value)] as const)
    .sort((x, y) => compareBytes(x[0], y[0]));
  let hash = FNV_OFFSET;
  const add = (byte: number): void => {
    hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64;
  };
  for (const [name, value] of pairs) {
    for (const byte of name) add(byte);
    add(SEPARATOR);
    for (const byte of value) add(byte);
    add(SEPARATOR);
  }
  return hash.toString(16).padStart(16, '0');
}
