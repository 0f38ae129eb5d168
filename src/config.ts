import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseNotificationPolicy } from './engine/notification-policy-parse.ts';
import { ConfigError } from './errors.ts';
import { LOG_FORMATS } from './logger.ts';
import { type NamedToken, SCOPES, type Scope } from './producer/auth.ts';
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
  /** `auto`: readable lines on a terminal, JSON elsewhere; `json` or `pretty` forces one (logger.ts). */
  FIRELINE_LOG_FORMAT: z.enum(['auto', ...LOG_FORMATS]).default('auto'),
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
  /** A file of people's tokens, `name, scope, sha256:<hex>` per line (`loadTokensFile`). */
  FIRELINE_TOKENS_FILE: z.string().min(1).optional(),
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
  /**
   * The global notification policy (README "Notifications"): which events notify which channels
   * for runbooks that do not say, as a JSON object such as `{"opened": [], "resolved": ["primary"]}`.
   */
  FIRELINE_NOTIFICATIONS: z
    .string()
    .transform((text, ctx) => {
      const policy = parseNotificationPolicy(text);
      if (!('problems' in policy)) return policy;
      for (const message of policy.problems) ctx.issues.push({ code: 'custom', message, input: text });
      return z.NEVER;
    })
    .optional(),
  FIRELINE_DIAGNOSTIC_CONCURRENCY: Int(20, 1),
  /** Remediations started per minute across all workers. */
  FIRELINE_REMEDIATION_RATE_PER_MINUTE: Int(10, 1),
  /** Remediations running at once across all workers. */
  FIRELINE_REMEDIATION_CONCURRENCY: Int(2, 1),
  /** Days a resolved incident stays in Redis; with the history on, it is read from there afterwards. */
  FIRELINE_RETENTION_DAYS: Int(90, 1),
  /**
   * The incident history (README "Incident history"): `on` keeps every incident in PostgreSQL —
   * DATABASE_URL's server, or without it an embedded PostgreSQL (PGlite) in FIRELINE_DATA_DIR/history,
   * which only a single `all` process may open.
   */
  FIRELINE_HISTORY: z.enum(['on', 'off']).default('on'),
  /** The PostgreSQL of the incident history (`postgres://user:password@host:5432/db`). */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: 'a postgres:// or postgresql:// URL' })
    .optional(),
  /**
   * What a 2xx to an alert (and an action's start) waits for (src/redis/durability.ts): `primary`,
   * or `replica` — at least one replica acknowledged it (WAIT, at most FIRELINE_DURABILITY_TIMEOUT_MS;
   * else 503 + Retry-After). Unset: `replica` on a redis+sentinel:// URL, `primary` otherwise.
   */
  FIRELINE_DURABILITY: z.enum(['primary', 'replica']).optional(),
  FIRELINE_DURABILITY_TIMEOUT_MS: Int(2000, 10),
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
  return redactUrl(value);
}

/**
 * A URL fit for a log line or the terminal: everything between `//` and the last `@` (user and
 * password, even one holding `@` or `/`) becomes `***`. A URL without credentials is unchanged.
 */
export function redactUrl(url: string): string {
  return url.replace(/\/\/.*@/, '//***@');
}

const TOKEN_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
/** Actors Fireline itself writes on timelines: no token may pass for them. */
const RESERVED_NAMES = new Set(['system', 'anonymous']);

/** One line of a tokens file, or why it is wrong (never quoting the line: it may hold a token). */
function tokenLine(line: string): NamedToken | string {
  const fields = line.split(',').map((f) => f.trim());
  if (fields.length !== 3) return 'expected three fields: name, scope, sha256:<64 hex digits>';
  const [name = '', scope = '', hash = ''] = fields;
  if (!TOKEN_NAME.test(name)) return 'the name must be 1 to 64 of A-Z a-z 0-9 . _ @ -';
  if (RESERVED_NAMES.has(name.toLowerCase())) return `the name '${name}' is reserved`;
  if (!(SCOPES as readonly string[]).includes(scope))
    return `scope '${scope.slice(0, 20)}' is not one of ${SCOPES.join(', ')}`;
  const digest = /^sha256:([0-9a-f]{64})$/i.exec(hash)?.[1];
  if (!digest)
    return 'the third field must be sha256:<64 hex digits>, the SHA-256 of the token (never the token itself): printf %s "$TOKEN" | sha256sum';
  return { name, scope: scope as Scope, sha256: digest.toLowerCase() };
}

/**
 * Parses a tokens file: one `name, scope, sha256:<hex>` per line (`#` starts a comment; blank lines
 * are skipped). Throws ConfigError naming `file:line` for the first bad line, the same token on two
 * lines, or a file with no token at all.
 */
export function parseTokensFile(text: string, file: string): NamedToken[] {
  const tokens: NamedToken[] = [];
  const lineOf = new Map<string, number>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const parsed = tokenLine(line);
    if (typeof parsed === 'string') throw new ConfigError(`FIRELINE_TOKENS_FILE ${file}:${i + 1}: ${parsed}`);
    const first = lineOf.get(parsed.sha256);
    if (first !== undefined)
      throw new ConfigError(`FIRELINE_TOKENS_FILE ${file}:${i + 1}: the same token as on line ${first}`);
    lineOf.set(parsed.sha256, i + 1);
    tokens.push(parsed);
  }
  if (tokens.length === 0)
    throw new ConfigError(
      `FIRELINE_TOKENS_FILE ${file}: no tokens (one "name, scope, sha256:<hex>" per line)`,
    );
  return tokens;
}

/** Reads and parses FIRELINE_TOKENS_FILE; an unreadable file is a ConfigError too. */
export function loadTokensFile(file: string): NamedToken[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `FIRELINE_TOKENS_FILE ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return parseTokensFile(text, file);
}
