import { Counter, Histogram, type Registry } from 'prom-client';
import { parseNotifyAddress } from '../engine/notify-address.ts';
import type { Runbook } from '../engine/runbook-schema.ts';
import { type Incident, type TimelineEvent, VERDICT_STATUSES, type VerdictStatus } from '../engine/types.ts';
import { AdapterError } from '../errors.ts';
import type { PipelineDeps } from '../incidents/deps.ts';
import { REJECT_REASONS, type RejectReason, type WebhookSource } from './alert-payloads.ts';

/**
 * The event-derived metrics, and which event updates which (metrics-feed.ts feeds them the global
 * events stream). Label values come from runbooks (ids, step and action types) and never from
 * alert labels: those are untrusted and unbounded.
 */

type IncidentInfo = Pick<Incident, 'runbookId' | 'severity' | 'createdAt'>;

const INCIDENT_CACHE_SIZE = 10_000;

/** Events whose metrics need the incident's runbook or times (besides the remediation ones). */
const INCIDENT_EVENTS = new Set<TimelineEvent['type']>([
  'incident.opened',
  'decision.made',
  'diagnostic.finished',
]);

const REMEDIATION_OUTCOMES: Partial<Record<TimelineEvent['type'], string>> = {
  'remediation.succeeded': 'succeeded',
  'remediation.failed': 'failed',
  'remediation.dry_run': 'dry_run',
  'remediation.skipped': 'skipped',
  'remediation.outcome_unknown': 'outcome_unknown',
};

/** The metrics fed from timeline events. */
export interface EventMetrics {
  incidents: Counter<'runbook' | 'severity'>;
  timeToEvidence: Histogram;
  diagnosticDuration: Histogram<'type' | 'verdict'>;
  remediations: Counter<'action' | 'outcome'>;
  notifications: Counter<'channel' | 'outcome'>;
}

