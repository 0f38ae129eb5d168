import type { z } from 'zod';
import { ShellCommandConfigSchema } from '../../engine/diagnostic-types/shell-command.ts';
import type { Facts } from '../../engine/types.ts';
import { envRefs } from '../connections.ts';
import { runProcess } from '../process.ts';
import type { DiagnosticContext, DiagnosticExecutor } from '../types.ts';

/** A `shell_command` step's config, defaults applied. */
export type ShellCommandConfig = z.infer<typeof ShellCommandConfigSchema>;

export interface ShellCommandOptions {
  /** Where `env` values' `${NAME}` references are read, at run time. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/**
 * `shell_command`: runs an argv (never through a shell) and reports `exit_code`, `stdout`,
 * `stderr`, `lines` (non-empty stdout lines), `json` (stdout parsed when it is JSON, else null),
 * `truncated` and `signal` (what ended the process, when not an exit). A non-zero exit is a fact;
 * a command that cannot start, a timeout or a cancel is an `AdapterError`. An `env` value may name
 * a secret as `${NAME}`, read from Fireline's environment when the command starts (the config
 * keeps the reference; argv is never expanded). What the command prints is its own business.
 */
export function createShellCommandExecutor(
  options: ShellCommandOptions = {},
): DiagnosticExecutor<ShellCommandConfig> {
  return {
    type: 'shell_command',
    configSchema: ShellCommandConfigSchema,
    async run(config: ShellCommandConfig, ctx: DiagnosticContext): Promise<Facts> {
      const refs = envRefs('shell_command', options.env ?? process.env);
      const env = Object.fromEntries(
        Object.entries(config.env).map(([name, value]) => [name, refs.expand(value, `env.${name}`)]),
      );
      const result = await runProcess(config.command, {
        signal: ctx.signal,
        cwd: config.cwd,
        env,
        maxOutputBytes: config.maxOutputBytes,
        adapter: 'shell_command',
      });
      return {
        exit_code: result.exitCode,
        signal: result.signal,
        stdout: result.stdout,
        stderr: result.stderr,
        lines: result.stdout.split(/\r?\n/).filter((line) => line.trim() !== ''),
        json: parseJson(result.stdout),
        truncated: result.truncated,
      };
    },
  };
}

/** The executor reading Fireline's own environment. */
export const shellCommandExecutor: DiagnosticExecutor<ShellCommandConfig> = createShellCommandExecutor();

function parseJson(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    // Not JSON is an ordinary outcome for a command's output: the fact is null.
    return null;
  }
}
