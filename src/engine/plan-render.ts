import { createHash } from 'node:crypto';
import { isIdempotent, type Runbook } from './runbook-schema.ts';
import { renderActionConfig, type TemplateContext } from './template.ts';
import type { PlanStep, RenderedAction } from './types.ts';

/** JSON with object keys sorted, so equal configs hash alike whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** The name of one rendering: the first 12 hex digits of the SHA-256 of `{type, config}`. */
export function actionHash(type: string, config: unknown): string {
  return createHash('sha256').update(canonical({ type, config })).digest('hex').slice(0, 12);
}

/**
 * Renders the action of every step of a new plan for the incident's alert, once: what an approval
 * approves and what the worker runs (`PlanStep.action`), whatever the runbooks say later. A step
 * whose templates do not render carries `renderError` instead, and fails without running.
 */
export function renderPlanActions(runbook: Runbook, plan: PlanStep[], ctx: TemplateContext): PlanStep[] {
  const byId = new Map(runbook.remediations.map((r) => [r.id, r]));
  return plan.map((step) => {
    const def = byId.get(step.stepId);
    if (!def?.action) return step;
    const rendered = renderActionConfig(def.action, ctx);
    if (!rendered.ok) return { ...step, renderError: `template: ${rendered.reason}` };
    const action: RenderedAction = {
      type: def.action.type,
      config: rendered.config,
      hash: actionHash(def.action.type, rendered.config),
      target: def.target ?? runbook.service,
      idempotent: isIdempotent({ ...def.action, config: rendered.config } as typeof def.action),
    };
    return { ...step, action };
  });
}
