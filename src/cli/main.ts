// The `fireline` command table, its dispatch (`main`) and the help text. The commands themselves
// live in runbook-commands.ts, commands.ts and start.ts; what they share lives in context.ts.
import { parseArgs } from 'node:util';
import { INCIDENT_STATUSES } from '../engine/types.ts';
import { type CliCommand, type CliIo, type CommandContext, EXIT, type OptionSpec } from './context.ts';
import { runLint, runSchema, runTests } from './runbook-commands.ts';

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

/** The filters of `stats` and `history` (src/cli/history-commands.ts reads them). */
const HISTORY_FILTERS: Record<string, OptionSpec> = {
  runbook: { type: 'string', description: 'only this runbook id' },
  service: { type: 'string', description: 'only this service' },
  severity: { type: 'string', choices: ['P1', 'P2', 'P3', 'P4'], description: 'only this severity' },
  since: { type: 'string', description: 'opened in the last 30m, 12h, 30d or 8w' },
  from: { type: 'string', description: 'opened at or after this ISO-8601 time (instead of --since)' },
  to: { type: 'string', description: 'opened before this ISO-8601 time (default: now)' },
};

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
    run: runLint,
  },
  test: {
    summary: 'Run the runbook tests (*.test.yaml) offline; --from-incident saves an incident as a test.',
    args: '[paths…]',
    options: {
      'from-incident': {
        type: 'string',
        description:
          'append this incident (from the API) as a case to <dir>/<runbook>.test.yaml; dir: the path given, else $FIRELINE_RUNBOOKS, else ./runbooks',
      },
      url: { ...API_OPTIONS.url!, description: `with --from-incident: ${API_OPTIONS.url!.description}` },
      token: {
        ...API_OPTIONS.token!,
        description: `with --from-incident: ${API_OPTIONS.token!.description}`,
      },
    },
    run: async (ctx) => {
      if (ctx.values['from-incident'] === undefined) {
        const apiOnly = ['url', 'token'].find((key) => ctx.values[key] !== undefined);
        if (apiOnly === undefined) return runTests(ctx);
        ctx.io.stderr.write(`fireline test: --${apiOnly} applies with --from-incident only\n`);
        return EXIT.usage;
      }
      const [{ runApiCommand }, { testFromIncident }] = await Promise.all([
        import('./commands.ts'),
        import('./replay-commands.ts'),
      ]);
      return runApiCommand('test', ctx, (api) => testFromIncident(api));
    },
  },
  schema: {
    summary: 'Print the JSON Schema of a runbook (for editor completion), or of the progress events.',
    args: '[runbook|events]',
    epilog: `fireline schema events prints the versioned JSON Schema of a progress channel message
(docs/events.schema.json; README "Progress channel").
`,
    run: runSchema,
  },
  new: {
    summary: 'Write a new runbook and its test file from a commented template that lints and passes.',
    args: 'runbook <id>',
    options: {
      alert: { type: 'string', description: 'the alert name (alertname) that opens the runbook (required)' },
      type: {
        type: 'string',
        multiple: true,
        description:
          'add a diagnostic of this type (repeatable): prometheus_query, http_check, shell_command, database_query, log_search',
      },
      dir: { type: 'string', description: 'where to write (default: $FIRELINE_RUNBOOKS, else ./runbooks)' },
    },
    epilog: `Writes <dir>/<id>.yaml and <dir>/<id>.test.yaml; refuses to overwrite either. Exit codes: 0 written;
1 a file exists; 2 bad command line (the id must be lowercase letters, digits, "_" and "-").
`,
    run: async (ctx) => (await import('./new-commands.ts')).runNew(ctx),
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
  doctor: {
    summary: 'Check this environment: Redis, the history, every connection and diagnostic the runbooks use.',
    options: {
      json: { type: 'boolean', description: 'print the report as JSON' },
    },
    epilog: `Runs where Fireline would run (the same variables, fireline.yaml and runbooks), not over the API;
sends nothing and changes nothing. Exit codes: 0 no check failed (warnings allowed); 1 a check failed,
or the configuration is invalid; 2 bad command line.
`,
    run: async (ctx) => (await import('./doctor.ts')).runDoctorCommand(ctx),
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
  stats: apiCommand(
    'stats',
    'How the runbooks did, from the incident history: times, actions, rules, coverage.',
    '',
    HISTORY_FILTERS,
  ),
  history: apiCommand(
    'history',
    'Search the incident history: past incidents holding every word, newest first.',
    '[words…]',
    {
      ...HISTORY_FILTERS,
      limit: { type: 'string', description: 'at most this many, newest first, 1-200 (default: 50)' },
    },
  ),
  approve: apiCommand('approve', 'Approve a plan step that waits for approval.', STEP, { comment: COMMENT }),
  reject: apiCommand('reject', 'Reject a plan step that waits for approval.', STEP, { comment: COMMENT }),
  complete: apiCommand('complete', 'Tick off a manual step of the plan.', STEP, { comment: COMMENT }),
  ack: apiCommand('ack', 'Acknowledge an incident (stops its escalation timer).', '<incident>'),
  resolve: apiCommand('resolve', 'Resolve an incident.', '<incident>', { comment: COMMENT }),
  replay: {
    ...apiCommand(
      'replay',
      'Replay an incident against the runbook loaded now: what happened beside what it decides now.',
      '<incident>',
    ),
    epilog: `Exit codes: 0 the runbook decides the same as what happened; 1 it decides otherwise, or the API
refused (e.g. 409: the runbook is no longer loaded); 2 bad command line; 3 cannot reach Fireline; 4 token.
`,
    run: async (ctx) => {
      const [{ runApiCommand }, { replay }] = await Promise.all([
        import('./commands.ts'),
        import('./replay-commands.ts'),
      ]);
      return runApiCommand('replay', ctx, replay);
    },
  },
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
