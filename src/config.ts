import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { redisUrlProblem } from './redis/url.ts';

const Bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const Int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/** Every environment variable Fireline reads, with its default. README documents each. */
export const ConfigSchema = z.object({
  /**
   * One Redis (`redis://[user:password@]host:6379[/db]`, `rediss://` for TLS) or a Redis Cluster
   * (`redis+cluster://[user:password@]host:port,host:port`, `rediss+cluster://` for TLS; the hosts
   * are seed nodes). On a cluster the prefix becomes a hash tag (see FIRELINE_PREFIX).
   */
  REDIS_URL: z
    .string()
    .check((ctx) => {
      const problem = redisUrlProblem(ctx.value);
      if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    })
    .optional(),
  /** Tried when REDIS_URL is unset; when nothing answers there, Fireline starts its own redis-server. */
  FIRELINE_LOCAL_REDIS: z.string().url().default('redis://127.0.0.1:6379'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: Int(3000, 0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Key and queue prefix. On a Redis Cluster it must be a hash tag so that every key shares one
   * slot: a prefix without braces is wrapped (`fireline` → `{fireline}`, logged at start).
   */
  FIRELINE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}.-]+$/, { error: 'letters, digits, "_", "-", ".", and {} for a hash tag' })
    .default('fireline'),
  FIRELINE_RUNBOOKS: z.string().min(1).default('./runbooks'),
  FIRELINE_INGEST_TOKEN: z.string().min(16).optional(),
  FIRELINE_OPERATOR_TOKEN: z.string().min(16).optional(),
  FIRELINE_VIEWER_TOKEN: z.string().min(16).optional(),
  /** Where users reach Fireline, for links in notifications (default http://HOST:PORT). */
  FIRELINE_PUBLIC_URL: z.string().url().optional(),
  /** Verifies Grafana's X-Grafana-Alerting-Signature when set. */
  FIRELINE_GRAFANA_SECRET: z.string().min(1).optional(),
  /** Connections of the adapters (Prometheus, databases, Slack…); see README "Connections". */
  FIRELINE_CONFIG: z.string().min(1).default('fireline.yaml'),
  /** Where a private redis-server keeps its data when Fireline starts one. */
  FIRELINE_DATA_DIR: z.string().min(1).default('.fireline'),
  /** Record rendered actions, run nothing, for every runbook. */
  FIRELINE_DRY_RUN: Bool.default(false),
  FIRELINE_DIAGNOSTIC_CONCURRENCY: Int(20, 1),
  /** Remediations started per minute across all workers. */
  FIRELINE_REMEDIATION_RATE_PER_MINUTE: Int(10, 1),
  /** Remediations running at once across all workers. */
  FIRELINE_REMEDIATION_CONCURRENCY: Int(2, 1),
  FIRELINE_RETENTION_DAYS: Int(90, 1),
  /** How long a worker's job lock lasts, and how often stalled jobs (their worker died) are looked for. */
  FIRELINE_LOCK_DURATION_MS: Int(30_000, 500),
  FIRELINE_STALLED_INTERVAL_MS: Int(30_000, 500),
  /** How long shutdown waits for active jobs before it forces. */
  FIRELINE_SHUTDOWN_TIMEOUT_MS: Int(10_000, 0),
  /**
   * OpenTelemetry tracing: `off` loads no SDK; `otlp` exports over OTLP/HTTP (the exporter reads the
   * standard OTEL_EXPORTER_OTLP_* variables itself); `console` prints spans on stdout.
   */
  FIRELINE_OTEL: z.enum(['off', 'otlp', 'console']).default('off'),
  OTEL_SERVICE_NAME: z.string().min(1).default('fireline'),
});
export type Config = z.infer<typeof ConfigSchema>;

/**
 * Parses the environment once per entry point. Throws ConfigError naming each bad variable and
 * what was expected; never called at import time.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(ConfigSchema.shape).flatMap((k) =>
      env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]],
    ),
  );
  const parsed = ConfigSchema.safeParse(known);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => {
    const name = String(i.path[0]);
    return `${name}=${JSON.stringify(shown(name, known[name]))}: ${i.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
}

/** A value as an error message may show it: secrets hidden, credentials cut out of URLs. */
function shown(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return value;
  if (/TOKEN|SECRET|PASSWORD/.test(name)) return `<${value.length} characters, hidden>`;
  return value.replace(/\/\/[^@/]*@/, '//***@');
}
