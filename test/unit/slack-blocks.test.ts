import { describe, expect, it } from 'vitest';
import {
  keyFacts,
  SLACK_LIMITS,
  type SlackBlock,
  type SlackButton,
  type SlackMessage,
  slackMessage,
} from '../../src/adapters/notifiers/slack-blocks.ts';
import { clipMrkdwn, escapeMrkdwn, packLines } from '../../src/adapters/notifiers/slack-text.ts';
import type { Notification } from '../../src/adapters/types.ts';
import { SLACK_ACTIONS, slackActionValue } from '../../src/engine/slack-actions.ts';
import type { Incident, PlanStep, Verdict } from '../../src/engine/types.ts';

const HOSTILE = '<!channel> & <@U0BOSS> <https://evil.example|click here>\nsecond line';

function incident(over: Partial<Incident> = {}): Incident {
  return {
    id: 'inc-7',
    key: 'payment:fp',
    runbookId: 'payment',
    runbookName: 'Payment service slow',
    service: 'payment-service',
    severity: 'P1',
    status: 'awaiting_approval',
    acknowledged: false,
    escalated: false,
    dryRun: false,
    createdAt: '2024-05-01T03:00:00.000Z',
    updatedAt: '2024-05-01T03:01:00.000Z',
    alert: {
      source: 'alertmanager',
      status: 'firing',
      labels: { alertname: HOSTILE, namespace: 'prod' },
      annotations: { summary: `p99 over 2s ${HOSTILE}` },
      fingerprint: 'fp',
      startsAt: '2024-05-01T02:59:30Z',
    },
    verdicts: {
      db: {
        stepId: 'db',
        status: 'critical',
        matched: { level: 'critical', expression: "json.used_pct >= 90 && mode != 'x'" },
        facts: { json: { used_pct: 96 }, mode: 'pool' },
      },
      downstream: {
        stepId: 'downstream',
        status: 'healthy',
        matched: { level: 'healthy', expression: 'all_healthy' },
        facts: { all_healthy: true },
      },
      logs: { stepId: 'logs', status: 'error', facts: {}, message: `loki timed out ${HOSTILE}` },
    },
    overall: 'critical',
    decision: {
      remediations: ['kill_idle', 'rollback'],
      otherwiseApplied: false,
      rationale: [
        {
          index: 0,
          description: 'Database pool exhausted',
          condition: "diagnostics.db.status == 'critical'",
          matched: true,
          values: { 'diagnostics.db.status': 'critical', 'alert.labels.alertname': HOSTILE },
          then: ['kill_idle', 'rollback'],
        },
        { index: 1, description: 'Not held', condition: 'false', matched: false, values: {}, then: ['x'] },
      ],
    },
    plan: [
      {
        stepId: 'kill_idle',
        name: 'Kill idle connections',
        kind: 'automated',
        state: 'succeeded',
        actionType: 'run_script',
      },
      {
        stepId: 'rollback',
        name: 'Roll back',
        kind: 'approval',
        state: 'awaiting_approval',
        actionType: 'rollback_deployment',
      },
    ],
    ...over,
  };
}

function notification(inc: Incident, over: Partial<Notification> = {}): Notification {
  return {
    kind: 'approval_needed',
    incidentId: inc.id,
    title: `P1 payment-service: Payment service slow (${HOSTILE})`,
    text: 'Approval needed for "Roll back".',
    severity: inc.severity,
    link: `https://fireline.example/incidents/${inc.id}`,
    incident: inc,
    runbookName: inc.runbookName,
    stepId: 'rollback',
    ...over,
  };
}

const texts = (m: SlackMessage) =>
  m.blocks.flatMap((b) =>
    b.type === 'section' || b.type === 'header'
      ? [b.text.text]
      : b.type === 'context'
        ? b.elements.map((e) => e.text)
        : [],
  );
const buttons = (m: SlackMessage): SlackButton[] =>
  m.blocks.flatMap((b: SlackBlock) => (b.type === 'actions' ? b.elements : []));

/** Every Block Kit limit the builder promises, checked on a whole message. */
function expectWithinLimits(m: SlackMessage) {
  expect(m.blocks.length, 'blocks').toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  expect(m.text.length, 'fallback text').toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
  for (const b of m.blocks) {
    if (b.type === 'header')
      expect(b.text.text.length, 'header').toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    if (b.type === 'section') {
      expect(b.text.text.length, 'section').toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(b.text.verbatim).toBe(true);
    }
    if (b.type === 'actions') expect(b.elements.length).toBeLessThanOrEqual(25);
  }
  for (const button of buttons(m)) {
    expect(button.text.text.length, 'button text').toBeLessThanOrEqual(SLACK_LIMITS.buttonText);
    expect((button.value ?? '').length, 'button value').toBeLessThanOrEqual(SLACK_LIMITS.buttonValue);
    expect((button.url ?? '').length, 'button url').toBeLessThanOrEqual(SLACK_LIMITS.buttonUrl);
    if (button.confirm) {
      expect(button.confirm.title.text.length).toBeLessThanOrEqual(SLACK_LIMITS.confirmTitle);
      expect(button.confirm.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.confirmText);
      expect(button.confirm.confirm.text.length).toBeLessThanOrEqual(SLACK_LIMITS.confirmButton);
    }
  }
}

