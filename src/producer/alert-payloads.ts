import { createHmac } from 'node:crypto';
import { ZodError, z } from 'zod';
import { fingerprintFromLabels } from '../engine/triggers.ts';
import type { Alert } from '../engine/types.ts';
import { safeEqual } from './auth.ts';
import type { FieldError } from './problem.ts';

/**
 * The webhook bodies of Alertmanager (version "4", also "3") and Grafana (contact point version
 * "1"), and their mapping to Fireline alerts. Pure: data in, data out. A body that is not a group
 * throws a ZodError naming the failing fields, which the HTTP layer answers with 400. Otherwise
 * each alert is checked on its own, once: a bad one is listed in `rejected` with its index and
 * failing fields (`alerts.3.labels.x`), and the rest of the group stands.
 *
 * Tolerant where real senders differ: unknown fields anywhere are ignored (`notification_reason`,
 * `routeLabels`, …); the `version` is not checked (the shape is what matters); a missing
 * `fingerprint` is derived from the labels as Alertmanager computes it; a missing per-alert
 * `status` is the group's; missing `annotations` are empty; the zero `endsAt`
 * (`0001-01-01T00:00:00Z`) that senders put on firing alerts is dropped.
 */

/**
 * Bounds on one alert, past which it is rejected alone: a sender cannot store a megabyte label set
 * in incidents, dedup keys and templates (`bodyLimitBytes` still bounds the request). Real alerts
 * are far below (a dozen short labels, annotations of a few KiB). Lengths are string lengths
 * (UTF-16 code units); Grafana's values and links count as annotations.
 */
export const MAX_LABELS = 64;
export const MAX_ANNOTATIONS = 64;
export const MAX_NAME_LENGTH = 128; // of a label or annotation name
export const MAX_LABEL_VALUE_LENGTH = 1024;
export const MAX_ANNOTATION_VALUE_LENGTH = 16 * 1024;
const ECHO_LENGTH = 128; // sender text echoed in a rejection (fingerprint, alertname, names) is clipped

