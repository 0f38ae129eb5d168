import type { Incident, PlanStep, TimelineEvent } from './types.ts';

/**
 * What the history keeps of an incident beside its record and timeline: the timings and outcomes
 * that effectiveness statistics read (src/history/history-store.ts writes them as columns and
 * rows). Pure: derived from the record and the whole timeline, so archiving an incident again
 * derives the same.
 */

export interface HistoryStep {
  stepId: string;
  kind: PlanStep['kind'];
  actionType: string | null;
  state: PlanStep['state'];
  /** Automated: the action started; approval: it was asked for; manual: the plan put it before the responder. */
  startedAt: string | null;
  /** The step's outcome was recorded (succeeded, failed, done, skipped, …). */
  finishedAt: string | null;
  /** Null when no verify ran; else whether the last verify found every check healthy. */
  verified: boolean | null;
  by: string | null;
}

export interface HistoryRule {
  index: number;
  description: string;
  matched: boolean;
}

export interface HistoryFacts {
  alertname: string;
  evidenceAt: string | null;
  acknowledgedAt: string | null;
  /** Events whose actor is a person. */
  humanActions: number;
  /** Resolved, and no person acted before it was. */
  resolvedUnattended: boolean;
  /** Lower-case text that history search matches. */
  search: string;
  steps: HistoryStep[];
  rules: HistoryRule[];
}

/** `system` and the alert sources act on their own; any other actor (a token, a Slack user) is a person. */
export function isPersonActor(actor: string): boolean {
  return actor !== 'system' && !actor.startsWith('alert:');
}

const FINISHED_TYPES = new Set([
  'remediation.succeeded',
  'remediation.failed',
  'remediation.outcome_unknown',
  'remediation.dry_run',
  'remediation.skipped',
  'remediation.rejected',
  'step.completed',
]);

function stepIdOf(e: TimelineEvent): string | undefined {
  const id = e.data?.stepId;
  return typeof id === 'string' ? id : undefined;
}

/** The history facts of an incident from its record and its whole timeline (oldest first). */
export function historyFacts(incident: Incident, timeline: readonly TimelineEvent[]): HistoryFacts {
  const first = (type: string) => timeline.find((e) => e.type === type)?.at ?? null;
  const decidedAt = first('decision.made');
  const resolvedAt = incident.resolvedAt ?? null;
  const people = timeline.filter((e) => isPersonActor(e.actor));
  const started = new Map<string, string>();
  const finished = new Map<string, string>();
  const verified = new Map<string, boolean>();
  for (const e of timeline) {
    const stepId = stepIdOf(e);
    if (stepId === undefined) continue;
    if (
      (e.type === 'remediation.started' || e.type === 'remediation.awaiting_approval') &&
      !started.has(stepId)
    )
      started.set(stepId, e.at);
    else if (FINISHED_TYPES.has(e.type) && !finished.has(stepId)) finished.set(stepId, e.at);
    else if (e.type === 'remediation.verified') verified.set(stepId, e.data?.healthy === true);
  }
  const steps = incident.plan.map(
    (s): HistoryStep => ({
      stepId: s.stepId,
      kind: s.kind,
      actionType: s.actionType ?? s.action?.type ?? null,
      state: s.state,
      startedAt: s.kind === 'manual' ? decidedAt : (started.get(s.stepId) ?? null),
      finishedAt: finished.get(s.stepId) ?? null,
      verified: verified.get(s.stepId) ?? null,
      by: s.by ?? null,
    }),
  );
  const rules = (incident.decision?.rationale ?? []).map(
    (r): HistoryRule => ({ index: r.index, description: r.description, matched: r.matched }),
  );
  const { labels, annotations } = incident.alert;
  const search = [
    incident.runbookId,
    incident.runbookName,
    incident.service,
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
    ...Object.values(annotations),
  ]
    .join('\n')
    .toLowerCase();
  return {
    alertname: labels.alertname ?? '',
    evidenceAt: decidedAt,
    acknowledgedAt: first('incident.acknowledged'),
    humanActions: people.length,
    resolvedUnattended:
      incident.status === 'resolved' && !people.some((e) => resolvedAt === null || e.at <= resolvedAt),
    search,
    steps,
    rules,
  };
}
