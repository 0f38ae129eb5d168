import type { Incident, NotificationKind } from './types.ts';

/**
 * The words of a notification, whatever the channel renders them into. Built from the incident
 * document only; untrusted alert text is shown as text, and each channel escapes it for itself.
 */
export function notificationText(
  kind: NotificationKind,
  incident: Incident,
  stepId?: string,
): { title: string; text: string } {
  const alertname = incident.alert.labels.alertname ?? incident.alert.source;
  const title = `${incident.severity} ${incident.service}: ${incident.runbookName} (${alertname})`;
  const verdicts = Object.values(incident.verdicts)
    .map((v) => `${v.stepId}: ${v.status}`)
    .join(', ');
  const step = stepId ? incident.plan.find((s) => s.stepId === stepId) : undefined;
  const resolvedNote = incident.alertResolved
    ? ' The alert has resolved at the source: an automated step will be skipped unless its runbook says runWhenResolved.'
    : '';
  const lines: Record<NotificationKind, string> = {
    opened: `Incident ${incident.id} opened; diagnostics are running.`,
    update: step
      ? `"${step.name}" is ${step.state.replaceAll('_', ' ')}${step.detail ? `: ${step.detail}` : ''}.`
      : [
          `Diagnosed ${incident.overall ?? 'unknown'}${verdicts ? ` — ${verdicts}` : ''}.`,
          incident.plan.length
            ? `Plan: ${incident.plan.map((s) => `${s.name} [${s.kind}]`).join('; ')}.`
            : 'No rule matched: no remediation planned.',
        ].join('\n'),
    approval_needed: `Approval needed for "${step?.name ?? stepId}" on incident ${incident.id}${
      step?.action ? `: ${step.action.type} (action ${step.action.hash})` : ''
    }.${resolvedNote}`,
    escalation: `Incident ${incident.id} escalated${incident.acknowledged ? '' : ' (not acknowledged)'}.`,
    acknowledged: `Incident ${incident.id} acknowledged: a responder has it; escalation stopped.`,
    resolved: `Incident ${incident.id} resolved.`,
  };
  return { title, text: lines[kind] };
}
