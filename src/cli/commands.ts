import type { Incident, PlanStep, TimelineEvent } from '../engine/types.ts';
import {
  apiTarget,
  expectArgs,
  LIST_FILTERS,
  listQuery,
  parseLabels,
  str,
  UsageError,
  type Values,
} from './args.ts';
import { type ApiClient, ApiResponseError, ApiUnreachableError, createApiClient } from './client.ts';
import { type CliIo, type CommandContext, EXIT } from './context.ts';
import {
  clean,
  cleanLines,
  formatEventLine,
  formatIncident,
  formatIncidentTable,
  formatRemediations,
  formatStep,
  type IncidentDetail,
  type IncidentPage,
  type RemediationsStatus,
} from './format.ts';
import { history, stats } from './history-commands.ts';
import { followEvents } from './sse.ts';

/** Everything a command handler needs. */
export interface ApiContext {
  client: ApiClient;
  args: string[];
  values: Values;
  io: CliIo;
  json: boolean;
}

function seg(s: string | undefined): string {
  return encodeURIComponent(s ?? '');
}

function printJson(io: CliIo, body: unknown): void {
  io.stdout.write(`${JSON.stringify(body)}\n`);
}

function commented(values: Values): { comment?: string } {
  const comment = str(values.comment);
  return comment ? { comment } : {};
}

async function trigger(ctx: ApiContext): Promise<number> {
  const [runbookId] = expectArgs(ctx.args, ['<runbook>']);
  const labels = parseLabels(Array.isArray(ctx.values.label) ? ctx.values.label : []);
  const note = str(ctx.values.note);
  const res = await ctx.client.json<{ incidentId: string; outcome: 'opened' | 'attached' }>(
    'POST',
    '/api/v1/incidents',
    { runbookId, ...(Object.keys(labels).length ? { labels } : {}), ...(note ? { note } : {}) },
  );
  if (ctx.json) printJson(ctx.io, res);
  else
    ctx.io.stdout.write(
      `${res.outcome === 'opened' ? 'Opened incident' : 'Attached to open incident'} ${clean(res.incidentId)}\n` +
        `  ${ctx.client.baseUrl}/incidents/${seg(res.incidentId)}\n`,
    );
  return ctx.values.watch === true ? watchStream(ctx, res.incidentId) : EXIT.ok;
}

async function watch(ctx: ApiContext): Promise<number> {
  const [incidentId] = expectArgs(ctx.args, ['[incident]']);
  return watchStream(ctx, incidentId);
}

