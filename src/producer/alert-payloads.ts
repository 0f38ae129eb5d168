import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { fingerprintFromLabels } from '../engine/triggers.ts';
import type { Alert } from '../engine/types.ts';
import { safeEqual } from './auth.ts';

/**
 * The webhook bodies of Alertmanager (version "4", also "3") and Grafana (contact point version
 * "1"), and their mapping to Fireline alerts. Pure: data in, data out. Parsing throws a ZodError
 * naming the failing field (`alerts.3.labels.x`), which the HTTP layer answers with 400.
 *
 * Tolerant where real senders differ: unknown fields anywhere are ignored (`notification_reason`,
 * `routeLabels`, …); the `version` is not checked (the shape is what matters); a missing
 * `fingerprint` is derived from the labels as Alertmanager computes it; a missing per-alert
 * `status` is the group's; missing `annotations` are empty; the zero `endsAt`
 * (`0001-01-01T00:00:00Z`) that senders put on firing alerts is dropped.
 */

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

const groupShape = {
  version: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: StatusSchema.optional(),
  receiver: z.string().optional(),
  groupLabels: StringMapSchema.optional(),
  commonLabels: StringMapSchema.optional(),
  commonAnnotations: StringMapSchema.optional(),
  externalURL: z.string().optional(),
};

/** Every alert needs a status, its own or the group's (Grafana: or the group's `state`). */
function requireStatus(
  group: { status?: unknown; state?: unknown; alerts: { status?: unknown }[] },
  ctx: z.RefinementCtx,
): void {
  if (group.status !== undefined || stateStatus(group.state) !== undefined) return;
  for (const [i, alert] of group.alerts.entries())
    if (alert.status === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['alerts', i, 'status'],
        message: 'no status on the alert nor on the group',
      });
}

/** Alertmanager webhook body (version "4"; "3" has the same fields). */
export const AlertmanagerPayloadSchema = z
  .object({ ...groupShape, alerts: z.array(AlertmanagerAlertSchema) })
  .superRefine(requireStatus);
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayloadSchema>;

const GrafanaAlertSchema = AlertmanagerAlertSchema.extend({
  values: z.record(z.string(), z.number().nullable()).nullable().optional(),
  valueString: z.string().optional(),
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
});

/** Grafana webhook contact point body (version "1"): the Alertmanager group plus Grafana's fields. */
export const GrafanaPayloadSchema = z
  .object({
    ...groupShape,
    orgId: z.number().optional(),
    title: z.string().optional(),
    state: z.string().optional(),
    message: z.string().optional(),
    alerts: z.array(GrafanaAlertSchema),
  })
  .superRefine(requireStatus);
export type GrafanaPayload = z.infer<typeof GrafanaPayloadSchema>;

/** Grafana's group `state` as a status; other states (older Grafana) say nothing. */
function stateStatus(state: unknown): Alert['status'] | undefined {
  if (state === 'alerting') return 'firing';
  if (state === 'ok') return 'resolved';
  return undefined;
}

type AlertmanagerAlert = z.infer<typeof AlertmanagerAlertSchema>;

function toAlert(
  a: AlertmanagerAlert,
  source: Alert['source'],
  groupStatus: Alert['status'] | undefined,
  annotations: Record<string, string>,
): Alert {
  // requireStatus guarantees one of the two.
  const status = (a.status ?? groupStatus) as Alert['status'];
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
  return alert;
}

/** The alerts of an Alertmanager group, in order; each is its own trigger. */
export function alertsFromAlertmanager(payload: AlertmanagerPayload): Alert[] {
  return payload.alerts.map((a) => toAlert(a, 'alertmanager', payload.status, { ...a.annotations }));
}

/**
 * The alerts of a Grafana group, in order. Grafana's per-alert extras become annotations, so that
 * runbooks read them like any other (`alert.annotations.value_A`): each `values` entry as
 * `value_<refId>` (the number as text), and `valueString`, `silenceURL`, `dashboardURL`,
 * `panelURL` under their own names. The rule's own annotations win on a name clash; empty and
 * null extras are left out. Group fields (`orgId`, `title`, `message`) describe the whole
 * notification, not an alert, and are not kept.
 */
export function alertsFromGrafana(payload: GrafanaPayload): Alert[] {
  const groupStatus = payload.status ?? stateStatus(payload.state);
  return payload.alerts.map((a) => {
    const extras: Record<string, string> = {};
    for (const [refId, value] of Object.entries(a.values ?? {}))
      if (value !== null) extras[`value_${refId}`] = String(value);
    for (const name of ['valueString', 'silenceURL', 'dashboardURL', 'panelURL'] as const) {
      const value = a[name];
      if (value) extras[name] = value;
    }
    return toAlert(a, 'grafana', groupStatus, { ...extras, ...a.annotations });
  });
}

/** Validates an Alertmanager webhook body and maps it; throws ZodError naming the fields. */
export function parseAlertmanagerPayload(body: unknown): { alerts: Alert[]; truncatedAlerts: number } {
  const payload = AlertmanagerPayloadSchema.parse(body);
  return { alerts: alertsFromAlertmanager(payload), truncatedAlerts: payload.truncatedAlerts ?? 0 };
}

/** Validates a Grafana webhook body and maps it; throws ZodError naming the fields. */
export function parseGrafanaPayload(body: unknown): { alerts: Alert[]; truncatedAlerts: number } {
  const payload = GrafanaPayloadSchema.parse(body);
  return { alerts: alertsFromGrafana(payload), truncatedAlerts: payload.truncatedAlerts ?? 0 };
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
