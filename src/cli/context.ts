/**
 * What every `fireline` command shares: where it writes, its exit codes, and the shape of a
 * command. A leaf module, so the command modules and the command table in main.ts import it
 * without importing each other.
 */

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

export interface OptionSpec {
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
 * One `fireline` command. Adding a command is adding an entry to `COMMANDS` (main.ts); a command
 * that needs heavy modules (bullmq, express) imports them inside `run`, so `lint` and `test` stay fast.
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
