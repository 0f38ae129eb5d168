import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AdapterError, ConfigError } from '../errors.ts';

/**
 * Where the adapters connect: the monitoring stack, databases, caches, the cluster and the
 * notification channels. From the environment (the common ones have plain names) and an optional
 * `fireline.yaml` whose strings may say `${ENV_VAR}`. Secrets live here and nowhere else: never on
 * a timeline, never in a log (see REDACT_PATHS).
 */

const Url = z.string().url();
const Headers = z.record(z.string(), z.string()).default({});

/**
 * Who may press Approve / Reject in Slack: Slack user ids (`U…`, or `W…` on Enterprise Grid), as
 * a list or one comma-separated string. User-group ids (`S…`) are refused: a button click carries
 * only the clicker's user id, and Fireline does not call Slack's API to read group membership.
 */
const SlackApprovers = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => [
    ...new Set((typeof v === 'string' ? v.split(',') : v).map((id) => id.trim()).filter(Boolean)),
  ])
  .pipe(
    z.array(
      z.string().refine((id) => /^[UW][A-Z0-9]{2,}$/.test(id), {
        error: (issue) =>
          /^S[A-Z0-9]+$/.test(String(issue.input))
            ? `'${issue.input}' is a Slack user-group id; list its members' user ids instead (a click names only the user, and Fireline does not ask Slack who is in a group)`
            : `'${issue.input}' is not a Slack user id (U… or W…)`,
      }),
    ),
  );

export const ConnectionsSchema = z.strictObject({
  prometheus: z
    .strictObject({
      url: Url,
      bearerToken: z.string().optional(),
      basicAuth: z.strictObject({ username: z.string(), password: z.string() }).optional(),
      headers: Headers,
    })
    .optional(),
  loki: z
    .strictObject({
      url: Url,
      orgId: z.string().optional(),
      bearerToken: z.string().optional(),
      headers: Headers,
    })
    .optional(),
  /** Named PostgreSQL databases for database_query and SQL run_script (`default` when a step names none). */
  databases: z.record(z.string(), z.strictObject({ url: z.string().min(1) })).default({}),
  /** Named Redis targets for flush_cache (`default` when a step names none). */
  redis: z.record(z.string(), z.strictObject({ url: z.string().min(1) })).default({}),
  kubernetes: z
    .strictObject({
      kubectl: z.string().min(1).default('kubectl'),
      kubeconfig: z.string().optional(),
      context: z.string().optional(),
    })
    .default({ kubectl: 'kubectl' }),
  slack: z
    .strictObject({
      /** Incoming webhook per channel (`#incidents-payment`); `default` for any other channel. */
      webhooks: z.record(z.string(), Url).default({}),
      signingSecret: z.string().optional(),
      /** Slack user ids allowed to approve or reject; absent: any member of the workspace. */
      approvers: SlackApprovers.optional(),
    })
    .default({ webhooks: {} }),
  pagerduty: z
    .strictObject({
      /** Routing key per service (`pagerduty:<service>`); `default` for any other. */
      routingKeys: z.record(z.string(), z.string()).default({}),
      url: Url.default('https://events.pagerduty.com/v2/enqueue'),
    })
    .default({ routingKeys: {}, url: 'https://events.pagerduty.com/v2/enqueue' }),
  /** Generic webhooks (`webhook:<name>`), signed with X-Fireline-Signature when a secret is set. */
  webhooks: z.record(z.string(), z.strictObject({ url: Url, secret: z.string().optional() })).default({}),
});
export type Connections = z.infer<typeof ConnectionsSchema>;
export type ConnectionsInput = z.input<typeof ConnectionsSchema>;

/** Replaces `${NAME}` in every string of `value` from `env`; an unset variable is an error naming it. */
export function interpolate(value: unknown, env: Record<string, string | undefined>, path = ''): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const found = env[name];
      if (found === undefined)
        throw new ConfigError(`${path || 'fireline.yaml'}: \${${name}} is not set in the environment`);
      return found;
    });
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, path ? `${path}.${k}` : k)]),
    );
  return value;
}

/** `${NAME}` in a runbook's header or env value: a variable of Fireline's environment. */
const ENV_REF = /\$\{([A-Z_][A-Z0-9_]*)\}/g;
/**
 * Fireline's own credentials are never handed to a runbook. Header and env values also take
 * alert-label templates, so without this a label could name one of them.
 */
const OWN_SECRETS = new Set([
  'REDIS_URL',
  'DATABASE_URL',
  'SLACK_WEBHOOK_URL',
  'SLACK_SIGNING_SECRET',
  'PAGERDUTY_ROUTING_KEY',
]);
/** Values this short are not worth hiding, and hiding them would garble messages. */
const MIN_REDACTED_LENGTH = 4;

/** Expands `${NAME}` references at run time, and keeps the values it put in out of messages. */
export interface EnvRefs {
  /**
   * `text` with each `${NAME}` (NAME `[A-Z_][A-Z0-9_]*`) replaced by the variable's value; any
   * other text (`$$`, `$NAME`, `${lower}`) is left as written.
   *
   * @throws AdapterError (not retryable) naming `where` and the variable, never a value: the
   *   variable is unset, or is one of Fireline's own settings (`FIRELINE_*`, `REDIS_URL`, …).
   */
  expand(text: string, where: string): string;
  /** `text` with every value expanded so far put back as its `${NAME}`. */
  redact(text: string): string;
  /** The `${NAME}` references in `text`, for messages. */
  names(text: string): string[];
}

