import { z } from 'zod';
import {
  EVENT_TYPES,
  type EventType,
  INCIDENT_STATUSES,
  NOTIFICATION_KINDS,
  VERDICT_STATUSES,
} from './types.ts';

/**
 * The timeline events as a public interface: every event type and the fields of its `data`, as
 * zod schemas, and from them the versioned JSON Schema of a progress channel message
 * (`fireline schema events`, committed as docs/events.schema.json). The emitters are in
 * src/incidents/; test/unit/event-schema.test.ts fails when one emits a type this catalog lacks.
 *
 * Versioning: fields and event types may be added within a version (readers ignore what they do
 * not know); a field removed or changed in meaning, or a type renamed, is a new version.
 */
export const EVENTS_SCHEMA_VERSION = 1;

const StepId = z.string().describe('the runbook step (diagnostic or remediation) id');
const Verdict = z.enum(VERDICT_STATUSES);
const Channel = z
  .string()
  .describe('a notification address: "#channel", pagerduty:<service>, webhook:<name>');
const Comment = z.string().describe('what the person wrote').optional();
const step = { stepId: StepId };

/** `data` of each event type; readers ignore fields they do not know (`looseObject`). */
export const EVENT_DATA = {
  'incident.opened': z.looseObject({
    fingerprint: z.string().describe('the alert that opened it'),
    labels: z.record(z.string(), z.string()),
  }),
  'incident.status': z.looseObject({
    from: z.enum(INCIDENT_STATUSES),
    to: z.enum(INCIDENT_STATUSES),
    diagnostics: z.array(StepId).describe('the diagnostics started (to diagnosing)').optional(),
    overall: Verdict.describe('the worst verdict (to diagnosed)').optional(),
  }),
  'incident.acknowledged': z.looseObject({}),
  'incident.resolved': z.looseObject({ comment: Comment }),
  'alert.refired': z.looseObject({ fingerprint: z.string(), startsAt: z.string() }),
  'alert.resolved': z.looseObject({ fingerprint: z.string(), endsAt: z.string().optional() }),
  'diagnostic.started': z.looseObject({
    ...step,
    type: z.string().describe('the diagnostic type, e.g. prometheus_query'),
    attempt: z.number().int(),
  }),
  'diagnostic.finished': z.looseObject({ ...step, status: Verdict, durationMs: z.number().optional() }),
  'diagnostic.charted': z.looseObject({
    ...step,
    phase: z.enum(['diagnosis', 'verify']),
    key: z.string().describe('the chart key: the step id, or verify:<stepId>'),
    missing: z.string().describe('why there is no chart').optional(),
  }),
  'decision.made': z.looseObject({
    remediations: z.array(StepId).describe('the planned remediation steps, in order'),
    overall: Verdict,
  }),
  'remediation.queued': z.looseObject(step),
  'remediation.awaiting_approval': z.looseObject(step),
  'remediation.approved': z.looseObject({ ...step, comment: Comment }),
  'remediation.rejected': z.looseObject({ ...step, comment: Comment }),
  'remediation.started': z.looseObject({
    ...step,
    action: z.string().describe('the action type, e.g. restart_service'),
    config: z.record(z.string(), z.unknown()).describe('the action as rendered for this incident'),
    hash: z.string().describe('the hash of the rendered action (what an approval names)'),
    dryRun: z.boolean(),
    attempt: z.number().int(),
  }),
  'remediation.succeeded': z.looseObject({ ...step, command: z.unknown().optional() }),
  'remediation.failed': z.looseObject({
    ...step,
    attemptsLeft: z.number().int().describe('present while the action will be retried').optional(),
  }),
  'remediation.outcome_unknown': z.looseObject(step),
  'remediation.dry_run': z.looseObject({ ...step, command: z.unknown().optional() }),
  'remediation.skipped': z.looseObject({
    ...step,
    reason: z.string().describe('cooldown, budget, durability, or why the step no longer applies'),
  }),
  'remediation.verified': z.looseObject({
    ...step,
    healthy: z.boolean(),
    verdicts: z.array(z.looseObject({ stepId: StepId, status: Verdict })),
  }),
  'step.completed': z.looseObject({ ...step, comment: Comment }),
  'notification.sent': z.looseObject({
    channel: Channel,
    kind: z.enum(NOTIFICATION_KINDS),
    externalId: z.string().describe("the receiver's id for it (PagerDuty's dedup key)").optional(),
  }),
  'notification.failed': z.looseObject({
    channel: Channel.optional(),
    kind: z.enum(NOTIFICATION_KINDS).optional(),
    status: z.number().int().describe('the HTTP status the receiver answered').optional(),
    body: z.string().describe("the receiver's answer, cut to 300 characters").optional(),
    jobId: z.string().describe('the notification job that gave up').optional(),
  }),
  'escalation.scheduled': z.looseObject({
    dueAt: z.string().describe('when it escalates unless acknowledged'),
  }),
  'escalation.fired': z.looseObject({
    channels: z.array(Channel).describe('every channel paged (the notification policy)'),
    channel: Channel.describe('the first of channels').optional(),
    reason: z.string().optional(),
    stepId: StepId.describe('the escalate step that paged').optional(),
  }),
  'escalation.cancelled': z.looseObject({}),
  note: z.looseObject({
    channel: Channel.optional(),
    kind: z.enum(NOTIFICATION_KINDS).optional(),
    skipped: z.boolean().describe('a notification the notifier chose not to send').optional(),
  }),
} satisfies Record<EventType, z.ZodType>;

/** One progress channel message of one event type: the event, its timeline id and global id. */
function messageSchema<T extends EventType>(type: T) {
  return z.strictObject({
    id: z.string().describe('the timeline stream id (XRANGE <prefix>:incident:<incidentId>:timeline)'),
    globalId: z.string().describe('the events stream id (XRANGE <prefix>:events): resume after it'),
    incidentId: z.string(),
    type: z.literal(type),
    at: z.string().describe('ISO-8601 time it happened'),
    actor: z.string().describe('system, or who acted (a token name, slack:U123)'),
    message: z.string().describe('one human sentence'),
    data: EVENT_DATA[type].optional(),
  });
}

/** A progress channel message, any event type. */
export const ProgressMessageSchema = z.discriminatedUnion(
  'type',
  EVENT_TYPES.map((t) => messageSchema(t)) as unknown as [ReturnType<typeof messageSchema<EventType>>],
);

/** The JSON Schema of a progress channel message (`fireline schema events`). */
export function eventsJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(ProgressMessageSchema, { io: 'input' });
  return {
    $schema,
    $id: `urn:fireline:events:v${EVENTS_SCHEMA_VERSION}`,
    title: `Fireline progress event, version ${EVENTS_SCHEMA_VERSION}`,
    description:
      'One message of the progress channel <prefix>:progress (PUBLISH), one JSON object per event. The events stream <prefix>:events refers to the same events (fields iid, tid). Printed by `fireline schema events`.',
    ...rest,
  };
}
