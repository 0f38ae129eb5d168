import { parseArgs } from 'node:util';
import { z } from 'zod';
import { hasErrors, loadRunbooks, loadRunbookTests, runbookPathsFor } from '../adapters/runbook-files.ts';
import { formatIssue, type LocatedIssue, sortIssues } from '../engine/runbook-parse.ts';
import { RunbookSchema } from '../engine/runbook-schema.ts';
import { formatTestResult, runTestCase } from '../engine/runbook-test.ts';
import { INCIDENT_STATUSES } from '../engine/types.ts';

/** Where a command writes; `process.stdout`/`stderr` by default, any writable in tests. */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  /** Ends a long-running command (`watch`) the way Ctrl-C does. */
  signal?: AbortSignal;
}

/**
 * Exit codes: 0 clean, 1 the check failed or the API refused, 2 the command line is wrong,
 * 3 Fireline cannot be reached, 4 the API refused the token (401/403).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, auth: 4 } as const;

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  /** The option may be given more than once; its value is then a list. */
  multiple?: boolean;
  description: string;
}

export interface CommandContext {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  io: CliIo;
}

/**
 * One `fireline` command. Adding a command is adding an entry to `COMMANDS`; a command that needs
 * heavy modules (bullmq, express) imports them inside `run`, so `lint` and `test` stay fast.
 */
export interface CliCommand {
  summary: string;
  /** What follows the options in the usage line, e.g. `[paths…]`. */
  args?: string;
  options?: Record<string, OptionSpec>;
  /** Printed after the options in `fireline help <command>`. */
  epilog?: string;
  run(ctx: CommandContext): Promise<number>;
}

const DEFAULT_PATHS = ['runbooks'];

const API_EXIT_CODES = `Exit codes: 0 ok; 1 the API refused (e.g. 409 Conflict, detail on stderr); 2 bad command line;
3 cannot reach Fireline; 4 token missing, not valid, or without the needed scope (401/403).
`;
const EXIT_CODES = `Exit codes: 0 ok; 1 a check failed (lint, test) or the API refused (e.g. 409 Conflict);
2 bad command line; 3 cannot reach Fireline; 4 token missing, not valid, or without the scope.
`;

/** Options of every command that talks to a running Fireline over its HTTP API. */
const API_OPTIONS: Record<string, OptionSpec> = {
  url: { type: 'string', description: 'Fireline base URL (default: $FIRELINE_URL or http://127.0.0.1:3000)' },
  token: { type: 'string', description: 'bearer token (default: $FIRELINE_TOKEN)' },
  json: { type: 'boolean', description: 'print the API JSON (one line per event for watch)' },
};
const COMMENT: OptionSpec = { type: 'string', description: 'comment recorded on the timeline' };

const STEP = '<incident> <step>';

function apiCommand(
  name: string,
  summary: string,
  args: string,
  options: Record<string, OptionSpec> = {},
): CliCommand {
  return {
    summary,
    args,
    options: { ...options, ...API_OPTIONS },
    epilog: API_EXIT_CODES,
    run: async (ctx) => (await import('./commands.ts')).runApiCommand(name, ctx),
  };
}

