import { describe, expect, it } from 'vitest';
import { historyFacts, isPersonActor } from '../../src/engine/history.ts';
import type { TimelineEvent } from '../../src/engine/types.ts';
import { INCIDENT, TIMELINE } from '../fixtures/report-incident.ts';

const event = (
  id: string,
  type: TimelineEvent['type'],
  at: string,
  actor = 'system',
  data?: Record<string, unknown>,
) =>
  ({ id, incidentId: 'inc-1', type, at, actor, message: type, ...(data ? { data } : {}) }) as TimelineEvent;

describe('history facts of an incident', () => {
  it('tells people from Fireline and the alert sources', () => {
    expect(['system', 'alert:alertmanager', 'alert:grafana'].map(isPersonActor)).toEqual([
      false,
      false,
      false,
    ]);
    expect(['slack:U123', 'token:operator', 'alice'].map(isPersonActor)).toEqual([true, true, true]);
  });

  it('derives times, people, steps, rules and the search text from the record and timeline', () => {
    const timeline = [
      ...TIMELINE.slice(0, 2),
      event('2-5', 'remediation.awaiting_approval', '2024-05-01T03:01:18.000Z', 'system', {
        stepId: 'scale_db_pool',
      }),
      TIMELINE[2]!,
      event('3-5', 'remediation.started', '2024-05-01T03:02:01.000Z', 'system', { stepId: 'scale_db_pool' }),
      event('3-6', 'remediation.succeeded', '2024-05-01T03:02:09.000Z', 'system', {
        stepId: 'scale_db_pool',
      }),
      event('3-7', 'remediation.verified', '2024-05-01T03:04:09.000Z', 'system', {
        stepId: 'scale_db_pool',
        healthy: false,
      }),
      TIMELINE[3]!,
    ];
    const facts = historyFacts(INCIDENT, timeline);
    expect(facts).toMatchObject({
      alertname: 'PaymentSlow',
      evidenceAt: '2024-05-01T03:01:17.000Z',
      acknowledgedAt: null,
      humanActions: 2,
      resolvedUnattended: false,
      rules: [{ index: 0, description: 'Pool exhausted', matched: true }],
    });
    expect(facts.steps).toEqual([
      {
        stepId: 'scale_db_pool',
        kind: 'approval',
        actionType: 'scale_up',
        state: 'succeeded',
        startedAt: '2024-05-01T03:01:18.000Z',
        finishedAt: '2024-05-01T03:02:09.000Z',
        verified: false,
        by: 'slack:U123',
      },
    ]);
    expect(facts.search).toContain('pod=pay-1|<img src=x onerror=alert(1)>');
    expect(facts.search).toContain('payment-slow');
    expect(facts.search, 'lower-case').not.toMatch(/[A-Z]/);
  });

  it('an incident resolved by Fireline alone is unattended; a person acting after the resolution does not change that', () => {
    const resolved = event('9-0', 'incident.resolved', INCIDENT.resolvedAt!, 'system');
    const note = event('9-1', 'note', '2024-05-01T04:00:00.000Z', 'token:alice');
    expect(historyFacts(INCIDENT, [...TIMELINE.slice(0, 2), resolved, note]).resolvedUnattended).toBe(true);
    expect(historyFacts({ ...INCIDENT, status: 'diagnosed' }, TIMELINE.slice(0, 2)).resolvedUnattended).toBe(
      false,
    );
  });

  it('a manual step starts when the decision put it before the responder', () => {
    const manual = {
      ...INCIDENT,
      plan: [{ stepId: 'look', name: 'Look', kind: 'manual' as const, state: 'done' as const }],
    };
    const done = event('5-0', 'step.completed', '2024-05-01T03:05:17.000Z', 'token:bob', { stepId: 'look' });
    expect(historyFacts(manual, [...TIMELINE.slice(0, 2), done]).steps[0]).toMatchObject({
      startedAt: '2024-05-01T03:01:17.000Z',
      finishedAt: '2024-05-01T03:05:17.000Z',
    });
  });
});
