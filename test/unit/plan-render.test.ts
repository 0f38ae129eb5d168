import { describe, expect, it } from 'vitest';
import { actionHash, renderPlanActions } from '../../src/engine/plan-render.ts';
import { templateContext } from '../../src/engine/template.ts';
import type { Alert, PlanStep } from '../../src/engine/types.ts';
import { compileYaml } from '../helpers/pipeline.ts';

const RUNBOOK = JSON.stringify({
  id: 'rb',
  name: 'Rb',
  severity: 'P2',
  service: 'svc',
  triggers: [{ type: 'alert', alertName: 'A' }],
  diagnostics: [],
  decisionTree: [{ otherwise: true, then: ['restart', 'look'] }],
  remediations: [
    {
      id: 'restart',
      name: 'Restart',
      type: 'automated',
      target: 'payments',
      action: {
        type: 'restart_service',
        config: { deployment: '{{ alert.labels.deployment }}', namespace: 'prod' },
      },
    },
    { id: 'look', name: 'Look', type: 'manual', instructions: 'Look.' },
  ],
  escalation: { primary: '#ops', escalateAfterMinutes: 30 },
});

const PLAN: PlanStep[] = [
  { stepId: 'restart', name: 'Restart', kind: 'automated', state: 'pending', actionType: 'restart_service' },
  { stepId: 'look', name: 'Look', kind: 'manual', state: 'pending', instructions: 'Look.' },
];

function ctx(deployment: string) {
  const alert: Alert = {
    source: 'alertmanager',
    status: 'firing',
    labels: { alertname: 'A', deployment },
    annotations: {},
    fingerprint: 'f',
    startsAt: '2024-05-01T12:00:00Z',
  };
  return templateContext(alert, { id: 'inc-1', severity: 'P2', service: 'svc', runbookId: 'rb' });
}

describe('rendering a plan once, when it is made', () => {
  const [compiled] = compileYaml(RUNBOOK);
  const runbook = compiled!.runbook;

  it('gives an automated step its rendered action, target and hash; other steps are unchanged', () => {
    const [restart, look] = renderPlanActions(runbook, PLAN, ctx('payments-api'));
    expect(restart?.action).toEqual({
      type: 'restart_service',
      config: { deployment: 'payments-api', namespace: 'prod' },
      hash: actionHash('restart_service', { deployment: 'payments-api', namespace: 'prod' }),
      target: 'payments',
      // A restart is not idempotent (src/engine/action-types/kubernetes.ts): it runs at most once.
      idempotent: false,
    });
    expect(look).toEqual(PLAN[1]);
  });

  it('names a rendering by its content, whatever the key order, and tells renderings apart', () => {
    const a = actionHash('restart_service', { deployment: 'x', namespace: 'prod' });
    expect(actionHash('restart_service', { namespace: 'prod', deployment: 'x' })).toBe(a);
    expect(actionHash('restart_service', { deployment: 'y', namespace: 'prod' })).not.toBe(a);
    expect(actionHash('rollback', { deployment: 'x', namespace: 'prod' })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
  });

  it('a step whose templates do not render carries the reason instead of an action', () => {
    const [restart] = renderPlanActions(runbook, PLAN, ctx('Not A Kubernetes Name!'));
    expect(restart?.action).toBeUndefined();
    expect(restart?.renderError).toMatch(/^template: /);
  });
});