/** Why an alert was rejected: a fixed set (a metric label; never text from the alert). */
export const REJECT_REASONS = [
  'schema',
  'too_many_labels',
  'label_too_long',
  'too_many_annotations',
  'annotation_too_long',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One alert of the group that was not taken: where it was, what it was if readable, and why. */
export interface RejectedAlert {
  index: number;
  fingerprint: string | null;
  alertname: string | null;
  reason: RejectReason;
  errors: FieldError[];
}

/** A parsed group: the valid alerts, in order, and the rejected ones. */
export interface ParsedGroup {
  alerts: Alert[];
  rejected: RejectedAlert[];
  truncatedAlerts: number;
}

const StatusSchema = z.enum(['firing', 'resolved']);
const StringMapSchema = z.record(z.string(), z.string());

/** An RFC 3339 time as Go writes it (nanoseconds, `Z` or an offset). */
const TimeSchema = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an RFC 3339 time');

/** Go's zero `time.Time`: what Alertmanager and Grafana send as `endsAt` of a firing alert. */
const ZERO_TIME_PREFIX = '0001-01-01T00:00:00';

const AlertmanagerAlertSchema = z.object({
  status: StatusSchema.optional(),
  labels: StringMapSchema,
  annotations: StringMapSchema.optional(),
  startsAt: TimeSchema,
  endsAt: TimeSchema.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

/** The group of an Alertmanager webhook body (version "4"; "3" has the same fields). */
const AlertmanagerGroupSchema = z.object({
  version: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: StatusSchema.optional(),
  receiver: z.string().optional(),
  groupLabels: StringMapSchema.optional(),
  commonLabels: StringMapSchema.optional(),
  commonAnnotations: StringMapSchema.optional(),
  externalURL: z.string().optional(),
  // Each alert is checked on its own, after the group.
  alerts: z.array(z.unknown()),
});

const GrafanaAlertSchema = AlertmanagerAlertSchema.extend({
  values: z.record(z.string(), z.number().nullable()).nullable().optional(),
  valueString: z.string().optional(),
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
});
type GrafanaAlert = z.infer<typeof GrafanaAlertSchema>;
const GRAFANA_LINKS = ['valueString', 'silenceURL', 'dashboardURL', 'panelURL'] as const;

/** The group of a Grafana webhook contact point body (version "1"). */
const GrafanaGroupSchema = AlertmanagerGroupSchema.extend({
  orgId: z.number().optional(),
  title: z.string().optional(),
  state: z.string().optional(),
  message: z.string().optional(),
});

/** Grafana's group `state` as a status; other states (older Grafana) say nothing. */
const STATE_STATUS = new Map<unknown, Alert['status']>([
  ['alerting', 'firing'],
  ['ok', 'resolved'],
]);

/** The webhooks whose bodies are parsed here. */
export type WebhookSource = 'alertmanager' | 'grafana';
/** A parsed group as read here (`state` is Grafana's; Alertmanager's schema drops it). */
type Group = { status?: Alert['status']; state?: string; truncatedAlerts?: number; alerts: unknown[] };
/** Each sender's group and alert. An Alertmanager alert is a Grafana alert without the extras. */
const SCHEMAS: Record<WebhookSource, { group: z.ZodType<Group>; alert: z.ZodType<GrafanaAlert> }> = {
  alertmanager: { group: AlertmanagerGroupSchema, alert: AlertmanagerAlertSchema },
  grafana: { group: GrafanaGroupSchema, alert: GrafanaAlertSchema },
};

/**
 * The alert's annotations. Grafana's per-alert extras become annotations, so that runbooks read
 * them like any other (`alert.annotations.value_A`): each `values` entry as `value_<refId>` (the
 * number as text), and `valueString`, `silenceURL`, `dashboardURL`, `panelURL` under their own
 * names. The rule's own annotations win on a name clash; empty and null extras are left out. Group
 * fields (`orgId`, `title`, `message`) describe the whole notification, not an alert: not kept.
 */
function annotationsOf(a: GrafanaAlert): Record<string, string> {
  const extras: Record<string, string> = {};
  for (const [refId, value] of Object.entries(a.values ?? {}))
    if (value !== null) extras[`value_${refId}`] = String(value);
  for (const name of GRAFANA_LINKS) {
    const value = a[name];
    if (value) extras[name] = value;
  }
  return { ...extras, ...a.annotations };
}

/** Where annotation `name` of `a` was in the alert as sent: its own, a link, or a value. */
function annotationPath(a: GrafanaAlert, name: string): PropertyKey[] {
  if (a.annotations && Object.hasOwn(a.annotations, name)) return ['annotations', name];
  if ((GRAFANA_LINKS as readonly string[]).includes(name)) return [name];
  return ['values', name.slice('value_'.length)];
}

type Issue = { path: PropertyKey[]; message: string };
const NO_STATUS: Issue[] = [{ path: ['status'], message: 'no status on the alert nor on the group' }];
type Checked = { alert: Alert } | { reason: RejectReason; issues: Issue[] };

type Kind = 'label' | 'annotation';
const tooLong = (what: string, length: number, max: number) =>
  `the ${what} is ${length} characters long, at most ${max}`;

/** The first bound the labels (or annotations) of `a` pass, as a rejection; null within bounds. */
function overBounds(kind: Kind, map: Record<string, string>, a: GrafanaAlert): Checked | null {
  const [maxCount, maxValue] =
    kind === 'label' ? [MAX_LABELS, MAX_LABEL_VALUE_LENGTH] : [MAX_ANNOTATIONS, MAX_ANNOTATION_VALUE_LENGTH];
  const names = Object.keys(map);
  if (names.length > maxCount) {
    const message = `${names.length} ${kind}s, at most ${maxCount}`;
    return { reason: `too_many_${kind}s`, issues: [{ path: [`${kind}s`], message }] };
  }
  const issues: Issue[] = [];
  for (const name of names) {
    const length = (map[name] as string).length;
    if (name.length <= MAX_NAME_LENGTH && length <= maxValue) continue; // the hot path
    const path = kind === 'label' ? ['labels', name] : annotationPath(a, name);
    if (name.length > MAX_NAME_LENGTH)
      issues.push({ path, message: tooLong('name', name.length, MAX_NAME_LENGTH) });
    if (length > maxValue) issues.push({ path, message: tooLong('value', length, maxValue) });
  }
  return issues.length > 0 ? { reason: `${kind}_too_long`, issues } : null;
}

/** One alert: validated once, bounded, mapped. */
function checkAlert(raw: unknown, source: WebhookSource, groupStatus: Alert['status'] | undefined): Checked {
  const parsed = SCHEMAS[source].alert.safeParse(raw);
  if (!parsed.success) return { reason: 'schema', issues: parsed.error.issues };
  const a = parsed.data;
  const status = a.status ?? groupStatus;
  if (status === undefined) return { reason: 'schema', issues: NO_STATUS };
  const annotations = annotationsOf(a);
  const over = overBounds('label', a.labels, a) ?? overBounds('annotation', annotations, a);
  if (over) return over;
  const alert: Alert = {
    source,
    status,
    labels: a.labels,
    annotations,
    fingerprint: a.fingerprint || fingerprintFromLabels(a.labels),
    startsAt: a.startsAt,
  };
  if (a.endsAt && !a.endsAt.startsWith(ZERO_TIME_PREFIX)) alert.endsAt = a.endsAt;
  if (a.generatorURL) alert.generatorURL = a.generatorURL;
  return { alert };
}

/** Sender text as echoed in a rejection: clipped, so a huge name or value is not sent back whole. */
const clip = (text: string) => (text.length > ECHO_LENGTH ? `${text.slice(0, ECHO_LENGTH)}…` : text);

/** `path` under `alerts.<index>`, each name clipped. */
function alertPath(index: number, path: readonly PropertyKey[]): PropertyKey[] {
  return ['alerts', index, ...path.map((p) => (typeof p === 'string' ? clip(p) : p))];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const readable = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? clip(v) : null);

function rejection(index: number, raw: unknown, reason: RejectReason, issues: Issue[]): RejectedAlert {
  const labels = isObject(raw) && isObject(raw.labels) ? raw.labels : {};
  return {
    index,
    fingerprint: isObject(raw) ? readable(raw.fingerprint) : null,
    alertname: Object.hasOwn(labels, 'alertname') ? readable(labels.alertname) : null,
    reason,
    errors: issues.map(({ path, message }) => ({ field: alertPath(index, path).join('.'), message })),
  };
}

/** The group, then each alert on its own. Throws a ZodError when the body is not a group. */
function parseGroup(body: unknown, source: WebhookSource): ParsedGroup {
  const group = SCHEMAS[source].group.safeParse(body);
  if (!group.success) {
    // The whole request is refused; name the alerts' failing fields too, as one answer.
    const alerts = isObject(body) && Array.isArray(body.alerts) ? body.alerts : [];
    const issues = alerts.flatMap((raw, i) => {
      const failed = SCHEMAS[source].alert.safeParse(raw).error?.issues ?? [];
      return failed.map((issue) => ({ ...issue, path: alertPath(i, issue.path) }));
    });
    throw new ZodError([...group.error.issues, ...issues]);
  }
  // Alerts without a status take the group's (Grafana: or its `state`'s).
  const status = group.data.status ?? STATE_STATUS.get(group.data.state);
  const parsed: ParsedGroup = { alerts: [], rejected: [], truncatedAlerts: group.data.truncatedAlerts ?? 0 };
  for (const [index, raw] of group.data.alerts.entries()) {
    const checked = checkAlert(raw, source, status);
    if ('alert' in checked) parsed.alerts.push(checked.alert);
    else parsed.rejected.push(rejection(index, raw, checked.reason, checked.issues));
  }
  return parsed;
}

/** An Alertmanager webhook body: its valid alerts, each its own trigger, and the rejected ones. */
export function parseAlertmanagerPayload(body: unknown): ParsedGroup {
  return parseGroup(body, 'alertmanager');
}

/** A Grafana webhook body: its valid alerts and the rejected ones. */
export function parseGrafanaPayload(body: unknown): ParsedGroup {
  return parseGroup(body, 'grafana');
}

/** A Grafana signature whose timestamp is further than this from now is refused (a replay). */
export const GRAFANA_MAX_SKEW_SECONDS = 300;

/**
 * Grafana's HMAC (grafana/alerting `HMACRoundTripper`): hex HMAC-SHA256 of the raw body, or of
 * `<unix seconds>:<body>` when the contact point names a timestamp header.
 */
export function grafanaSignature(secret: string, rawBody: Buffer | string, timestamp?: string): string {
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) hmac.update(`${timestamp}:`);
  return hmac.update(rawBody).digest('hex');
}

/**
 * Verifies a Grafana webhook signature in constant time. With a timestamp, it must also be within
 * five minutes of `now`, so a captured request cannot be replayed later.
 */
export function verifyGrafanaSignature(
  secret: string,
  req: { signature: string | undefined; timestamp: string | undefined; rawBody: Buffer | string },
  now: Date,
): { ok: true } | { ok: false; reason: string } {
  if (!req.signature) return { ok: false, reason: 'the X-Grafana-Alerting-Signature header is missing' };
  if (req.timestamp !== undefined) {
    if (!/^\d{1,12}$/.test(req.timestamp))
      return { ok: false, reason: 'the signature timestamp is not Unix seconds' };
    if (Math.abs(now.getTime() / 1000 - Number(req.timestamp)) > GRAFANA_MAX_SKEW_SECONDS)
      return {
        ok: false,
        reason: `the signature timestamp is more than ${GRAFANA_MAX_SKEW_SECONDS} s from now`,
      };
  }
  const expected = grafanaSignature(secret, req.rawBody, req.timestamp);
  if (!safeEqual(req.signature.trim().toLowerCase(), expected))
    return { ok: false, reason: 'the Grafana signature does not match the body' };
  return { ok: true };
}