describe('slack text', () => {
  it.each([
    ['a & b', 'a &amp; b'],
    ['<!channel>', '&lt;!channel&gt;'],
    ['<@U1|x>', '&lt;@U1|x&gt;'],
    ['&amp;', '&amp;amp;'],
    ['plain *bold* _it_', 'plain *bold* _it_'],
  ])('escapes %j as %j', (raw, escaped) => {
    expect(escapeMrkdwn(raw)).toBe(escaped);
  });

  it('clips after escaping, never inside an escape, and counts what it cut', () => {
    expect(clipMrkdwn('<'.repeat(10), 100)).toBe('&lt;'.repeat(10));
    const clipped = clipMrkdwn('<'.repeat(100), 40);
    expect(clipped).toBe(`${'&lt;'.repeat(5)}… (95 more chars)`);
    expect(clipped.length).toBeLessThanOrEqual(40);
    // A surrogate pair is one character: never half an emoji.
    expect(clipMrkdwn('🔥'.repeat(50), 30)).toMatch(/^(🔥)+… \(\d+ more chars\)$/);
  });

  it('packs lines into sections and counts the lines left out', () => {
    const lines = Array.from({ length: 10 }, (_, i) => `${i}`.repeat(40));
    expect(packLines(lines, 100, 5)).toHaveLength(5);
    const two = packLines(lines, 100, 2);
    // Two 40-char lines fit in 100 chars; the last section keeps room for the count.
    expect(two).toEqual([`${lines[0]}\n${lines[1]}`, `${lines[2]}\n${lines[3]}\n… (6 more)`]);
    for (const s of two) expect(s.length).toBeLessThanOrEqual(100);
  });

  it.each([
    ['json.used_pct >= 90', { json: { used_pct: 96 } }, 'json.used_pct = 96'],
    ["status == 'critical' && value > 2", { status: 'x', value: 3 }, 'status = x, value = 3'],
    ['value > 2', { value: 6.014285714285705 }, 'value = 6.014'],
    ['size(lines) > 0', { lines: ['a'] }, ''],
    ['missing > 1', {}, ''],
    ['a > 1 && b > 1 && c > 1 && d > 1', { a: 1, b: 2, c: 3, d: 4 }, 'a = 1, b = 2, c = 3'],
  ])('keyFacts(%j)', (expression, facts, expected) => {
    expect(keyFacts(expression, facts)).toBe(expected);
  });
});

