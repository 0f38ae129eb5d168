// `fireline test --from-incident <id>` and `fireline replay <id>`: an incident's recorded evidence,
// from the API's replay route, saved as a runbook test case or run against the runbook loaded now.
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { TestCaseSchema } from '../engine/runbook-test.ts';
import { appendTestCase } from '../engine/runbook-test-yaml.ts';
import { VERDICT_STATUSES } from '../engine/types.ts';
import { expectArgs, str, UsageError } from './args.ts';
import { ApiResponseError } from './client.ts';
import type { ApiContext } from './commands.ts';
import { EXIT } from './context.ts';
import { clean, dateTime, table, verdictLabel } from './format.ts';

const Status = z.enum(VERDICT_STATUSES);
const OutcomeSchema = z.object({
  verdicts: z.record(z.string(), Status),
  overall: Status.nullable(),
  remediations: z.array(z.string()),
  approvals: z.array(z.string()),
  escalate: z.boolean(),
});
type Outcome = z.infer<typeof OutcomeSchema>;

/** The answer of `GET /api/v1/incidents/:id/replay` (src/producer/routes/replay.ts), checked at the edge. */
const ReplayBodySchema = z.object({
  incidentId: z.string(),
  // It names the file written: a runbook id, never a path.
  runbookId: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  decidedAt: z.string(),
  testCase: TestCaseSchema,
  recorded: OutcomeSchema,
  current: OutcomeSchema,
  differences: z.array(z.object({ what: z.string(), recorded: z.string(), current: z.string() })),
  caveats: z.array(z.string()).default([]),
});
type ReplayBody = z.infer<typeof ReplayBodySchema>;

async function fetchReplay(ctx: ApiContext, id: string): Promise<ReplayBody> {
  const body = await ctx.client.json<unknown>('GET', `/api/v1/incidents/${encodeURIComponent(id)}/replay`);
  const parsed = ReplayBodySchema.safeParse(body);
  if (!parsed.success)
    throw new ApiResponseError({
      title: 'Bad Response',
      status: 200,
      detail: `the replay answer from ${ctx.client.baseUrl} has an unexpected shape (${z.prettifyError(parsed.error)}); are the CLI and the server the same version?`,
    });
  return parsed.data;
}

/**
 * `fireline test --from-incident <id> [dir]`: appends the incident as a case to
 * `<dir>/<runbook>.test.yaml` (created when missing). The directory is the path given, else
 * `$FIRELINE_RUNBOOKS`, else `./runbooks`.
 */
export async function testFromIncident(
  ctx: ApiContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const id = str(ctx.values['from-incident']);
  if (!id) throw new UsageError('--from-incident needs an incident id');
  if (ctx.args.length > 1)
    throw new UsageError('with --from-incident, give at most one path: the runbooks directory');
  const given = ctx.args[0] ?? (env.FIRELINE_RUNBOOKS || undefined);
  const dir = await runbooksDir(given ?? 'runbooks');
  const replay = await fetchReplay(ctx, id);
  const file = join(dir, `${replay.runbookId}.test.yaml`);
  const before = await readIfPresent(file);
  const result = appendTestCase(before, replay.runbookId, replay.testCase);
  if (!result.ok) {
    ctx.io.stderr.write(`fireline test: cannot add the case to ${file}: ${clean(result.reason)}\n`);
    return EXIT.failed;
  }
  // Written beside and renamed: an interrupted write never leaves half a test file.
  const partial = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(partial, result.text, 'utf8');
    await rename(partial, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw err;
    ctx.io.stderr.write(`fireline test: cannot write ${file} (${code})\n`);
    return EXIT.failed;
  }
  const lines = [
    `${before === null ? 'Created' : 'Added to'} ${file}: case '${clean(replay.testCase.name)}'`,
    `Run it with: fireline test${ctx.args[0] === undefined && given === undefined ? '' : ` ${given}`}`,
  ];
  if (replay.differences.length > 0)
    lines.push(
      '',
      `The runbook as loaded now decides otherwise (${count(replay.differences.length, 'difference')}), so the case`,
      'fails until the runbook, or what the case expects, is changed:',
      ...replay.differences.map(differenceLine),
    );
  lines.push(...replay.caveats.map((c) => `Note: ${clean(c)}`));
  ctx.io.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

/** `fireline replay <id>`: what happened beside what the runbook loaded now decides; exit 1 when they differ. */
export async function replay(ctx: ApiContext): Promise<number> {
  const [id] = expectArgs(ctx.args, ['<incident>']) as [string];
  const body = await fetchReplay(ctx, id);
  const agree = body.differences.length === 0;
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(body)}\n`);
  else ctx.io.stdout.write(`${formatReplay(body).join('\n')}\n`);
  return agree ? EXIT.ok : EXIT.failed;
}

/** The side-by-side view: one row per verdict and per part of the plan, then each difference. */
export function formatReplay(body: ReplayBody): string[] {
  const { recorded, current } = body;
  const ids = [...new Set([...Object.keys(recorded.verdicts), ...Object.keys(current.verdicts)])];
  const row = (label: string, was: string, now: string) => [was === now ? ' ' : '≠', label, was, now];
  const verdict = (o: Outcome, stepId: string) =>
    o.verdicts[stepId] ? verdictLabel(o.verdicts[stepId]) : '- (not run)';
  const rows = [
    [' ', '', 'WHAT HAPPENED', 'CURRENT RUNBOOK'],
    ...ids.map((stepId) => row(clean(stepId), verdict(recorded, stepId), verdict(current, stepId))),
    row('overall', overallLabel(recorded), overallLabel(current)),
    row('remediations', idList(recorded.remediations), idList(current.remediations)),
    row('approvals', idList([...recorded.approvals].sort()), idList([...current.approvals].sort())),
    row('escalate', recorded.escalate ? 'yes' : 'no', current.escalate ? 'yes' : 'no'),
  ];
  const lines = [
    `Replay of incident ${clean(body.incidentId)} against runbook ${clean(body.runbookId)} as loaded now,`,
    `from the facts recorded when it was decided (${dateTime(body.decidedAt)}).`,
    '',
    ...table(rows).map((l) => l.trimEnd()),
    '',
  ];
  if (body.differences.length === 0) lines.push('The current runbook decides the same as what happened.');
  else
    lines.push(
      `The current runbook decides otherwise (${count(body.differences.length, 'difference')}):`,
      ...body.differences.map(differenceLine),
    );
  lines.push(...body.caveats.map((c) => `Note: ${clean(c)}`));
  return lines;
}

function differenceLine(d: ReplayBody['differences'][number]): string {
  return `  ≠ ${clean(d.what)}: it was ${clean(d.recorded)}; now ${clean(d.current)}`;
}

function overallLabel(o: Outcome): string {
  return o.overall ? verdictLabel(o.overall) : '- (none)';
}

function idList(list: readonly string[]): string {
  return list.length > 0 ? list.map(clean).join(', ') : 'none';
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The directory the test file goes in: `path` itself, or the directory of a file named. */
async function runbooksDir(path: string): Promise<string> {
  try {
    return (await stat(path)).isDirectory() ? path : dirname(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new UsageError(`no such runbooks directory: ${path} (give the directory that holds the runbook)`);
  }
}

async function readIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
