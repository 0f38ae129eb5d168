import { describe, expect, it } from 'vitest';
import {
  channelsFor,
  channelsTold,
  escalateStepChannels,
  NOTIFY_EVENTS,
  type NotificationPolicy,
  type NotifyEvent,
  type PolicyIncident,
  type PolicyRunbook,
} from '../../src/engine/notification-policy.ts';
import { parseNotificationPolicy } from '../../src/engine/notification-policy-parse.ts';

/** Which events notify which channels: the runbook's policy, the global default, the built-in one. */

const runbook = (notifications?: NotificationPolicy, secondary?: string): PolicyRunbook => ({
  escalation: { primary: '#pay', ...(secondary ? { secondary } : {}) },
  remediations: [{ id: 'page', escalateTo: 'pagerduty:db' }, { id: 'page_default' }],
  ...(notifications ? { notifications } : {}),
});

const quiet: PolicyIncident = { escalated: false, plan: [] };
const escalated: PolicyIncident = { escalated: true, plan: [] };

describe('channelsFor', () => {
  it.each<[string, NotifyEvent, PolicyRunbook, NotificationPolicy | undefined, string[]]>([
    ['built-in: opened to the primary', 'opened', runbook(), undefined, ['#pay']],
    ['built-in: diagnosed to the primary', 'diagnosed', runbook(), undefined, ['#pay']],
    ['built-in: approval to the primary', 'approval_needed', runbook(), undefined, ['#pay']],
    [
      'built-in: escalated to the secondary',
      'escalated',
      runbook(undefined, 'pagerduty:sre'),
      undefined,
      ['pagerduty:sre'],
    ],
    ['built-in: escalated to the primary without one', 'escalated', runbook(), undefined, ['#pay']],
    ['global default applies', 'opened', runbook(), { opened: [] }, []],
    ['global names a channel', 'diagnosed', runbook(), { diagnosed: ['#all-incidents'] }, ['#all-incidents']],
    [
      'the runbook wins over the global',
      'opened',
      runbook({ opened: ['primary', '#status'] }),
      { opened: [] },
      ['#pay', '#status'],
    ],
    [
      'an event the runbook leaves out keeps the global',
      'diagnosed',
      runbook({ opened: [] }),
      { diagnosed: [] },
      [],
    ],
    [
      'escalation is the secondary',
      'opened',
      runbook({ opened: ['escalation'] }, 'pagerduty:sre'),
      undefined,
      ['pagerduty:sre'],
    ],
    ['duplicates are dropped', 'opened', runbook({ opened: ['primary', '#pay'] }), undefined, ['#pay']],
  ])('%s', (_name, event, rb, defaults, expected) => {
    expect(channelsFor(event, rb, defaults, quiet)).toEqual(expected);
  });

  it.each<
    [
      string,
      'acknowledged' | 'resolved',
      PolicyRunbook,
      PolicyIncident,
      NotificationPolicy | undefined,
      string[],
    ]
  >([
    ['resolved: every channel told (the primary)', 'resolved', runbook(), quiet, undefined, ['#pay']],
    [
      'resolved: the escalation channel too once escalated',
      'resolved',
      runbook(undefined, 'pagerduty:sre'),
      escalated,
      undefined,
      ['#pay', 'pagerduty:sre'],
    ],
    [
      'resolved: the channels opened and diagnosed went to',
      'resolved',
      runbook({ opened: ['#a'], diagnosed: ['#b'] }),
      quiet,
      undefined,
      ['#a', '#b'],
    ],
    [
      'resolved: none when nothing was told',
      'resolved',
      runbook({ opened: [], diagnosed: [] }),
      quiet,
      undefined,
      [],
    ],
    [
      'resolved: the policy names it',
      'resolved',
      runbook({ resolved: ['#status'] }),
      escalated,
      undefined,
      ['#status'],
    ],
    ['acknowledged: the global turns it off', 'acknowledged', runbook(), escalated, { acknowledged: [] }, []],
  ])('%s', (_name, event, rb, incident, defaults, expected) => {
    expect(channelsFor(event, rb, defaults, incident)).toEqual(expected);
  });

  it('every event has a built-in answer', () => {
    for (const event of NOTIFY_EVENTS)
      expect(channelsFor(event, runbook(), {}, quiet), event).not.toEqual([]);
  });
});

describe('escalate steps and channelsTold', () => {
  it('a step with escalateTo pages it; one without pages the policy’s escalated channels', () => {
    expect(escalateStepChannels('pagerduty:db', runbook({ escalated: ['#x'] }))).toEqual(['pagerduty:db']);
    expect(escalateStepChannels(undefined, runbook(undefined, 'pagerduty:sre'))).toEqual(['pagerduty:sre']);
    expect(
      escalateStepChannels(undefined, runbook({ escalated: ['#x', 'escalation'] }, 'pagerduty:sre')),
    ).toEqual(['#x', 'pagerduty:sre']);
  });

  it('channels paged by escalate steps and approval channels are told', () => {
    const incident: PolicyIncident = {
      escalated: false,
      plan: [
        { stepId: 'page', kind: 'escalate', state: 'escalated' },
        { stepId: 'page_default', kind: 'escalate', state: 'pending' },
        { stepId: 'fix', kind: 'approval', state: 'awaiting_approval' },
      ],
    };
    expect(channelsTold(incident, runbook({ approval_needed: ['#approvers'] }))).toEqual([
      '#pay',
      '#approvers',
      'pagerduty:db',
    ]);
  });
});

describe('parseNotificationPolicy (FIRELINE_NOTIFICATIONS)', () => {
  it.each<[string, NotificationPolicy | { problems: string[] }]>([
    ['{"opened": [], "resolved": ["primary", "#status"]}', { opened: [], resolved: ['primary', '#status'] }],
    ['{}', {}],
    [
      '{"opend": []}',
      {
        problems: [
          "opend: unknown key 'opend'; not an event: expected opened, diagnosed, approval_needed, updated, escalated, acknowledged, resolved",
        ],
      },
    ],
    [
      '{"opened": ["ops"]}',
      {
        problems: [
          `opened[0]: 'ops' is not a channel: expected primary, escalation, "#channel" (quoted in YAML) or kind:target (pagerduty:payments, webhook:statuspage)`,
        ],
      },
    ],
    ['{"opened": "#ops"}', { problems: ['opened: expected a list; got "#ops"'] }],
    ['', { problems: ['expected a mapping; got null'] }],
  ])('%s', (text, expected) => {
    expect(parseNotificationPolicy(text)).toEqual(expected);
  });
});