describe('slackMessage', () => {
  it('shows severity, service, runbook, verdict symbol and word, rationale, plan, buttons and link', () => {
    const inc = incident();
    const m = slackMessage(notification(inc), { interactive: true });
    expect(m.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'P1 payment-service: Payment service slow', emoji: true },
    });
    const all = texts(m).join('\n');
    expect(all).toContain(
      "🔴 *critical* db — json.used_pct &gt;= 90 &amp;&amp; mode != 'x' (json.used_pct = 96, mode = pool)",
    );
    expect(all).toContain('🟢 *healthy* downstream — all_healthy (all_healthy = true)');
    expect(all).toContain('⚠️ *error* logs — loki timed out &lt;!channel&gt;');
    // Worst first.
    expect(all.indexOf('*critical* db')).toBeLessThan(all.indexOf('*error* logs'));
    expect(all.indexOf('*error* logs')).toBeLessThan(all.indexOf('*healthy* downstream'));
    expect(all).toContain(
      '• Database pool exhausted — diagnostics.db.status = critical, alert.labels.alertname = &lt;!channel&gt;',
    );
    expect(all).not.toContain('Not held');
    expect(all).toContain('• Kill idle connections — automated · succeeded');
    expect(all).toContain('• Roll back — approval · awaiting approval');
    const [approve, reject, open] = buttons(m);
    expect(approve).toMatchObject({
      action_id: SLACK_ACTIONS.approve,
      value: slackActionValue('inc-7', 'rollback'),
      style: 'primary',
      confirm: {
        title: { text: 'Approve this step?' },
        confirm: { text: 'Approve' },
        deny: { text: 'Cancel' },
      },
    });
    expect(reject).toMatchObject({
      action_id: SLACK_ACTIONS.reject,
      value: slackActionValue('inc-7', 'rollback'),
      style: 'danger',
    });
    expect(reject?.confirm).toBeUndefined();
    expect(open).toMatchObject({
      url: 'https://fireline.example/incidents/inc-7',
      text: { text: 'Open incident' },
    });
    expectWithinLimits(m);
  });

  it('escapes hostile alert text everywhere: no <!channel>, user or link injection', () => {
    const m = slackMessage(notification(incident()), { interactive: true });
    const json = JSON.stringify(m);
    for (const injected of ['<!channel>', '<!', '<@', '<http']) expect(json).not.toContain(injected);
    expect(m.text).toContain(
      '&lt;!channel&gt; &amp; &lt;@U0BOSS&gt; &lt;https://evil.example|click here&gt; second line',
    );
    // Newlines in a label do not start new lines in the message.
    expect(texts(m).join('\n')).not.toMatch(/\nsecond line/);
    for (const b of m.blocks)
      if (b.type === 'context') for (const e of b.elements) expect(e.verbatim).toBe(true);
  });

  it('buttons only for the step asked about, only with a signing secret, never once resolved', () => {
    const two: PlanStep[] = [
      { stepId: 'a', name: 'A', kind: 'approval', state: 'awaiting_approval' },
      { stepId: 'b', name: 'B', kind: 'approval', state: 'awaiting_approval' },
    ];
    const inc = incident({ plan: two });
    const values = (m: SlackMessage) =>
      buttons(m).flatMap((b) => (b.value ? [`${b.action_id}:${b.value}`] : []));
    expect(values(slackMessage(notification(inc, { stepId: 'b' }), { interactive: true }))).toEqual([
      `approve:${slackActionValue('inc-7', 'b')}`,
      `reject:${slackActionValue('inc-7', 'b')}`,
    ]);
    expect(
      values(slackMessage(notification(inc, { kind: 'escalation' }), { interactive: true })),
    ).toHaveLength(4);
    expect(values(slackMessage(notification(inc, { kind: 'update' }), { interactive: true }))).toEqual([]);
    const noSecret = slackMessage(notification(inc, { stepId: 'b' }), { interactive: false });
    expect(values(noSecret)).toEqual([]);
    expect(texts(noSecret).join('\n')).toContain('fireline approve inc-7 &lt;step&gt;');
    const resolved = incident({ plan: two, status: 'resolved' });
    expect(
      values(slackMessage(notification(resolved, { kind: 'escalation' }), { interactive: true })),
    ).toEqual([]);
  });

  it('a huge incident stays within every Block Kit limit and says how much it left out', () => {
    const long = `${HOSTILE} ${'x'.repeat(5000)}`;
    const verdicts: Record<string, Verdict> = {};
    for (let i = 0; i < 60; i++)
      verdicts[`check_${i}`] = {
        stepId: `check_${i}`,
        status: i % 3 === 0 ? 'critical' : 'healthy',
        message: long,
        facts: {},
      };
    const plan: PlanStep[] = Array.from({ length: 40 }, (_, i) => ({
      stepId: `step_${i}`,
      name: `Step ${i} ${'n'.repeat(200)}`,
      kind: 'approval',
      state: 'awaiting_approval',
    }));
    const rationale = Array.from({ length: 30 }, (_, i) => ({
      index: i,
      description: long,
      condition: 'true',
      matched: true,
      values: Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`v${j}`, long])),
      then: plan.map((s) => s.stepId),
    }));
    const inc = incident({
      verdicts,
      plan,
      decision: { remediations: [], otherwiseApplied: false, rationale },
      runbookName: 'R'.repeat(400),
    });
    const m = slackMessage(
      notification(inc, {
        kind: 'escalation',
        title: long,
        text: long,
        link: `https://x.example/${'p'.repeat(100)}`,
      }),
      { interactive: true },
    );
    expectWithinLimits(m);
    expect(m.blocks.length, 'the 50 blocks are used, not wasted').toBeGreaterThanOrEqual(
      SLACK_LIMITS.blocks - 1,
    );
    const all = texts(m).join('\n');
    expect(all).toMatch(/… \(\d+ more\)/);
    expect(all).toMatch(/more awaiting approval: open the incident page/);
    expect(all).toMatch(/… \(\d+ more chars\)/);
    // The cut keeps the critical checks: all 20 are shown before any healthy one.
    expect(all.match(/🔴 \*critical\*/g)?.length).toBe(20);
    expect(JSON.stringify(m)).not.toContain('<!');
    expect(buttons(m).at(-1)?.url).toMatch(/^https:\/\/x\.example\//);
  });

  it('a notification without an incident document is its title and text', () => {
    const m = slackMessage(
      { kind: 'resolved', incidentId: 'i', title: 'P2 svc: <b>', text: 'done & dusted' },
      { interactive: true },
    );
    expect(m.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'P2 svc: <b>', emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: 'done &amp; dusted', verbatim: true } },
    ]);
    expect(m.text).toBe('Resolved: P2 svc: &lt;b&gt;');
  });
});