/** Prints each event until the watched incident is resolved, Ctrl-C, or `io.signal`. */
async function watchStream(ctx: ApiContext, incidentId: string | undefined): Promise<number> {
  const path = incidentId ? `/api/v1/incidents/${seg(incidentId)}/events` : '/api/v1/events';
  const interrupted = new AbortController();
  const onSigint = () => interrupted.abort();
  process.once('SIGINT', onSigint);
  const signal = ctx.io.signal ? AbortSignal.any([interrupted.signal, ctx.io.signal]) : interrupted.signal;
  try {
    await followEvents(ctx.client, path, {
      signal,
      onEvent: ({ event, data }) => {
        const parsed = ctx.json ? null : parseEvent(data);
        if (ctx.json) ctx.io.stdout.write(`${data}\n`);
        else if (parsed)
          ctx.io.stdout.write(`${formatEventLine(parsed, { withIncident: incidentId === undefined })}\n`);
        else ctx.io.stdout.write(`${clean(event)}  ${clean(data)}\n`);
        return incidentId !== undefined && event === 'incident.resolved';
      },
      onReconnect: (reason, delayMs) =>
        ctx.io.stderr.write(`reconnecting… (${reason}; next try in ${Math.ceil(delayMs / 1000)} s)\n`),
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  return EXIT.ok;
}

function parseEvent(data: string): TimelineEvent | null {
  try {
    const parsed = JSON.parse(data) as TimelineEvent;
    return parsed && typeof parsed === 'object' && typeof parsed.type === 'string' ? parsed : null;
  } catch (err) {
    // A frame that is not an event is printed raw rather than ending the watch.
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

async function incidents(ctx: ApiContext): Promise<number> {
  const [sub = 'list', id] = expectArgs(ctx.args, ['[list|show|report]', '[id]']);
  if (sub === 'list') {
    expectArgs(ctx.args, ['[list]']);
    const page = await ctx.client.json<IncidentPage>('GET', `/api/v1/incidents${listQuery(ctx.values)}`);
    if (ctx.json) printJson(ctx.io, page);
    else ctx.io.stdout.write(formatIncidentTable(page, { now: new Date() }));
    return EXIT.ok;
  }
  if (sub !== 'show' && sub !== 'report')
    throw new UsageError(`unknown subcommand '${sub}' (expected list, show <id> or report <id>)`);
  expectArgs(ctx.args, ['<subcommand>', '<id>']);
  const filter = LIST_FILTERS.find((key) => ctx.values[key] !== undefined);
  if (filter) throw new UsageError(`--${filter} applies to 'incidents list' only`);
  if (sub === 'report') {
    ctx.io.stdout.write(cleanLines(await ctx.client.text(`/api/v1/incidents/${seg(id)}/report.md`)));
    return EXIT.ok;
  }
  const detail = await ctx.client.json<IncidentDetail>('GET', `/api/v1/incidents/${seg(id)}`);
  if (ctx.json) printJson(ctx.io, detail);
  else ctx.io.stdout.write(formatIncident(detail, { now: new Date() }));
  return EXIT.ok;
}

function stepCommand(path: (incident: string, step: string) => string, body: (v: Values) => object) {
  return async (ctx: ApiContext): Promise<number> => {
    const [incident, step] = expectArgs(ctx.args, ['<incident>', '<step>']) as [string, string];
    const res = await ctx.client.json<{ step: PlanStep }>(
      'POST',
      path(seg(incident), seg(step)),
      body(ctx.values),
    );
    if (ctx.json) printJson(ctx.io, res);
    else ctx.io.stdout.write(formatStep(res.step));
    return EXIT.ok;
  };
}

async function ack(ctx: ApiContext): Promise<number> {
  const [id] = expectArgs(ctx.args, ['<incident>']);
  const res = await ctx.client.json<{ acknowledged: boolean; changed: boolean }>(
    'POST',
    `/api/v1/incidents/${seg(id)}/ack`,
  );
  if (ctx.json) printJson(ctx.io, res);
  else ctx.io.stdout.write(`${res.changed ? 'Acknowledged' : 'Already acknowledged:'} ${clean(id ?? '')}\n`);
  return EXIT.ok;
}

async function resolve(ctx: ApiContext): Promise<number> {
  const [id] = expectArgs(ctx.args, ['<incident>']);
  const res = await ctx.client.json<{ incident: Incident }>(
    'POST',
    `/api/v1/incidents/${seg(id)}/resolve`,
    commented(ctx.values),
  );
  if (ctx.json) printJson(ctx.io, res);
  else ctx.io.stdout.write(`Resolved ${clean(id ?? '')}\n`);
  return EXIT.ok;
}

async function remediations(ctx: ApiContext): Promise<number> {
  const [action] = expectArgs(ctx.args, ['<pause|resume|status>']);
  if (action !== 'pause' && action !== 'resume' && action !== 'status')
    throw new UsageError(`expected pause, resume or status; got '${action}'`);
  if (action === 'status') {
    const res = await ctx.client.json<RemediationsStatus>('GET', '/api/v1/remediations');
    if (ctx.json) printJson(ctx.io, res);
    else ctx.io.stdout.write(formatRemediations(res));
    return EXIT.ok;
  }
  const res = await ctx.client.json<{ paused: boolean }>('POST', `/api/v1/remediations/${action}`);
  if (ctx.json) printJson(ctx.io, res);
  else ctx.io.stdout.write(res.paused ? 'Remediations paused\n' : 'Remediations running\n');
  return EXIT.ok;
}

const HANDLERS: Record<string, (ctx: ApiContext) => Promise<number>> = {
  trigger,
  watch,
  incidents,
  stats,
  history,
  approve: stepCommand(
    (i, s) => `/api/v1/incidents/${i}/approvals/${s}`,
    (v) => ({ decision: 'approve', ...commented(v) }),
  ),
  reject: stepCommand(
    (i, s) => `/api/v1/incidents/${i}/approvals/${s}`,
    (v) => ({ decision: 'reject', ...commented(v) }),
  ),
  complete: stepCommand((i, s) => `/api/v1/incidents/${i}/steps/${s}/complete`, commented),
  ack,
  resolve,
  remediations,
};

/** Runs the API command `name` and maps what went wrong to an exit code and a line on stderr. */
export async function runApiCommand(
  name: string,
  ctx: CommandContext,
  handler: ((ctx: ApiContext) => Promise<number>) | undefined = HANDLERS[name],
): Promise<number> {
  if (!handler) throw new Error(`no handler for the API command '${name}'`);
  const json = ctx.values.json === true;
  try {
    const client = createApiClient(apiTarget(ctx.values));
    return await handler({ client, args: ctx.positionals, values: ctx.values, io: ctx.io, json });
  } catch (err) {
    return reportError(name, err, ctx.io, json);
  }
}

function reportError(name: string, err: unknown, io: CliIo, json: boolean): number {
  const say = (text: string) => io.stderr.write(`fireline ${name}: ${text}\n`);
  if (err instanceof UsageError) {
    say(`${err.message}\nRun 'fireline help ${name}' for usage.`);
    return EXIT.usage;
  }
  if (err instanceof ApiUnreachableError) {
    say(
      `${err.message}\nIs Fireline running? Start it with 'fireline start' (it listens on HOST:PORT, ` +
        `default 127.0.0.1:3000), or point --url or FIRELINE_URL at it.`,
    );
    return EXIT.unreachable;
  }
  if (!(err instanceof ApiResponseError)) throw err;
  const { problem } = err;
  if (json) printJson(io, problem);
  const fields = (problem.errors ?? []).map((e) => `\n  ${clean(e.field)}: ${clean(e.message)}`).join('');
  say(`${clean(problem.detail)} (${problem.status} ${clean(problem.title)})${fields}`);
  if (err.status === 401 || err.status === 403) {
    io.stderr.write(
      err.status === 401
        ? 'Give a token with --token or FIRELINE_TOKEN (an operator token for changes, viewer to read).\n'
        : 'Use a token with that scope (--token or FIRELINE_TOKEN).\n',
    );
    return EXIT.auth;
  }
  return EXIT.failed;
}
