import { describe, expect, test } from 'vitest';
import {
  INCIDENT_EVENTS,
  type IncidentEvent,
  nextStatusAfterPlan,
  transition,
} from '../../src/engine/incident-state.ts';
import { INCIDENT_STATUSES, type IncidentStatus, type PlanStep } from '../../src/engine/types.ts';

const EVENTS = [
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
] as const satisfies readonly IncidentEvent[];

type Cell = IncidentStatus | '-';
// Columns follow EVENTS; '-' means the event is refused in that status.
// biome-ignore format: the grid is aligned by event
const GRID: Record<IncidentStatus, readonly Cell[]> = {
  //                  start_diag    diag_complete rediagnose    await_appr           approve        reject                start_rem      await_resp            ack                   escalate              resolve
  triggered:          ['diagnosing', '-',         '-',          '-',                 '-',           '-',                  '-',           '-',                  'triggered',          'triggered',          'resolved'],
  diagnosing:         ['diagnosing', 'diagnosed', '-',          '-',                 '-',           '-',                  '-',           '-',                  'diagnosing',         'diagnosing',         'resolved'],
  diagnosed:          ['-',          'diagnosed', 'diagnosing', 'awaiting_approval', '-',           '-',                  'remediating', 'awaiting_responder', 'diagnosed',          'diagnosed',          'resolved'],
  awaiting_approval:  ['-',          '-',         'diagnosing', 'awaiting_approval', 'remediating', 'awaiting_responder', 'remediating', 'awaiting_responder', 'awaiting_approval',  'awaiting_approval',  'resolved'],
  remediating:        ['-',          '-',         '-',          'awaiting_approval', '-',           '-',                  'remediating', 'awaiting_responder', 'remediating',        'remediating',        'resolved'],
  awaiting_responder: ['-',          '-',         'diagnosing', 'awaiting_approval', '-',           '-',                  'remediating', 'awaiting_responder', 'awaiting_responder', 'awaiting_responder', 'resolved'],
  resolved:           ['-',          '-',         '-',          '-',                 '-',           '-',                  '-',           '-',                  '-',                  '-',                  '-'],
};

test('the grid covers every status and event', () => {
  expect([Object.keys(GRID), [...EVENTS]]).toEqual([[...INCIDENT_STATUSES], [...INCIDENT_EVENTS]]);
});

describe('transition: every (status, event) pair', () => {
  const cases = INCIDENT_STATUSES.flatMap((status) =>
    EVENTS.map((event, i) => ({ status, event, want: GRID[status][i]! })),
  );
  test.each(cases)('$status + $event → $want', ({ status, event, want }) => {
    const r = transition(status, event, 'inc-1');
    if (want === '-')
      expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^cannot [a-z -]+: incident inc-1 is /) });
    else expect(r).toEqual({ ok: true, status: want });
  });
});

describe('transition: refusals read as sentences', () => {
  test.each([
    {
      status: 'resolved',
      event: 'approve',
      id: 'inc-1',
      reason: 'cannot approve: incident inc-1 is resolved (possible when awaiting approval)',
    },
    {
      status: 'resolved',
      event: 'resolve',
      id: 'inc-1',
      reason: 'cannot resolve: incident inc-1 is already resolved',
    },
    {
      status: 'resolved',
      event: 'acknowledge',
      id: 'inc-2',
      reason: 'cannot acknowledge: incident inc-2 is resolved (possible until it is resolved)',
    },
    {
      status: 'triggered',
      event: 'start_remediation',
      id: undefined,
      reason:
        'cannot start remediation: the incident is triggered (possible when diagnosed or awaiting approval or remediating or awaiting a responder)',
    },
    {
      status: 'remediating',
      event: 'rediagnose',
      id: 'inc-3',
      reason:
        'cannot re-run diagnostics: incident inc-3 is remediating (possible when diagnosed or awaiting approval or awaiting a responder)',
    },
    {
      status: 'bogus' as IncidentStatus,
      event: 'resolve',
      id: 'inc-4',
      reason: 'cannot resolve: incident inc-4 has an unknown status "bogus"',
    },
  ] as const)('$status + $event', ({ status, event, id, reason }) => {
    expect(transition(status, event, id)).toEqual({ ok: false, reason });
  });
});

function step(kind: PlanStep['kind'], state: PlanStep['state']): PlanStep {
  return { stepId: `${kind}-${state}`, name: `${kind} ${state}`, kind, state };
}

describe('nextStatusAfterPlan', () => {
  test.each([
    { name: 'empty plan', plan: [], want: 'diagnosed' },
    { name: 'automated pending', plan: [step('automated', 'pending')], want: 'remediating' },
    { name: 'automated queued', plan: [step('automated', 'queued')], want: 'remediating' },
    { name: 'automated running', plan: [step('automated', 'running')], want: 'remediating' },
    { name: 'approved, not yet queued', plan: [step('approval', 'approved')], want: 'remediating' },
    { name: 'escalate pending', plan: [step('escalate', 'pending')], want: 'remediating' },
    { name: 'approval awaiting', plan: [step('approval', 'awaiting_approval')], want: 'awaiting_approval' },
    { name: 'approval pending', plan: [step('approval', 'pending')], want: 'awaiting_approval' },
    {
      name: 'approval wins over running work',
      plan: [step('automated', 'running'), step('approval', 'awaiting_approval')],
      want: 'awaiting_approval',
    },
    { name: 'manual only', plan: [step('manual', 'pending')], want: 'awaiting_responder' },
    {
      name: 'done automation, manual left',
      plan: [step('automated', 'succeeded'), step('manual', 'pending')],
      want: 'awaiting_responder',
    },
    {
      name: 'running work wins over manual',
      plan: [step('automated', 'running'), step('manual', 'pending')],
      want: 'remediating',
    },
    { name: 'failed', plan: [step('automated', 'failed')], want: 'awaiting_responder' },
    { name: 'outcome unknown', plan: [step('automated', 'outcome_unknown')], want: 'awaiting_responder' },
    { name: 'rejected', plan: [step('approval', 'rejected')], want: 'awaiting_responder' },
    {
      name: 'everything finished',
      plan: [
        step('automated', 'succeeded'),
        step('automated', 'dry_run'),
        step('automated', 'skipped'),
        step('manual', 'done'),
        step('escalate', 'escalated'),
      ],
      want: 'awaiting_responder',
    },
  ] as { name: string; plan: PlanStep[]; want: IncidentStatus }[])('$name → $want', ({ plan, want }) => {
    expect(nextStatusAfterPlan(plan)).toBe(want);
  });
});
