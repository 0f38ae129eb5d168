import { z } from 'zod';
import type { SeveritySchema } from './runbook-schema.ts';

/** Shared domain data: alerts, verdicts, decisions, plans, incidents and timeline events. */

export const VERDICT_STATUSES = ['healthy', 'warning', 'critical', 'unknown', 'error'] as const;
export type VerdictStatus = (typeof VERDICT_STATUSES)[number];

/** One symbol per verdict, always shown next to the word (never colour alone). */
export const VERDICT_SYMBOLS: Readonly<Record<VerdictStatus, string>> = {
  healthy: '✓',
  warning: '⚠',
  critical: '✗',
  unknown: '?',
  error: '!',
};
export type InterpretLevel = 'critical' | 'warning' | 'healthy';

/** What an executor returns: plain JSON data, the CEL variables of `interpret`. */
export type Facts = Record<string, unknown>;

export interface Verdict {
  stepId: string;
  status: VerdictStatus;
  /** The expression that decided the verdict (absent for `unknown` and `error`). */
  matched?: { level: InterpretLevel; expression: string };
  facts: Facts;
  /** Why `error` or `unknown`, in words a responder understands. */
  message?: string;
  durationMs?: number;
}

export const AlertSchema = z.object({
  source: z.enum(['alertmanager', 'grafana', 'manual', 'metric_threshold']),
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  fingerprint: z.string().min(1),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
});
/** One alert as Fireline sees it, whatever sent it. Labels and annotations are untrusted text. */
export type Alert = z.infer<typeof AlertSchema>;

/** Why a decision rule did or did not contribute. */
export interface RuleRationale {
  index: number;
  description: string;
  /** The CEL source, or `otherwise`. */
  condition: string;
  matched: boolean;
  /** The variables the condition read, with their values (e.g. `diagnostics.db.facts.value: 96`). */
  values: Record<string, unknown>;
  /** Evaluation failed (counted as not matched). */
  error?: string;
  then: string[];
  stopped?: boolean;
}

export interface Decision {
  /** Remediation ids, deduplicated, in rule order. */
  remediations: string[];
  rationale: RuleRationale[];
  otherwiseApplied: boolean;
}

export const PLAN_STEP_KINDS = ['automated', 'approval', 'manual', 'escalate'] as const;
export type PlanStepKind = (typeof PLAN_STEP_KINDS)[number];

export const PLAN_STEP_STATES = [
  'pending',
  'awaiting_approval',
  'approved',
  'rejected',
  'queued',
  'running',
  'succeeded',
  'failed',
  'outcome_unknown',
  'dry_run',
  'skipped',
  'done',
  'escalated',
] as const;
export type PlanStepState = (typeof PLAN_STEP_STATES)[number];

/**
 * An automated step's action rendered for one incident when the plan was made: what an approval
 * approves (shown with its hash) and exactly what the worker runs, whatever the runbooks say later.
 */
export interface RenderedAction {
  type: string;
  /** The config with every template filled in for the incident's alert. */
  config: unknown;
  /** First 12 hex digits of the SHA-256 of `{type, config}` (canonical JSON): names this rendering. */
  hash: string;
  /** The safety target (one action at a time per target). */
  target: string;
  /** An idempotent action may be retried; any other runs at most once. */
  idempotent: boolean;
}

/** One remediation in an incident's plan, with its live state. */
export interface PlanStep {
  stepId: string;
  name: string;
  kind: PlanStepKind;
  state: PlanStepState;
  /** For manual steps. */
  instructions?: string;
  actionType?: string;
  /** The action as rendered when the plan was made (automated steps whose templates rendered). */
  action?: RenderedAction;
  /** Why the action could not be rendered (the step fails without running). */
  renderError?: string;
  /** The job that moved the step to `running` (a re-delivery of that job after its worker died). */
  runner?: string;
  /** Who approved/rejected/completed it, when and why. */
  by?: string;
  at?: string;
  comment?: string;
  /** Outcome detail (command run, error message). */
  detail?: string;
}

export const INCIDENT_STATUSES = [
  'triggered',
  'diagnosing',
  'diagnosed',
  'awaiting_approval',
  'remediating',
  'awaiting_responder',
  'resolved',
] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export interface Incident {
  id: string;
  /** Dedup key: runbook + fingerprint, or runbook + groupBy label values. */
  key: string;
  runbookId: string;
  runbookName: string;
  service: string;
  severity: z.infer<typeof SeveritySchema>;
  status: IncidentStatus;
  acknowledged: boolean;
  escalated: boolean;
  dryRun: boolean;
  createdAt: string;
  updatedAt: string;
  resolvedAt?: string;
  /**
   * True while none of the incident's alerts is firing (every one resolved at the source); a new
   * firing clears it. Automated steps are skipped while it holds, unless the runbook says
   * `runWhenResolved`.
   */
  alertResolved?: boolean;
  /** The alert that opened it. */
  alert: Alert;
  verdicts: Record<string, Verdict>;
  /** Worst verdict across diagnostics, once diagnosed. */
  overall?: VerdictStatus;
  decision?: Decision;
  plan: PlanStep[];
}

/** Why a notification is sent. */
export const NOTIFICATION_KINDS = [
  'opened',
  'update',
  'approval_needed',
  'escalation',
  'acknowledged',
  'resolved',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Every kind of timeline event, so the store, API, console and report agree on names. */
export const EVENT_TYPES = [
  'incident.opened',
  'incident.status',
  'incident.acknowledged',
  'incident.resolved',
  'alert.refired',
  'alert.resolved',
  'diagnostic.started',
  'diagnostic.finished',
  'diagnostic.charted',
  'decision.made',
  'remediation.queued',
  'remediation.awaiting_approval',
  'remediation.approved',
  'remediation.rejected',
  'remediation.started',
  'remediation.succeeded',
  'remediation.failed',
  'remediation.outcome_unknown',
  'remediation.dry_run',
  'remediation.skipped',
  'remediation.verified',
  'step.completed',
  'notification.sent',
  'notification.failed',
  'escalation.scheduled',
  'escalation.fired',
  'escalation.cancelled',
  'note',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One entry on an incident's timeline; `id` is the Redis stream id. */
export interface TimelineEvent {
  id: string;
  incidentId: string;
  type: EventType;
  /** ISO-8601 time the event happened. */
  at: string;
  /** `system`, or the user/approver (`slack:U123`, `token:operator`). */
  actor: string;
  /** One human sentence. */
  message: string;
  data?: Record<string, unknown>;
}

/** A problem found in a runbook, at a path such as `['decisionTree', 0, 'then', 1]`. */
export interface RunbookIssue {
  path: (string | number)[];
  message: string;
  severity: 'error' | 'warning';
}
