import { describe, expect, it } from 'vitest';
import { type SlackMessage, slackMessage } from '../../src/adapters/notifiers/slack-blocks.ts';
import { actionCommand } from '../../src/adapters/notifiers/slack-text.ts';
import type { Incident, PlanStep, RenderedAction } from '../../src/engine/types.ts';
import { INCIDENT } from '../fixtures/report-incident.ts';

const ROLLBACK: RenderedAction = {
  type: 'rollback',
  config: { deployment: 'payments-api', namespace: 'prod' },
  hash: '3f2a9c1b7d4e',
  target: 'k8s:prod/payments-api',
  idempotent: false,
};

function step(over: Partial<PlanStep> = {}): PlanStep {
  return {
    stepId: 'rollback',
    name: 'Roll back',
    kind: 'approval',
    state: 'awaiting_approval',
    actionType: 'rollback',
    action: ROLLBACK,
    ...over,
  };
}

/** An incident waiting for approval of `plan` (the report fixture, otherwise). */
function incident(plan: PlanStep[], over: Partial<Incident> = {}): Incident {
  return { ...INCIDENT, status: 'awaiting_approval', resolvedAt: undefined, plan, ...over };
}

/** The approval_needed message for the first step of the plan, as the Slack notifier posts it. */
function prompt(inc: Incident, interactive = true): SlackMessage {
  return slackMessage(
    {
      kind: 'approval_needed',
      incidentId: inc.id,
      title: 'P1 payments: Payments slow',
      text: 'Approval needed for "Roll back".',
      incident: inc,
      stepId: inc.plan[0]?.stepId,
    },
    { interactive },
  );
}

/** Every text a person can read in the message: sections, contexts, and the confirm dialog. */
function readable(m: SlackMessage): string {
  const parts = [m.text];
  for (const b of m.blocks) {
    if (b.type === 'section' || b.type === 'header') parts.push(b.text.text);
    if (b.type === 'context') parts.push(...b.elements.map((e) => e.text));
    if (b.type === 'actions') for (const e of b.elements) if (e.confirm) parts.push(e.confirm.text.text);
  }
  return parts.join('\n');
}

/** The section that asks for the approval. */
const ask = (m: SlackMessage) =>
  m.blocks.flatMap((b) =>
    b.type === 'section' && b.text.text.includes('Needs approval') ? [b.text.text] : [],
  );

describe('the Slack approval prompt shows what will run', () => {
  it('names the action type, the rendered command, the target and the hash (the type alone without a rendering)', () => {
    const m = prompt(incident([step()]));
    const [section] = ask(m);
    expect(section).toContain('Roll back');
    expect(section).toContain('rollback');
    expect(section).toContain('kubectl rollout undo deployment/payments-api -n prod');
    expect(section).toContain('k8s:prod/payments-api');
    expect(section).toContain('3f2a9c1b7d4e');
    // The confirm dialog names the rendering the approver agrees to.
    const confirm = m.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []))[0]?.confirm;
    expect(confirm?.text.text).toContain('3f2a9c1b7d4e');
    // Without buttons (no signing secret) the prompt still says what would run.
    expect(ask(prompt(incident([step()]), false))[0]).toContain('3f2a9c1b7d4e');
    // A step planned without its rendered action shows the action type alone.
    const bare = ask(prompt(incident([step({ action: undefined, actionType: 'rollback' })])));
    expect(bare).toEqual(['*Needs approval:* Roll back (rollback)']);
  });

  it('shows an argv as a command line, escaped for Slack and capped', () => {
    const argv = ['node', 'fix.js', '--tenant', '<!channel> & co', 'x'.repeat(4000)];
    const action: RenderedAction = {
      type: 'run_script',
      config: { command: argv, idempotent: false },
      hash: 'a1b2c3d4e5f6',
      target: 'payments',
      idempotent: false,
    };
    const m = prompt(incident([step({ actionType: 'run_script', action })]));
    const [section] = ask(m);
    expect(section).toContain("node fix.js --tenant '&lt;!channel&gt; &amp; co' xxxx");
    expect(section).toMatch(/… \(\d+ more chars\)/);
    expect(section).toContain('a1b2c3d4e5f6');
    expect(JSON.stringify(m)).not.toContain('<!channel>');
    expect(section!.length).toBeLessThanOrEqual(3000);
  });

  it('says prominently when the alert has resolved at the source', () => {
    const resolved = prompt(incident([step()], { alertResolved: true }));
    expect(readable(resolved)).toMatch(/alert has resolved at the source/i);
    expect(resolved.text).toMatch(/alert has resolved at the source/i);
    const firing = prompt(incident([step()], { alertResolved: false }));
    expect(readable(firing)).not.toMatch(/resolved at the source/i);
  });
});

describe('actionCommand', () => {
  it.each([
    [
      'restart_service',
      { deployment: 'api', namespace: 'prod', context: 'eu-1' },
      'kubectl rollout restart deployment/api -n prod --context=eu-1',
    ],
    [
      'rollback',
      { deployment: 'api', namespace: 'prod', toRevision: 3 },
      'kubectl rollout undo deployment/api -n prod --to-revision=3',
    ],
    [
      'scale_up',
      { deployment: 'api', namespace: 'prod', replicas: 6, maxReplicas: 10 },
      'kubectl scale deployment/api -n prod --replicas=6 (at most 10 replicas)',
    ],
    [
      'scale_up',
      { deployment: 'api', namespace: 'prod', by: 2, maxReplicas: 10 },
      'kubectl scale deployment/api -n prod (by +2, at most 10 replicas)',
    ],
    ['run_script', { command: ['sh', '-c', 'echo "$1"', 'sh', "it's"] }, `sh -c 'echo "$1"' sh 'it'\\''s'`],
    [
      'flush_cache',
      { target: 'default', pattern: 'session:*', maxKeys: 100 },
      '{"target":"default","pattern":"session:*","maxKeys":100}',
    ],
  ])('%s %j', (type, config, expected) => {
    expect(actionCommand({ type, config })).toBe(expected);
  });
});
