import { z } from 'zod';
import { InvariantError } from '../errors.ts';
import { ACTION_TYPES, actionTypeSpec } from './action-types/index.ts';
import { DIAGNOSTIC_TYPES } from './diagnostic-types/index.ts';
import { NotificationPolicySchema } from './notification-policy.ts';
import { type ActionSafety, type DiagnosticTypeSpec, NonEmpty } from './type-spec.ts';

/**
 * The runbook language. Field names of the original design are kept (id, name, description,
 * severity, service, triggers, diagnostics, decisionTree, remediations, escalation); configs are
 * typed per diagnostic and per action type (each type's spec is a file of `diagnostic-types/` or
 * `action-types/`) so that a typo in a key is an error, never a silent default. Expressions are
 * CEL strings; they are compiled by `compileRunbook`, not here.
 */

const Id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'expected an id of lowercase letters, digits, "_" and "-"' });
const Seconds = z.number().positive();

export const SeveritySchema = z.enum(['P1', 'P2', 'P3', 'P4']);
export type Severity = z.infer<typeof SeveritySchema>;

// ── triggers ────────────────────────────────────────────────────────────────────────────────

/** Alertmanager-style label matcher: `name="value"`, `name!="v"`, `name=~"re"`, `name!~"re"`. */
export const MATCHER_PATTERN = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

export const AlertTriggerSchema = z.strictObject({
  type: z.literal('alert'),
  alertName: NonEmpty,
  matchers: z
    .array(z.string().regex(MATCHER_PATTERN, { error: 'expected a matcher like namespace="production"' }))
    .default([]),
});
export const ManualTriggerSchema = z.strictObject({ type: z.literal('manual') });
export const MetricThresholdTriggerSchema = z.strictObject({
  type: z.literal('metric_threshold'),
  metricQuery: NonEmpty,
  threshold: z.number(),
  comparison: z.enum(['>', '>=', '<', '<=']).default('>'),
  intervalSeconds: Seconds.default(60),
});
export const TriggerSchema = z.discriminatedUnion('type', [
  AlertTriggerSchema,
  ManualTriggerSchema,
  MetricThresholdTriggerSchema,
]);
export type Trigger = z.infer<typeof TriggerSchema>;

// ── one member per type ─────────────────────────────────────────────────────────────────────

/** What the union needs of a diagnostic or action type spec. */
type TypeSpec = Pick<DiagnosticTypeSpec, 'type' | 'configSchema'>;

/** The schema of a step (or action) of one type: the `base` fields, its `type` and its `config`. */
function memberSchema<B extends z.ZodRawShape, T extends string, S extends z.ZodType>(
  base: B,
  spec: { type: T; configSchema: S },
) {
  return z.strictObject({ ...base, type: z.literal(spec.type), config: spec.configSchema });
}

/** The member schemas of a tuple of specs, one by one, so that narrowing on `type` stays exact. */
type MemberSchemas<B extends z.ZodRawShape, L extends readonly TypeSpec[]> = {
  -readonly [K in keyof L]: L[K] extends {
    type: infer T extends string;
    configSchema: infer S extends z.ZodType;
  }
    ? ReturnType<typeof memberSchema<B, T, S>>
    : never;
};

/** The discriminated union (on `type`) of one member per spec, in the order of the registry. */
function unionOfTypes<B extends z.ZodRawShape, L extends readonly TypeSpec[]>(
  base: B,
  specs: L,
): z.ZodDiscriminatedUnion<MemberSchemas<B, L>, 'type'> {
  const members = specs.map((spec) => memberSchema(base, spec));
  return z.discriminatedUnion('type', members as [(typeof members)[number]]) as never;
}

// ── diagnostics ─────────────────────────────────────────────────────────────────────────────

/** How to read a step's facts. Checked in the order critical, warning, healthy; first true wins. */
export const InterpretSchema = z
  .strictObject({ critical: NonEmpty.optional(), warning: NonEmpty.optional(), healthy: NonEmpty.optional() })
  .refine((i) => i.critical || i.warning || i.healthy, {
    error: 'interpret needs at least one of critical, warning, healthy',
  });
export type Interpret = z.infer<typeof InterpretSchema>;

