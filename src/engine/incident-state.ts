import { INCIDENT_STATUSES, type IncidentStatus, type PlanStep } from './types.ts';

/**
 * What can happen to an incident. Status events move it along
 * `triggered → diagnosing → diagnosed → awaiting_approval | remediating | awaiting_responder → resolved`;
 * `acknowledge` and `escalate` set flags and keep the status, but are refused once resolved.
 */
export const INCIDENT_EVENTS = [
  'start_diagnosis',
  'diagnosis_complete',
  'rediagnose',
  'await_approval',
  'approve',
  'reject',
  'start_remediation',
  'await_responder',
  'acknowledge',
  'escalate',
  'resolve',
] as const;
export type IncidentEvent = (typeof INCIDENT_EVENTS)[number];

/**
 * The allowed transitions: status → event → next status. Re-entering the current status with the
 * event that leads there (`start_remediation` while remediating) is allowed, because BullMQ
 * delivers a job at least once and a retried job must not fail on its own earlier success.
 */
export const TRANSITIONS: Readonly<Record<IncidentStatus, Partial<Record<IncidentEvent, IncidentStatus>>>> = {
  triggered: {
    start_diagnosis: 'diagnosing',
    acknowledge: 'triggered',
    escalate: 'triggered',
    resolve: 'resolved',
  },
  diagnosing: {
    start_diagnosis: 'diagnosing',
    diagnosis_complete: 'diagnosed',
    acknowledge: 'diagnosing',
    escalate: 'diagnosing',
    resolve: 'resolved',
  },
  diagnosed: {
    diagnosis_complete: 'diagnosed',
    rediagnose: 'diagnosing',
    await_approval: 'awaiting_approval',
    start_remediation: 'remediating',
    await_responder: 'awaiting_responder',
    acknowledge: 'diagnosed',
    escalate: 'diagnosed',
    resolve: 'resolved',
  },
  awaiting_approval: {
    rediagnose: 'diagnosing',
    await_approval: 'awaiting_approval',
    approve: 'remediating',
    reject: 'awaiting_responder',
    start_remediation: 'remediating',
    await_responder: 'awaiting_responder',
    acknowledge: 'awaiting_approval',
    escalate: 'awaiting_approval',
    resolve: 'resolved',
  },
  remediating: {
    await_approval: 'awaiting_approval',
    start_remediation: 'remediating',
    await_responder: 'awaiting_responder',
    acknowledge: 'remediating',
    escalate: 'remediating',
    resolve: 'resolved',
  },
  awaiting_responder: {
    rediagnose: 'diagnosing',
    await_approval: 'awaiting_approval',
    start_remediation: 'remediating',
    await_responder: 'awaiting_responder',
    acknowledge: 'awaiting_responder',
    escalate: 'awaiting_responder',
    resolve: 'resolved',
  },
  resolved: {},
};

const VERB: Record<IncidentEvent, string> = {
  start_diagnosis: 'start diagnosis',
  diagnosis_complete: 'complete diagnosis',
  rediagnose: 're-run diagnostics',
  await_approval: 'wait for approval',
  approve: 'approve',
  reject: 'reject',
  start_remediation: 'start remediation',
  await_responder: 'hand over to a responder',
  acknowledge: 'acknowledge',
  escalate: 'escalate',
  resolve: 'resolve',
};

const STATUS_WORDS: Record<IncidentStatus, string> = {
  triggered: 'triggered',
  diagnosing: 'diagnosing',
  diagnosed: 'diagnosed',
  awaiting_approval: 'awaiting approval',
  remediating: 'remediating',
  awaiting_responder: 'awaiting a responder',
  resolved: 'resolved',
};

function whenAllowed(event: IncidentEvent): string {
  const from = INCIDENT_STATUSES.filter((s) => TRANSITIONS[s][event] !== undefined);
  if (from.length === INCIDENT_STATUSES.length - 1) return 'possible until it is resolved';
  return `possible when ${from.map((s) => STATUS_WORDS[s]).join(' or ')}`;
}

/**
 * Move an incident: the next status, or why the event is not allowed now, in a sentence a
 * responder can read ("cannot approve: incident inc-1 is resolved (possible when awaiting approval)").
 */
export function transition(
  status: IncidentStatus,
  event: IncidentEvent,
  incidentId?: string,
): { ok: true; status: IncidentStatus } | { ok: false; reason: string } {
  const who = incidentId ? `incident ${incidentId}` : 'the incident';
  const row = Object.hasOwn(TRANSITIONS, status) ? TRANSITIONS[status] : undefined;
  if (!row) return { ok: false, reason: `cannot ${VERB[event]}: ${who} has an unknown status "${status}"` };
  const next = row[event];
  if (next) return { ok: true, status: next };
  if (status === 'resolved' && event === 'resolve')
    return { ok: false, reason: `cannot resolve: ${who} is already resolved` };
  return {
    ok: false,
    reason: `cannot ${VERB[event]}: ${who} is ${STATUS_WORDS[status]} (${whenAllowed(event)})`,
  };
}

type Need = 'approval' | 'system' | 'responder' | 'finished';

/** What a plan step waits for, from its kind and state. */
function need(step: PlanStep): Need {
  switch (step.state) {
    case 'awaiting_approval':
      return 'approval';
    case 'approved':
    case 'queued':
    case 'running':
      return 'system';
    case 'pending':
      if (step.kind === 'manual') return 'responder';
      return step.kind === 'approval' ? 'approval' : 'system';
    case 'failed':
    case 'outcome_unknown':
    case 'rejected':
      return 'responder';
    case 'succeeded':
    case 'dry_run':
    case 'skipped':
    case 'done':
    case 'escalated':
      return 'finished';
  }
}

/**
 * The status a plan puts an incident in: `diagnosed` for an empty plan; `awaiting_approval` while
 * any step waits for an approver (it blocks progress and needs a person, so it wins); else
 * `remediating` while Fireline has work queued or running; else `awaiting_responder` — for manual
 * steps, failures and unknown outcomes, and also when everything finished, since resolving comes
 * from verification, the alert's resolved notification or a responder, never from the plan alone.
 */
export function nextStatusAfterPlan(plan: readonly PlanStep[]): IncidentStatus {
  if (plan.length === 0) return 'diagnosed';
  const needs = new Set(plan.map(need));
  if (needs.has('approval')) return 'awaiting_approval';
  if (needs.has('system')) return 'remediating';
  return 'awaiting_responder';
}
