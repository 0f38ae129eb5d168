import type { HistoryPage } from '../history/search.ts';
import type { HistoryStats } from '../history/stats.ts';
import { expectArgs, listQuery, str, UsageError, type Values } from './args.ts';
import type { ApiClient } from './client.ts';
import { type CliIo, EXIT } from './context.ts';
import { formatHistoryPage, formatStats } from './history-format.ts';

/**
 * `fireline stats` and `fireline history`: the incident history through the API
 * (`GET /api/v1/stats`, `GET /api/v1/history`), run by commands.ts like every API command.
 */

/** What commands.ts hands each API command. */
export interface HistoryCommandContext {
  client: ApiClient;
  args: string[];
  values: Values;
  io: CliIo;
  json: boolean;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since 30d` as milliseconds, or a UsageError saying what is expected. */
export function sinceMs(since: string): number {
  const m = /^(\d{1,6})([mhdw])$/.exec(since.trim());
  if (!m || Number(m[1]) === 0)
    throw new UsageError(`--since must be a number and a unit (m, h, d or w), such as 30d; got '${since}'`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/**
 * The query string of the filters (`runbook=…&from=…`): those `incidents list` shares (runbook,
 * service, severity, limit) as it writes them, then the range, where `--since` becomes `from`.
 */
export function filterQuery(values: Values, now: Date): URLSearchParams {
  const q = new URLSearchParams(listQuery(values));
  for (const key of ['from', 'to'] as const) {
    const v = str(values[key]);
    if (v !== undefined) q.set(key, v);
  }
  const since = str(values.since);
  if (since !== undefined) {
    if (q.has('from')) throw new UsageError('give --since or --from, not both');
    q.set('from', new Date(now.getTime() - sinceMs(since)).toISOString());
  }
  return q;
}

function print(ctx: HistoryCommandContext, body: unknown, text: () => string): number {
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(body)}\n` : text());
  return EXIT.ok;
}

/** `fireline stats`: the effectiveness statistics of the runbooks (default: the last 12 weeks). */
export async function stats(ctx: HistoryCommandContext): Promise<number> {
  expectArgs(ctx.args, []);
  const q = filterQuery(ctx.values, new Date());
  const body = await ctx.client.json<HistoryStats>('GET', `/api/v1/stats${q.size ? `?${q}` : ''}`);
  return print(ctx, body, () => formatStats(body));
}

/** `fireline history <words…>`: past incidents whose text holds every word, newest first. */
export async function history(ctx: HistoryCommandContext): Promise<number> {
  const q = filterQuery(ctx.values, new Date());
  const words = ctx.args.join(' ').trim();
  if (words) q.set('q', words);
  const page = await ctx.client.json<HistoryPage>('GET', `/api/v1/history${q.size ? `?${q}` : ''}`);
  return print(ctx, page, () => formatHistoryPage(page));
}