/** The commands, in the order `fireline help` lists them. */
export const COMMANDS: Record<string, CliCommand> = {
  lint: {
    summary: 'Check runbooks and their tests: schema, expressions, references, templates.',
    args: '[paths…]',
    options: {
      format: { type: 'string', default: 'text', choices: ['text', 'json'], description: 'output format' },
    },
    run: lint,
  },
  test: {
    summary: 'Run the runbook tests (*.test.yaml) offline; no Redis needed.',
    args: '[paths…]',
    run: test,
  },
  schema: {
    summary: 'Print the JSON Schema of a runbook (for editor completion).',
    run: async ({ io }) => {
      io.stdout.write(`${JSON.stringify(runbookJsonSchema(), null, 2)}\n`);
      return EXIT.ok;
    },
  },
  start: {
    summary: 'Run Fireline: API, workers and dashboard (role all), or one role of a split deployment.',
    options: {
      role: {
        type: 'string',
        default: 'all',
        choices: ['all', 'api', 'worker'],
        description: 'what this process runs',
      },
      queues: { type: 'string', description: 'worker role: comma-separated queues (default: all five)' },
    },
    run: async (ctx) => (await import('./start.ts')).runStart(ctx),
  },
  trigger: apiCommand(
    'trigger',
    'Open an incident by hand for a runbook and print its id; --watch follows it.',
    '<runbook>',
    {
      label: { type: 'string', multiple: true, description: 'alert label k=v (repeatable)' },
      note: { type: 'string', description: 'note recorded on the timeline' },
      watch: { type: 'boolean', description: 'follow the incident until it is resolved' },
    },
  ),
  watch: apiCommand(
    'watch',
    'Follow one incident until it is resolved, or every incident, live (Ctrl-C ends).',
    '[incident]',
  ),
  incidents: apiCommand(
    'incidents',
    'List incidents, show one, or print its post-incident report (Markdown).',
    '[list|show <id>|report <id>]',
    {
      status: { type: 'string', choices: INCIDENT_STATUSES, description: 'list: only this status' },
      service: { type: 'string', description: 'list: only this service' },
      severity: {
        type: 'string',
        choices: ['P1', 'P2', 'P3', 'P4'],
        description: 'list: only this severity',
      },
      runbook: { type: 'string', description: 'list: only this runbook id' },
      open: { type: 'boolean', description: 'list: only open (unresolved) incidents' },
      limit: { type: 'string', description: 'list: at most this many, 1-200 (default: 50)' },
    },
  ),
  approve: apiCommand('approve', 'Approve a plan step that waits for approval.', STEP, { comment: COMMENT }),
  reject: apiCommand('reject', 'Reject a plan step that waits for approval.', STEP, { comment: COMMENT }),
  complete: apiCommand('complete', 'Tick off a manual step of the plan.', STEP, { comment: COMMENT }),
  ack: apiCommand('ack', 'Acknowledge an incident (stops its escalation timer).', '<incident>'),
  resolve: apiCommand('resolve', 'Resolve an incident.', '<incident>', { comment: COMMENT }),
  remediations: apiCommand(
    'remediations',
    'The remediation kill switch: pause, resume, or show status.',
    'pause|resume|status',
  ),
  help: {
    summary: 'Show this help, or a command’s options.',
    args: '[command]',
    run: async ({ positionals, io }) => {
      const name = positionals[0];
      if (name === undefined) io.stdout.write(usage());
      else if (isCommand(name)) io.stdout.write(commandUsage(name));
      else return unknownCommand(name, io);
      return EXIT.ok;
    },
  },
};

/** Runs `fireline <argv>` and resolves to the exit code; never exits the process itself. */
export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout.write(usage());
    return EXIT.ok;
  }
  if (!isCommand(name)) return unknownCommand(name, io);
  const command = COMMANDS[name]!;
  const parsed = parseCommandLine(name, command, rest);
  if (!parsed.ok) {
    io.stderr.write(`fireline ${name}: ${parsed.message}\n\n${commandUsage(name)}`);
    return EXIT.usage;
  }
  if (parsed.values.help === true) {
    io.stdout.write(commandUsage(name));
    return EXIT.ok;
  }
  return command.run({ positionals: parsed.positionals, values: parsed.values, io });
}

/** The JSON Schema of what a runbook author writes (defaults optional), as `fireline schema` prints it. */
export function runbookJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(RunbookSchema, { io: 'input' });
  return {
    $schema,
    title: 'Fireline runbook',
    description: 'An executable incident-response runbook (JSON Schema printed by `fireline schema`).',
    ...rest,
  };
}

async function lint({ positionals, values, io }: CommandContext): Promise<number> {
  const paths = positionals.length > 0 ? positionals : DEFAULT_PATHS;
  const loaded = await loadRunbooks(runbookPathsFor(paths));
  const tests = await loadRunbookTests(paths, loaded.runbooks);
  const files = [...loaded.files, ...tests.files];
  const issues = mergeIssues(loaded.issues, tests.issues);
  if (values.format === 'json') {
    io.stdout.write(`${JSON.stringify({ files, issues }, null, 2)}\n`);
  } else {
    const errors = issues.filter((i) => i.severity === 'error').length;
    const summary = `${count(files.length, 'file')} checked: ${count(errors, 'error')}, ${count(issues.length - errors, 'warning')}`;
    io.stdout.write([...issues.map(formatIssue), summary, ''].join('\n'));
  }
  return hasErrors(issues) ? EXIT.failed : EXIT.ok;
}

