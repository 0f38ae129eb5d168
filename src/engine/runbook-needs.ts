import { isNotifyAddress, parseNotifyAddress } from './notify-address.ts';
import type { Runbook } from './runbook-schema.ts';
import type { Path } from './type-spec.ts';

/**
 * What a runbook needs from its deployment before it can do its work: the connections its
 * triggers, diagnostics and remediations use, the programs its commands run, and the channels it
 * notifies. Read from the runbook alone (pure); `fireline doctor` (src/incidents/doctor.ts) checks
 * each need against the connections and says which one is missing.
 */

export type NeedKind =
  | 'prometheus'
  | 'loki'
  | 'database'
  | 'redis'
  | 'kubernetes'
  | 'program'
  | 'slack'
  | 'pagerduty'
  | 'webhook';

export interface Need {
  kind: NeedKind;
  /** The database, Redis target, program, Slack channel, PagerDuty service or webhook name; '' for one of a kind. */
  name: string;
  /** Where the runbook asks for it, e.g. `['diagnostics', 1]`. */
  path: Path;
}

/** A need's key: the same connection used twice is checked once. */
export function needKey(need: Pick<Need, 'kind' | 'name'>): string {
  return need.name === '' ? need.kind : `${need.kind}:${need.name}`;
}

/** Every need of `runbook`, in runbook order (a need used twice is listed twice, with each place). */
export function runbookNeeds(runbook: Runbook): Need[] {
  const needs: Need[] = [];
  const add = (kind: NeedKind, name: string, path: Path) => needs.push({ kind, name, path });
  for (const [i, trigger] of runbook.triggers.entries())
    if (trigger.type === 'metric_threshold') add('prometheus', '', ['triggers', i]);
  for (const [i, step] of runbook.diagnostics.entries()) {
    const at = ['diagnostics', i];
    if (step.type === 'prometheus_query') add('prometheus', '', at);
    else if (step.type === 'log_search' && step.config.source === 'loki') add('loki', '', at);
    else if (step.type === 'database_query') add('database', step.config.database, at);
    else if (step.type === 'shell_command') add('program', step.config.command[0]!, at);
  }
  for (const [i, step] of runbook.remediations.entries()) {
    const at = ['remediations', i];
    const action = step.action;
    if (action?.type === 'run_script')
      if ('command' in action.config) add('program', action.config.command[0]!, at);
      else add('database', action.config.database, at);
    else if (action?.type === 'flush_cache') add('redis', action.config.target, at);
    else if (action?.type === 'restart_service' || action?.type === 'scale_up' || action?.type === 'rollback')
      add('kubernetes', '', at);
    else if (action?.type === 'notify') addAddress(needs, action.config.channel, [...at, 'action']);
    if (step.type === 'escalate')
      addAddress(
        needs,
        step.escalateTo ?? runbook.escalation.secondary ?? runbook.escalation.primary,
        step.escalateTo === undefined ? ['escalation'] : [...at, 'escalateTo'],
      );
  }
  addAddress(needs, runbook.escalation.primary, ['escalation', 'primary']);
  if (runbook.escalation.secondary !== undefined)
    addAddress(needs, runbook.escalation.secondary, ['escalation', 'secondary']);
  // The runbook's notification policy may name channels of its own (`primary` and `escalation` are above).
  for (const [event, refs] of Object.entries(runbook.notifications ?? {}))
    for (const [i, ref] of (refs ?? []).entries())
      if (ref !== 'primary' && ref !== 'escalation') addAddress(needs, ref, ['notifications', event, i]);
  return needs;
}

/**
 * A notification address as a need. An address made by a template is known only per alert, and an
 * unreadable one is lint's to report: neither is a need here.
 */
function addAddress(needs: Need[], address: string, path: Path): void {
  if (address.includes('{{') || !isNotifyAddress(address)) return;
  const { channel, target } = parseNotifyAddress(address);
  if (channel === 'slack' || channel === 'pagerduty' || channel === 'webhook')
    needs.push({ kind: channel, name: target, path });
}
