import type { z } from 'zod';
import { ShellCommandConfigSchema } from '../../engine/diagnostic-types/shell-command.ts';
import type { Facts } from '../../engine/types.ts';
import { runProcess } from '../process.ts';
import type { DiagnosticContext, DiagnosticExecutor } from '../types.ts';

/** A `shell_command` step's config, defaults applied. */
export type ShellCommandConfig = z.infer<typeof ShellCommandConfigSchema>;

/**
 * `shell_command`: runs an argv (never through a shell) and reports `exit_code`, `stdout`,
 * `stderr`, `lines` (non-empty stdout lines), `json` (stdout parsed when it is JSON, else null),
 * `truncated` and `signal` (what ended the process, when not an exit). A non-zero exit is a fact;
 * a command that cannot start, a timeout or a cancel is an `AdapterError`.
 */
export const shellCommandExecutor: DiagnosticExecutor<ShellCommandConfig> = {
  type: 'shell_command',
  configSchema: ShellCommandConfigSchema,
  async run(config: ShellCommandConfig, ctx: DiagnosticContext): Promise<Facts> {
    const result = await runProcess(config.command, {
      signal: ctx.signal,
      cwd: config.cwd,
      env: config.env,
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
