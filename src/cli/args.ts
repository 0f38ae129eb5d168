import { FirelineError } from '../errors.ts';
import type { ApiTarget } from './client.ts';
import type { CommandContext } from './context.ts';

/** The command line is wrong in a way parseArgs cannot see (a missing id, a bad label). */
export class UsageError extends FirelineError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

/** The parsed option values of a command. */
export type Values = CommandContext['values'];

/** Where `fireline start` listens by default. */
export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** `--url`/`--token`, else `FIRELINE_URL`/`FIRELINE_TOKEN`, else the local default without a token. */
export function apiTarget(values: Values, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const url = str(values.url) ?? (env.FIRELINE_URL || DEFAULT_URL);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new UsageError(`--url must be an http(s) URL such as ${DEFAULT_URL}; got '${url}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`--url must be an http(s) URL such as ${DEFAULT_URL}; got '${url}'`);
  // The token goes in a header; a password in the URL would end up in error messages.
  if (parsed.username || parsed.password)
    throw new UsageError('--url must not carry credentials; give the token with --token or FIRELINE_TOKEN');
  const token = str(values.token) ?? (env.FIRELINE_TOKEN || undefined);
  return { url, ...(token ? { token } : {}) };
}

/** `--label k=v` values as a label set; a label given twice is a mistake, not a silent override. */
export function parseLabels(list: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? '' : item.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new UsageError(`--label must be name=value with a Prometheus label name; got '${item}'`);
    if (Object.hasOwn(labels, key)) throw new UsageError(`--label ${key} is given twice`);
    labels[key] = item.slice(eq + 1);
  }
  return labels;
}

/** Options that only `incidents list` takes. */
export const LIST_FILTERS = ['status', 'service', 'severity', 'runbook', 'open', 'limit'] as const;

/** The query string of `incidents list` (`?status=…&open=true&limit=20`), or '' without filters. */
export function listQuery(values: Values): string {
  const q = new URLSearchParams();
  for (const key of ['status', 'service', 'severity', 'runbook'] as const) {
    const v = str(values[key]);
    if (v !== undefined) q.set(key, v);
  }
  if (values.open === true) q.set('open', 'true');
  const limit = str(values.limit);
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 200)
      throw new UsageError(`--limit must be a whole number from 1 to 200; got '${limit}'`);
    q.set('limit', limit);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The positionals `names` (`<id>` required, `[id]` optional), or a UsageError naming what is wrong. */
export function expectArgs(args: readonly string[], names: readonly string[]): (string | undefined)[] {
  const required = names.filter((n) => n.startsWith('<')).length;
  if (args.length < required)
    throw new UsageError(
      `missing ${names
        .slice(args.length)
        .filter((n) => n.startsWith('<'))
        .join(' ')}`,
    );
  if (args.length > names.length)
    throw new UsageError(
      `unexpected argument '${args[names.length]}' (expected ${names.join(' ') || 'none'})`,
    );
  return names.map((_, i) => args[i]);
}

/** A string option's value, or undefined (absent, boolean or repeated). */
export function str(v: Values[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