/** A Prometheus-style duration: `90s`, `30m`, `2h`, `1d`; parsed to milliseconds. */
const DurationMs = z
  .string()
  .regex(/^\d+(s|m|h|d)$/, { error: 'a duration such as 30s, 30m, 2h or 1d' })
  .transform(
    (text) =>
      Number(text.slice(0, -1)) *
      { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[text.slice(-1) as 's' | 'm' | 'h' | 'd'],
  );

/**
 * The chart of a `prometheus_query` or `log_search` step (src/engine/chart.ts): `false` for none;
 * else how far before the alert started it begins (`window`, default 30m), its step (default the
 * window's length over 240 points) and threshold lines besides those read from `interpret`.
 */
export const ChartOptionsSchema = z.union([
  z.literal(false),
  z.strictObject({
    window: DurationMs.optional(),
    step: DurationMs.optional(),
    thresholds: z
      .array(
        z.strictObject({
          level: z.enum(['critical', 'warning', 'healthy']),
          op: z.enum(['>', '>=', '<', '<=']),
          value: z.number(),
        }),
      )
      .max(6)
      .default([]),
  }),
]);
export type ChartOptions = z.infer<typeof ChartOptionsSchema>;

const diagnosticBase = {
  id: Id,
  name: NonEmpty,
  description: z.string().default(''),
  /** Seconds. */
  timeout: Seconds.default(30),
  interpret: InterpretSchema,
  chart: ChartOptionsSchema.optional(),
};

export const DiagnosticStepSchema = unionOfTypes(diagnosticBase, DIAGNOSTIC_TYPES);
export type DiagnosticStep = z.infer<typeof DiagnosticStepSchema>;
export type DiagnosticType = DiagnosticStep['type'];

// ── remediations ────────────────────────────────────────────────────────────────────────────

export const ActionSchema = unionOfTypes({}, ACTION_TYPES);
export type Action = z.infer<typeof ActionSchema>;
export type ActionType = Action['type'];

export const VerifySchema = z.strictObject({
  diagnostics: z.array(Id).min(1),
  afterSeconds: Seconds.default(60),
});

export const RemediationStepSchema = z
  .strictObject({
    id: Id,
    name: NonEmpty,
    description: z.string().default(''),
    type: z.enum(['manual', 'automated', 'escalate']),
    action: ActionSchema.optional(),
    instructions: z.string().optional(),
    requiresApproval: z.boolean().default(false),
    /** For `escalate` steps: the channel to page; defaults to the runbook's escalation.secondary, then primary. */
    escalateTo: z.string().optional(),
    verify: VerifySchema.optional(),
    /** The safety target (one remediation per target at a time); defaults to the runbook's service. */
    target: z.string().optional(),
    cooldownMinutes: z.number().nonnegative().default(0),
    /** Runs per rolling hour per target; unset: the action type's default (`stepSafety`). */
    maxPerHour: z.number().int().positive().optional(),
    /**
     * Act even when every alert of the incident has resolved at the source (by default an
     * automated step whose alert cleared is skipped).
     */
    runWhenResolved: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    if (r.type === 'automated' && !r.action)
      ctx.addIssue({ code: 'custom', path: ['action'], message: 'an automated step needs an action' });
    if (r.type === 'manual' && !r.instructions)
      ctx.addIssue({
        code: 'custom',
        path: ['instructions'],
        message: 'a manual step needs instructions a responder can follow',
      });
  });
export type RemediationStep = z.infer<typeof RemediationStepSchema>;

// ── decision tree ───────────────────────────────────────────────────────────────────────────

/**
 * A rule with a `condition`, or (last, at most once) an `otherwise: true` rule that applies when
 * no condition held. Every holding rule contributes its `then`; `stop: true` ends the walk.
 */
export const DecisionRuleSchema = z
  .strictObject({
    condition: NonEmpty.optional(),
    otherwise: z.literal(true).optional(),
    then: z.array(Id),
    description: z.string().default(''),
    stop: z.boolean().default(false),
  })
  .refine((r) => (r.condition === undefined) !== (r.otherwise === undefined), {
    error: 'a rule has either a condition or otherwise: true',
  });
export type DecisionRule = z.infer<typeof DecisionRuleSchema>;

export const EscalationSchema = z.strictObject({
  /** `#channel` (Slack), `pagerduty:<service>`, or `webhook:<name>`. */
  primary: NonEmpty,
  secondary: z.string().optional(),
  escalateAfterMinutes: z.number().positive().default(30),
});

export const RunbookSchema = z.strictObject({
  id: Id,
  name: NonEmpty,
  description: z.string().default(''),
  severity: SeveritySchema,
  service: NonEmpty,
  triggers: z.array(TriggerSchema).min(1),
  /** Alerts whose values of these labels agree are one incident (else: one per fingerprint). */
  groupBy: z.array(NonEmpty).optional(),
  /** Record rendered actions, run nothing. */
  dryRun: z.boolean().default(false),
  /** A `resolved` alert resolves the incident. */
  autoResolve: z.boolean().default(false),
  diagnostics: z.array(DiagnosticStepSchema),
  decisionTree: z.array(DecisionRuleSchema),
  remediations: z.array(RemediationStepSchema),
  escalation: EscalationSchema,
  /** Which events notify which channels (src/engine/notification-policy.ts); unset: the global default. */
  notifications: NotificationPolicySchema.optional(),
});
export type Runbook = z.infer<typeof RunbookSchema>;
/** What a YAML author writes (defaults not yet applied). */
export type RunbookInput = z.input<typeof RunbookSchema>;

/** Action types that may be retried safely (a second run changes nothing more). */
export function isIdempotent(action: Action): boolean {
  return actionTypeSpec(action.type)!.isIdempotent(action.config);
}

/**
 * The limits a remediation step acts under: a `maxPerHour` the runbook sets wins; the rest is its
 * action type's default by risk (a restart is held to 3 an hour and one at a time per target, a
 * `notify` to neither).
 */
export function stepSafety(step: Pick<RemediationStep, 'maxPerHour'>, actionType: string): ActionSafety {
  const defaults = actionTypeSpec(actionType)?.safety;
  if (!defaults) throw new InvariantError(`no action type '${actionType}'`);
  return { ...defaults, ...(step.maxPerHour === undefined ? {} : { maxPerHour: step.maxPerHour }) };
}
