// `fireline new runbook`: writes a runbook and its test file from the template of
// src/engine/runbook-template.ts. Offline: files only, never Redis or the API.
import { realpathSync } from 'node:fs';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunbookSchema } from '../engine/runbook-schema.ts';
import {
  DIAGNOSTIC_TYPE_NAMES,
  type DiagnosticTypeName,
  runbookTemplate,
  runbookTestTemplate,
} from '../engine/runbook-template.ts';
import { type CommandContext, EXIT } from './context.ts';

/** `fireline new runbook <id> --alert <AlertName> [--type <type>…] [--dir <dir>]`. */
export async function runNew(
  { positionals, values, io }: CommandContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const usage = (message: string) => {
    io.stderr.write(`fireline new: ${message}\n`);
    return EXIT.usage;
  };
  const [kind, id, ...extra] = positionals;
  if (kind !== 'runbook') return usage(`expected \`new runbook <id>\`; got '${kind ?? ''}'`);
  if (id === undefined) return usage('expected the runbook id: `new runbook <id> --alert <AlertName>`');
  if (extra.length > 0) return usage(`unexpected ${extra.join(' ')}`);
  const idCheck = RunbookSchema.shape.id.safeParse(id);
  if (!idCheck.success) return usage(`id '${id}': ${idCheck.error.issues[0]?.message}`);
  const alertName = typeof values.alert === 'string' ? values.alert.trim() : '';
  if (!alertName) return usage('--alert <AlertName> is required: the alert that opens this runbook');
  const types = (Array.isArray(values.type) ? values.type : []) as string[];
  const unknown = types.find((t) => !(DIAGNOSTIC_TYPE_NAMES as string[]).includes(t));
  if (unknown !== undefined)
    return usage(`--type must be one of ${DIAGNOSTIC_TYPE_NAMES.join(', ')}; got '${unknown}'`);

  const dir = typeof values.dir === 'string' ? values.dir : env.FIRELINE_RUNBOOKS || 'runbooks';
  const input = { id, alertName, types: types as DiagnosticTypeName[] };
  const files = [
    { path: join(dir, `${id}.yaml`), text: runbookTemplate(input) },
    { path: join(dir, `${id}.test.yaml`), text: runbookTestTemplate(input) },
  ];
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const file of files) {
    try {
      // `wx`: never overwrite, even a file that appeared since the check of the one before.
      await writeFile(file.path, file.text, { encoding: 'utf8', flag: 'wx' });
      written.push(file.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Leave nothing half made: the runbook without its test would not be what was asked for.
      for (const path of written) await unlink(path);
      io.stderr.write(`fireline new: ${file.path} exists; not overwriting it (choose another id or --dir)\n`);
      return EXIT.failed;
    }
  }
  io.stdout.write(
    [
      ...written.map((path) => `wrote ${path}`),
      `next: ${fireline()} lint ${dir} && ${fireline()} test ${dir}, then edit the queries, thresholds and steps`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

/**
 * How to run fireline here: `npx fireline` inside the checkout (npx finds its bin there);
 * elsewhere `fireline`, which `npm link` put on PATH (`npx` would look for it on the registry).
 */
function fireline(): string {
  const checkout = realpathSync(fileURLToPath(new URL('../..', import.meta.url)));
  const cwd = realpathSync(process.cwd());
  return cwd === checkout || cwd.startsWith(checkout + sep) ? 'npx fireline' : 'fireline';
}