/** Registers the event-derived metrics in `registry`. */
export function defineEventMetrics(registry: Registry): EventMetrics {
  const registers = [registry];
  return {
    incidents: new Counter({
      name: 'fireline_incidents_total',
      help: 'Incidents opened, by runbook and severity.',
      labelNames: ['runbook', 'severity'] as const,
      registers,
    }),
    timeToEvidence: new Histogram({
      name: 'fireline_time_to_evidence_seconds',
      help: 'From the alert received (incident opened) to every verdict in (decision made).',
      buckets: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    diagnosticDuration: new Histogram({
      name: 'fireline_diagnostic_duration_seconds',
      help: 'How long a diagnostic step ran, by step type and verdict.',
      labelNames: ['type', 'verdict'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    remediations: new Counter({
      name: 'fireline_remediations_total',
      help: 'Remediation outcomes, by action type (retrying: an attempt failed and will be retried).',
      labelNames: ['action', 'outcome'] as const,
      registers,
    }),
    notifications: new Counter({
      name: 'fireline_notifications_total',
      help: 'Notifications sent or failed, by notifier channel (slack, pagerduty, webhook).',
      labelNames: ['channel', 'outcome'] as const,
      registers,
    }),
  };
}

/** Updates the metrics an event concerns (most events concern none). */
export function eventRecorder(
  p: PipelineDeps,
  metrics: EventMetrics,
): (event: TimelineEvent) => Promise<void> {
  const { catalog, store } = p;
  const incidentOf = incidentLookup(store);
  const runbookOf = (id: string) => catalog.get(id)?.runbook;
  return async (event) => {
    if (event.type === 'notification.sent' || event.type === 'notification.failed')
      return recordNotification(metrics, event);
    const outcome = REMEDIATION_OUTCOMES[event.type];
    if (!outcome && !INCIDENT_EVENTS.has(event.type)) return;
    const incident = await incidentOf(event.incidentId);
    if (!incident) return; // swept since: nothing to label it with
    if (event.type === 'incident.opened') {
      metrics.incidents.inc({ runbook: incident.runbookId, severity: incident.severity });
    } else if (event.type === 'decision.made') {
      const seconds = (Date.parse(event.at) - Date.parse(incident.createdAt)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) metrics.timeToEvidence.observe(seconds);
    } else if (event.type === 'diagnostic.finished') {
      recordDiagnostic(metrics, event, runbookOf(incident.runbookId));
    } else if (outcome) {
      recordRemediation(metrics, event, outcome, runbookOf(incident.runbookId));
    }
  };
}

/**
 * Incident facts the labels need, looked up once per incident (events carry only its id), for
 * the last INCIDENT_CACHE_SIZE incidents.
 */
function incidentLookup(store: PipelineDeps['store']): (id: string) => Promise<IncidentInfo | null> {
  const cache = new Map<string, Promise<IncidentInfo | null>>();
  return (id) => {
    let found = cache.get(id);
    if (!found) {
      found = store
        .get(id)
        .then((i) => i && { runbookId: i.runbookId, severity: i.severity, createdAt: i.createdAt });
      found.catch(() => cache.delete(id)); // the caller logs it; the next event tries again
      cache.set(id, found);
      if (cache.size > INCIDENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    return found;
  };
}

function stringData(event: TimelineEvent, key: string): string | undefined {
  const value = event.data?.[key];
  return typeof value === 'string' ? value : undefined;
}

function recordNotification(metrics: EventMetrics, event: TimelineEvent): void {
  metrics.notifications.inc({
    channel: channelKind(stringData(event, 'channel')),
    outcome: event.type === 'notification.sent' ? 'sent' : 'failed',
  });
}

function recordDiagnostic(metrics: EventMetrics, event: TimelineEvent, runbook: Runbook | undefined): void {
  const durationMs = event.data?.durationMs;
  // A verdict made up for a lost child has no duration: there is nothing to time.
  if (typeof durationMs !== 'number') return;
  const stepId = stringData(event, 'stepId');
  const status = stringData(event, 'status');
  const verdict = VERDICT_STATUSES.includes(status as VerdictStatus) ? (status as string) : 'unknown';
  const type = runbook?.diagnostics.find((d) => d.id === stepId)?.type ?? 'unknown';
  metrics.diagnosticDuration.observe({ type, verdict }, durationMs / 1000);
}

function recordRemediation(
  metrics: EventMetrics,
  event: TimelineEvent,
  outcome: string,
  runbook: Runbook | undefined,
): void {
  const stepId = stringData(event, 'stepId');
  const def = runbook?.remediations.find((r) => r.id === stepId);
  const retrying = typeof event.data?.attemptsLeft === 'number' && event.data.attemptsLeft > 0;
  metrics.remediations.inc({
    action: def?.action?.type ?? 'unknown',
    outcome: retrying ? 'retrying' : outcome,
  });
}

/** The notifier channel of an address (`#ops` → slack, `pagerduty:payments` → pagerduty). */
function channelKind(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  try {
    return parseNotifyAddress(address).channel;
  } catch (err) {
    if (err instanceof AdapterError) return 'invalid';
    throw err;
  }
}

/**
 * Registers `fireline_alerts_rejected_total{source, reason}` in `registry` (every series starts
 * at 0) and returns the function that counts one rejection. Labels are the webhook and the fixed
 * reason, never text from the alert.
 */
export function rejectedAlertsCounter(
  registry: Registry,
): (source: WebhookSource, reason: RejectReason) => void {
  const rejected = new Counter({
    name: 'fireline_alerts_rejected_total',
    help: 'Alerts a webhook rejected (not taken; the rest of their group was), by webhook and reason.',
    labelNames: ['source', 'reason'] as const,
    registers: [registry],
  });
  for (const source of ['alertmanager', 'grafana'] satisfies WebhookSource[])
    for (const reason of REJECT_REASONS) rejected.inc({ source, reason }, 0);
  return (source, reason) => rejected.inc({ source, reason });
}
