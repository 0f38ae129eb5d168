import { z } from 'zod';
import { isNotifyAddress } from './notify-address.ts';

/**
 * Which events of an incident notify which channels (README "Notifications"): a runbook's
 * `notifications`, else the global default (FIRELINE_NOTIFICATIONS), else the built-in policy,
 * which is what Fireline always did. Pure: the incident layer asks it where each notification goes.
 */

/**
 * What the policy reads of a runbook and of an incident (structural, so that runbook-schema.ts,
 * which holds the policy's schema, and types.ts need not be imported back).
 */
export interface PolicyRunbook {
  notifications?: NotificationPolicy | undefined;
  escalation: { primary: string; secondary?: string | undefined };
  remediations: readonly { id: string; escalateTo?: string | undefined }[];
}
export interface PolicyIncident {
  escalated: boolean;
  plan: readonly { stepId: string; kind: string; state: string }[];
}

/** The events a policy routes, in the order an incident meets them. */
export const NOTIFY_EVENTS = [
  'opened',
  'diagnosed',
  'approval_needed',
  'updated',
  'escalated',
  'acknowledged',
  'resolved',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** The runbook's `escalation.primary`. */
const PRIMARY = 'primary';
/** The channel escalation pages: the runbook's `escalation.secondary`, else its primary. */
const ESCALATION = 'escalation';

const ChannelRef = z.string().refine((v) => v === PRIMARY || v === ESCALATION || isNotifyAddress(v), {
  error: (iss) =>
    `'${String(iss.input)}' is not a channel: expected primary, escalation, "#channel" (quoted in YAML) or kind:target (pagerduty:payments, webhook:statuspage)`,
});

/** Per event, the channels to notify (`[]`: none); an event left out keeps the next policy's. */
export const NotificationPolicySchema = z.strictObject(
  Object.fromEntries(NOTIFY_EVENTS.map((e) => [e, z.array(ChannelRef).optional()])) as Record<
    NotifyEvent,
    z.ZodOptional<z.ZodArray<typeof ChannelRef>>
  >,
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? `not an event: expected ${NOTIFY_EVENTS.join(', ')}` : undefined,
  },
);
export type NotificationPolicy = z.infer<typeof NotificationPolicySchema>;

/**
 * Fireline's policy when neither the runbook nor the global default names an event: everything
 * to the primary channel, escalations to the escalation channel. `acknowledged` and `resolved` are
 * left out: they go to every channel that was told about the incident (`channelsTold`).
 */
export const BUILT_IN_POLICY: NotificationPolicy = {
  opened: [PRIMARY],
  diagnosed: [PRIMARY],
  approval_needed: [PRIMARY],
  updated: [PRIMARY],
  escalated: [ESCALATION],
};

/** The policy a runbook's incidents follow, event by event: the runbook's, the global's, the built-in. */
export function effectivePolicy(
  runbook: Pick<PolicyRunbook, 'notifications'>,
  defaults: NotificationPolicy = {},
) {
  return { ...BUILT_IN_POLICY, ...defaults, ...runbook.notifications };
}

/** `primary` and `escalation` made addresses, duplicates dropped (first kept). */
function addresses(refs: readonly string[], runbook: Pick<PolicyRunbook, 'escalation'>): string[] {
  const { primary, secondary } = runbook.escalation;
  const named = refs.map((r) => (r === PRIMARY ? primary : r === ESCALATION ? (secondary ?? primary) : r));
  return [...new Set(named)];
}

/**
 * The addresses `event` notifies for incidents of `runbook`. For `acknowledged` and `resolved`
 * with no policy naming them, pass `incident`: they go to every channel told about it.
 */
export function channelsFor(
  event: NotifyEvent,
  runbook: PolicyRunbook,
  defaults: NotificationPolicy = {},
  incident?: PolicyIncident,
): string[] {
  const refs = effectivePolicy(runbook, defaults)[event];
  if (refs) return addresses(refs, runbook);
  return incident ? channelsTold(incident, runbook, defaults) : [];
}

/**
 * Every channel that was told about an incident: those of `opened` and `diagnosed`, of
 * `approval_needed` when a step waited for approval, of `escalated` once the incident escalated,
 * and each channel an `escalate` step paged. These must hear that it was acknowledged or resolved
 * (a PagerDuty page left open pages on).
 */
export function channelsTold(
  incident: PolicyIncident,
  runbook: PolicyRunbook,
  defaults: NotificationPolicy = {},
): string[] {
  const policy = effectivePolicy(runbook, defaults);
  const refs = [...(policy.opened ?? []), ...(policy.diagnosed ?? [])];
  if (incident.plan.some((s) => s.kind === 'approval')) refs.push(...(policy.approval_needed ?? []));
  if (incident.escalated) refs.push(...(policy.escalated ?? []));
  const told = addresses(refs, runbook);
  for (const step of incident.plan) {
    if (step.kind !== 'escalate' || step.state !== 'escalated') continue;
    const def = runbook.remediations.find((r) => r.id === step.stepId);
    told.push(...escalateStepChannels(def?.escalateTo, runbook, defaults));
  }
  return [...new Set(told)];
}

/** An `escalate` step pages its `escalateTo` when it names one, else the policy's `escalated` channels. */
export function escalateStepChannels(
  escalateTo: string | undefined,
  runbook: Omit<PolicyRunbook, 'remediations'>,
  defaults: NotificationPolicy = {},
): string[] {
  if (escalateTo !== undefined) return [escalateTo];
  return addresses(effectivePolicy(runbook, defaults).escalated ?? [], runbook);
}
