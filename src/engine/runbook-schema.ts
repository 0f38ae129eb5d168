import { z } from 'zod';

/**
 * The runbook language. Field names of the original design are kept (id, name, description,
 * severity, service, triggers, diagnostics, decisionTree, remediations, escalation); configs are
 * typed per diagnostic and per action type so that a typo in a key is an error, never a silent
 * default. Expressions are CEL strings; they are compiled by `compileRunbook`, not here.
 */

const Id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'expected an id of lowercase letters, digits, "_" and "-"' });
const NonEmpty = z.string().min(1);
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

// ── diagnostics ─────────────────────────────────────────────────────────────────────────────

/** How to read a step's facts. Checked in the order critical, warning, healthy; first true wins. */
export const InterpretSchema = z
  .strictObject({ critical: NonEmpty.optional(), warning: NonEmpty.optional(), healthy: NonEmpty.optional() })
  .refine((i) => i.critical || i.warning || i.healthy, {
    error: 'interpret needs at least one of critical, warning, healthy',
  });
export type Interpret = z.infer<typeof InterpretSchema>;

const Argv = z.array(z.string(), {
  error: 'expected an argv array such as [kubectl, get, pods]; shell strings and pipes are never run',
});

export const PrometheusQueryConfigSchema = z.strictObject({ query: NonEmpty });
export const HttpCheckConfigSchema = z.strictObject({
  urls: z
    .array(
      z.strictObject({
        name: NonEmpty,
        url: NonEmpty,
        method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
        headers: z.record(z.string(), z.string()).default({}),
        expectStatus: z.array(z.number().int()).optional(),
        bodyMatch: z.string().optional(),
      }),
    )
    .min(1),
  slowMs: z.number().positive().default(1000),
});
export const ShellCommandConfigSchema = z.strictObject({
  command: Argv.min(1),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  maxOutputBytes: z.number().int().positive().default(65_536),
});
export const DatabaseQueryConfigSchema = z.strictObject({
  database: NonEmpty.default('default'),
  query: NonEmpty,
  params: z.array(z.string()).default([]),
  maxRows: z.number().int().positive().default(100),
});
export const LogSearchConfigSchema = z.discriminatedUnion('source', [
  z.strictObject({
    source: z.literal('loki'),
    query: NonEmpty,
    sinceMinutes: z.number().positive().default(15),
    limit: z.number().int().positive().default(100),
  }),
  z.strictObject({
    source: z.literal('file'),
    paths: z.array(NonEmpty).min(1),
    pattern: NonEmpty,
    sinceMinutes: z.number().positive().default(15),
    limit: z.number().int().positive().default(100),
  }),
]);

const diagnosticBase = {
  id: Id,
  name: NonEmpty,
  description: z.string().default(''),
  /** Seconds. */
  timeout: Seconds.default(30),
  interpret: InterpretSchema,
};

export const DiagnosticStepSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...diagnosticBase,
    type: z.literal('prometheus_query'),
    config: PrometheusQueryConfigSchema,
  }),
  z.strictObject({ ...diagnosticBase, type: z.literal('http_check'), config: HttpCheckConfigSchema }),
  z.strictObject({ ...diagnosticBase, type: z.literal('shell_command'), config: ShellCommandConfigSchema }),
  z.strictObject({ ...diagnosticBase, type: z.literal('database_query'), config: DatabaseQueryConfigSchema }),
  z.strictObject({ ...diagnosticBase, type: z.literal('log_search'), config: LogSearchConfigSchema }),
]);
export type DiagnosticStep = z.infer<typeof DiagnosticStepSchema>;
export type DiagnosticType = DiagnosticStep['type'];

// ── remediations ────────────────────────────────────────────────────────────────────────────

const K8sTarget = { deployment: NonEmpty, namespace: NonEmpty, context: z.string().optional() };

export const ActionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('restart_service'), config: z.strictObject(K8sTarget) }),
  z.strictObject({
    type: z.literal('scale_up'),
    config: z
      .strictObject({
        ...K8sTarget,
        replicas: z.number().int().positive().optional(),
        by: z.number().int().positive().optional(),
        maxReplicas: z.number().int().positive(),
      })
      .refine((c) => (c.replicas === undefined) !== (c.by === undefined), {
        error: 'scale_up needs exactly one of replicas (scale to N) or by (scale by +N)',
      }),
  }),
  z.strictObject({
    type: z.literal('rollback'),
    config: z.strictObject({ ...K8sTarget, toRevision: z.number().int().positive().optional() }),
  }),
  z.strictObject({
    type: z.literal('flush_cache'),
    config: z.strictObject({
      target: NonEmpty.default('default'),
      pattern: NonEmpty,
      maxKeys: z.number().int().positive().default(10_000),
    }),
  }),
  z.strictObject({
    type: z.literal('run_script'),
    config: z.union([
      z.strictObject({ command: Argv.min(1), idempotent: z.boolean().default(false) }),
      z.strictObject({
        database: NonEmpty,
        sql: NonEmpty,
        params: z.array(z.string()).default([]),
        idempotent: z.boolean().default(false),
      }),
    ]),
  }),
  z.strictObject({
    type: z.literal('notify'),
    config: z.strictObject({ channel: NonEmpty, message: z.string().optional() }),
  }),
]);
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
    maxPerHour: z.number().int().positive().default(3),
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
});
export type Runbook = z.infer<typeof RunbookSchema>;
/** What a YAML author writes (defaults not yet applied). */
export type RunbookInput = z.input<typeof RunbookSchema>;

/** Action types that may be retried safely (a second run changes nothing more). */
export function isIdempotent(action: Action): boolean {
  switch (action.type) {
    case 'flush_cache':
    case 'notify':
      return true;
    case 'scale_up':
      return action.config.replicas !== undefined;
    case 'run_script':
      return action.config.idempotent;
    case 'restart_service':
    case 'rollback':
      return false;
  }
}
