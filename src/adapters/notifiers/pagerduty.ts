import type { Severity } from '../../engine/runbook-schema.ts';
import type { Incident } from '../../engine/types.ts';
import { AdapterError } from '../../errors.ts';
import type { Connections } from '../connections.ts';
import type { Notification, NotificationKind, Notifier, NotifierContext, NotifyOutcome } from '../types.ts';
import { postJson } from './http.ts';

/**
 * PagerDuty Events API v2 (`pagerduty:<service>`). One PagerDuty alert per incident: the dedup
 * key is the incident id, so `trigger`, `acknowledge` and `resolve` all land on it. A trigger for
 * an alert already open only adds to its log (and a trigger on an acknowledged one pages nobody),
 * so updates are triggers too: they bring the verdicts to the responder's phone. A trigger after
 * the incident resolved is NOT sent: PagerDuty would open a new incident for it.
 */

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

const ACTIONS: Record<NotificationKind, PagerDutyAction> = {
  opened: 'trigger',
  update: 'trigger',
  approval_needed: 'trigger',
  escalation: 'trigger',
  acknowledged: 'acknowledge',
  resolved: 'resolve',
};

/** Fireline's severities on PagerDuty's scale. */
export const PAGERDUTY_SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  P1: 'critical',
  P2: 'error',
  P3: 'warning',
  P4: 'info',
};

/** PagerDuty's limit on `payload.summary`. */
const SUMMARY_MAX = 1024;
const DETAIL_MAX = 500;

/** The event body PagerDuty gets for a notification (routing key included: never log it). */
export function pagerDutyEvent(routingKey: string, n: Notification, action: PagerDutyAction) {
  const base = { routing_key: routingKey, event_action: action, dedup_key: n.incidentId };
  if (action !== 'trigger') return base;
  const incident = n.incident;
  return {
    ...base,
    payload: {
      summary: clip(`${n.title}: ${n.text.replace(/\s+/g, ' ')}`, SUMMARY_MAX),
      source: incident?.service ?? 'fireline',
      severity: PAGERDUTY_SEVERITY[n.severity ?? incident?.severity ?? 'P3'],
      ...(incident ? { timestamp: incident.createdAt, component: incident.service } : {}),
      ...(incident ? { group: incident.runbookId } : {}),
      class: incident?.alert.labels.alertname ?? n.kind,
      custom_details: incident ? details(n, incident) : { kind: n.kind, text: n.text },
    },
    client: 'Fireline',
    ...(n.link ? { client_url: n.link, links: [{ href: n.link, text: 'Incident in Fireline' }] } : {}),
  };
}

function details(n: Notification, incident: Incident) {
  return {
    kind: n.kind,
    incident: incident.id,
    runbook: n.runbookName ?? incident.runbookName,
    status: incident.status,
    overall: incident.overall ?? null,
    verdicts: Object.fromEntries(
      Object.values(incident.verdicts).map((v) => [
        v.stepId,
        clip(
          `${v.status}${v.matched ? ` (${v.matched.expression})` : v.message ? `: ${v.message}` : ''}`,
          DETAIL_MAX,
        ),
      ]),
    ),
    decision: (incident.decision?.rationale ?? [])
      .filter((r) => r.matched)
      .map((r) => clip(`${r.description || r.condition} → ${r.then.join(', ')}`, DETAIL_MAX)),
    plan: incident.plan.map((s) => `${s.name}: ${s.kind}, ${s.state.replaceAll('_', ' ')}`),
    text: n.text,
  };
}

/** PagerDuty's Events API v2 for the services in `connections.pagerduty.routingKeys`. */
export function createPagerDutyNotifier(config: Connections['pagerduty']): Notifier {
  return {
    channel: 'pagerduty',
    async send(target: string, n: Notification, ctx: NotifierContext): Promise<NotifyOutcome> {
      const routingKey = config.routingKeys[target] ?? config.routingKeys.default;
      if (!routingKey)
        throw new AdapterError(
          'pagerduty',
          `no PagerDuty routing key for service '${target}': set connections.pagerduty.routingKeys.${target} or a default (PAGERDUTY_ROUTING_KEY)`,
          { retryable: false },
        );
      const action = ACTIONS[n.kind];
      if (action === 'trigger' && n.incident?.status === 'resolved')
        return {
          summary: 'not sent',
          skipped: 'the incident is resolved; a trigger now would open a new PagerDuty incident',
        };
      const res = await postJson(
        'pagerduty',
        config.url,
        JSON.stringify(pagerDutyEvent(routingKey, n, action)),
        {
          signal: ctx.signal,
        },
      );
      return { summary: `${action} sent for ${target}`, externalId: dedupKeyOf(res.body) ?? n.incidentId };
    },
  };
}

/** PagerDuty answers 202 `{status, message, dedup_key}`. */
function dedupKeyOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { dedup_key?: unknown };
    return typeof parsed.dedup_key === 'string' ? parsed.dedup_key : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