/**
 * Secrets named in runbooks: expanded by the executor when it runs, from `env` (Fireline's
 * environment unless a test injects one), so that job data, timelines, Bull Board, the runbook
 * API and logs only ever hold the literal `${NAME}`.
 */
export function envRefs(adapter: string, env: Record<string, string | undefined>): EnvRefs {
  const used = new Map<string, string>();
  const fail = (message: string) => new AdapterError(adapter, message, { retryable: false });
  return {
    expand(text, where) {
      return text.replace(ENV_REF, (_, name: string) => {
        if (name.startsWith('FIRELINE_') || OWN_SECRETS.has(name))
          throw fail(`${where}: \${${name}} is one of Fireline's own settings, which runbooks cannot read`);
        const value = env[name];
        if (value === undefined) throw fail(`${where}: \${${name}} is not set in Fireline's environment`);
        if (value.length >= MIN_REDACTED_LENGTH) used.set(value, `\${${name}}`);
        return value;
      });
    },
    redact(text) {
      let out = text;
      for (const [value, ref] of used) out = out.replaceAll(value, ref);
      return out;
    },
    names: (text) => [...new Set(Array.from(text.matchAll(ENV_REF), (m) => m[0]))],
  };
}

/**
 * The plain environment names: PROMETHEUS_URL, LOKI_URL, SLACK_WEBHOOK_URL, SLACK_SIGNING_SECRET,
 * SLACK_APPROVERS (comma-separated user ids), PAGERDUTY_ROUTING_KEY, KUBECONFIG, DATABASE_URL.
 */
function fromEnv(env: Record<string, string | undefined>): ConnectionsInput {
  const out: ConnectionsInput = {};
  if (env.PROMETHEUS_URL) out.prometheus = { url: env.PROMETHEUS_URL };
  if (env.LOKI_URL) out.loki = { url: env.LOKI_URL, ...(env.LOKI_ORG_ID ? { orgId: env.LOKI_ORG_ID } : {}) };
  if (env.DATABASE_URL) out.databases = { default: { url: env.DATABASE_URL } };
  if (env.SLACK_WEBHOOK_URL || env.SLACK_SIGNING_SECRET || env.SLACK_APPROVERS)
    out.slack = {
      webhooks: env.SLACK_WEBHOOK_URL ? { default: env.SLACK_WEBHOOK_URL } : {},
      ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
      ...(env.SLACK_APPROVERS ? { approvers: env.SLACK_APPROVERS } : {}),
    };
  if (env.PAGERDUTY_ROUTING_KEY) out.pagerduty = { routingKeys: { default: env.PAGERDUTY_ROUTING_KEY } };
  if (env.KUBECONFIG) out.kubernetes = { kubeconfig: env.KUBECONFIG };
  return out;
}

/**
 * Merges the environment's connections under the file's (the file wins per key) and validates.
 * A bad file or value is a ConfigError naming the path.
 */
export function parseConnections(
  env: Record<string, string | undefined>,
  fileText?: string,
  file = 'fireline.yaml',
): Connections {
  let fromFile: Record<string, unknown> = {};
  if (fileText !== undefined) {
    const parsed: unknown = parseYaml(fileText);
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed))
        throw new ConfigError(`${file}: expected a mapping at the top`);
      const connections = (parsed as Record<string, unknown>).connections ?? parsed;
      fromFile = interpolate(connections, env) as Record<string, unknown>;
    }
  }
  const base = fromEnv(env) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(fromFile))
    merged[k] =
      v && typeof v === 'object' && !Array.isArray(v) && base[k] ? { ...(base[k] as object), ...v } : v;
  const result = ConnectionsSchema.safeParse(merged);
  if (result.success) return result.data;
  throw new ConfigError(
    `invalid connections (${file} and environment):\n  ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`,
  );
}

/** Reads `path` when it exists (FIRELINE_CONFIG, default ./fireline.yaml) and parses connections. */
export async function loadConnections(
  env: Record<string, string | undefined>,
  path: string,
): Promise<Connections> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
  return parseConnections(env, text, path);
}

/**
 * The kinds of connection that are configured, in README order (`prometheus`, `slack`, …); empty
 * on a machine where nothing is, which `fireline start` says in its banner.
 */
export function configuredConnections(c: Connections): string[] {
  const kinds: [string, boolean][] = [
    ['prometheus', c.prometheus !== undefined],
    ['loki', c.loki !== undefined],
    ['databases', Object.keys(c.databases).length > 0],
    ['redis', Object.keys(c.redis).length > 0],
    ['kubernetes', c.kubernetes.kubeconfig !== undefined || c.kubernetes.context !== undefined],
    ['slack', Object.keys(c.slack.webhooks).length > 0],
    ['pagerduty', Object.keys(c.pagerduty.routingKeys).length > 0],
    ['webhooks', Object.keys(c.webhooks).length > 0],
  ];
  return kinds.filter(([, on]) => on).map(([kind]) => kind);
}