async function test({ positionals, io }: CommandContext): Promise<number> {
  const paths = positionals.length > 0 ? positionals : DEFAULT_PATHS;
  const loaded = await loadRunbooks(runbookPathsFor(paths));
  const tests = await loadRunbookTests(paths, loaded.runbooks);
  const issues = mergeIssues(loaded.issues, tests.issues);
  if (tests.files.length === 0)
    issues.push({
      file: paths.join(', '),
      path: '',
      message: 'no runbook tests (*.test.yaml) found',
      severity: 'error',
    });
  const lines = issues.map(formatIssue);
  let passed = 0;
  let failed = 0;
  for (const suite of tests.suites) {
    for (const testCase of suite.test.cases) {
      const result = runTestCase(suite.compiled, testCase, suite.test.defaults);
      if (result.passed) passed++;
      else failed++;
      lines.push(...formatTestResult(suite.compiled.runbook.id, result));
    }
  }
  lines.push(`${passed} passed, ${failed} failed`, '');
  io.stdout.write(lines.join('\n'));
  return failed > 0 || hasErrors(issues) ? EXIT.failed : EXIT.ok;
}

type ParsedCommandLine =
  | { ok: true; positionals: string[]; values: CommandContext['values'] }
  | { ok: false; message: string };

function parseCommandLine(name: string, command: CliCommand, args: string[]): ParsedCommandLine {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; default?: string; multiple?: boolean }
  > = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [key, { type, short, default: value, multiple }] of Object.entries(command.options ?? {}))
    options[key] = {
      type,
      ...(short ? { short } : {}),
      ...(value === undefined ? {} : { default: value }),
      ...(multiple ? { multiple } : {}),
    };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: command.args !== undefined });
  } catch (err) {
    // parseArgs reports a bad command line by throwing; its errors carry stable ERR_PARSE_ARGS_* codes.
    if (!String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) throw err;
    return { ok: false, message: (err as Error).message };
  }
  for (const [key, spec] of Object.entries(command.options ?? {})) {
    const value = parsed.values[key];
    if (spec.choices && typeof value === 'string' && !spec.choices.includes(value))
      return { ok: false, message: `--${key} must be one of ${spec.choices.join(', ')}; got '${value}'` };
  }
  if (name === 'help' && parsed.positionals.length > 1)
    return { ok: false, message: 'expected at most one command name' };
  return {
    ok: true,
    positionals: parsed.positionals,
    values: parsed.values as CommandContext['values'],
  };
}

function isCommand(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

function unknownCommand(name: string, io: CliIo): number {
  io.stderr.write(`fireline: unknown command '${name}'\n\n${usage()}`);
  return EXIT.usage;
}

function usageLine(name: string, command: CliCommand): string {
  return [
    'fireline',
    name,
    ...(command.options ? ['[options]'] : []),
    ...(command.args ? [command.args] : []),
  ].join(' ');
}

/** The usage of every command. */
export function usage(): string {
  const entries = Object.entries(COMMANDS).map(([name, c]) => [usageLine(name, c), c.summary] as const);
  const width = Math.max(...entries.map(([line]) => line.length));
  return [
    'Usage: fireline <command> [options]',
    '',
    'Commands:',
    ...entries.map(([line, summary]) => `  ${line.padEnd(width)}  ${summary}`),
    '',
    "Run 'fireline help <command>' for a command's options. Paths default to ./runbooks.",
    '',
    EXIT_CODES,
  ].join('\n');
}

function commandUsage(name: string): string {
  const command = COMMANDS[name]!;
  const options = Object.entries(command.options ?? {}).map(([key, o]) => {
    const value = o.type === 'string' ? ` <${o.choices?.join('|') ?? 'value'}>${o.multiple ? '…' : ''}` : '';
    const fallback = o.default === undefined ? '' : ` (default: ${o.default})`;
    return [`${o.short ? `-${o.short}, ` : ''}--${key}${value}`, `${o.description}${fallback}`] as const;
  });
  options.push(['-h, --help', 'show this help']);
  const width = Math.max(...options.map(([flag]) => flag.length));
  return [
    `Usage: ${usageLine(name, command)}`,
    '',
    command.summary,
    '',
    'Options:',
    ...options.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    '',
    ...(command.epilog ? [command.epilog] : []),
  ].join('\n');
}

/** Both loaders walk the same paths, so a path that cannot be read is reported by each: keep one. */
function mergeIssues(...lists: LocatedIssue[][]): LocatedIssue[] {
  const byText = new Map(lists.flat().map((i) => [`${i.severity} ${formatIssue(i)}`, i]));
  return sortIssues([...byText.values()]);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
