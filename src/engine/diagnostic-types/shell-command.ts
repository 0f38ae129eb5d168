import { z } from 'zod';
import { argvFields } from '../argv-shape.ts';
import { Argv, diagnosticType, entries, type Field } from '../type-spec.ts';

/** `shell_command`: an argv (never a shell string), with an optional cwd and env. */
export const ShellCommandConfigSchema = z.strictObject({
  command: Argv.min(1),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  maxOutputBytes: z.number().int().positive().default(65_536),
});

export const shellCommand = diagnosticType({
  type: 'shell_command',
  configSchema: ShellCommandConfigSchema,
  facts: [
    { name: 'exit_code', type: 'double', doc: 'the process exit code' },
    { name: 'stdout', type: 'string', doc: 'standard output (capped at maxOutputBytes)' },
    { name: 'stderr', type: 'string', doc: 'standard error (capped at maxOutputBytes)' },
    { name: 'lines', type: 'list', doc: 'stdout split into non-empty lines' },
    { name: 'json', type: 'dyn', doc: 'stdout parsed as JSON, null when it is not JSON' },
  ],
  templateFields(c) {
    const cwd: Field[] = c.cwd === undefined ? [] : [{ path: ['cwd'], value: c.cwd, mode: 'path' }];
    // env values reach the process verbatim; NUL is refused because no OS can carry it.
    return [...argvFields(c.command, ['command']), ...cwd, ...entries(c.env, ['env'], 'env')];
  },
  argv: (c) => ({ path: ['command'], argv: c.command }),
  standIn: { command: ['true'] },
});
