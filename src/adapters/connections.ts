import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/**
 * Where the adapters connect: the monitoring stack, databases, caches, the cluster and the
 * notification channels. From the environment (the common ones have plain names) and an optional
 * `fireline.yaml` whose strings may say `${ENV_VAR}`. Secrets live here and nowhere else: never on
 * a timeline, never in a log (see REDACT_PATHS).
 */

const Url = z.string().url();
const Headers = z.record(z.string(), z.string()).default({});

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

/** The plain environment names: PROMETHEUS_URL, LOKI_URL, SLACK_WEBHOOK_URL, PAGERDUTY_ROUTING_KEY, KUBECONFIG, DATABASE_URL. */
function fromEnv(env: Record<string, string | undefined>): ConnectionsInput {
  const out: ConnectionsInput = {};
  if (env.PROMETHEUS_URL) out.prometheus = { url: env.PROMETHEUS_URL };
  if (env.LOKI_URL) out.loki = { url: env.LOKI_URL, ...(env.LOKI_ORG_ID ? { orgId: env.LOKI_ORG_ID } : {}) };
  if (env.DATABASE_URL) out.databases = { default: { url: env.DATABASE_URL } };
  if (env.SLACK_WEBHOOK_URL || env.SLACK_SIGNING_SECRET)
    out.slack = {
      webhooks: env.SLACK_WEBHOOK_URL ? { default: env.SLACK_WEBHOOK_URL } : {},
      ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
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
