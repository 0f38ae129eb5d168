import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { DIAGNOSTIC_TYPE_NAMES } from '../../src/engine/runbook-template.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fireline-new-'));
  dirs.push(dir);
  return dir;
}

/** Runs `fireline <argv>` in-process, as bin/fireline.js does, capturing its output. */
async function fireline(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const saved = process.env.FIRELINE_RUNBOOKS;
  if (env.FIRELINE_RUNBOOKS === undefined) delete process.env.FIRELINE_RUNBOOKS;
  else process.env.FIRELINE_RUNBOOKS = env.FIRELINE_RUNBOOKS;
  try {
    const code = await main(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    });
    return { code, stdout, stderr };
  } finally {
    if (saved === undefined) delete process.env.FIRELINE_RUNBOOKS;
    else process.env.FIRELINE_RUNBOOKS = saved;
  }
}

describe('fireline new runbook: the output lints clean and passes its own test, unchanged', () => {
  it.each([
    ['no --type', []],
    ...DIAGNOSTIC_TYPE_NAMES.map((t) => [`--type ${t}`, [t]] as [string, string[]]),
    ['every type, one twice', [...DIAGNOSTIC_TYPE_NAMES, 'prometheus_query']],
  ])('%s', async (_, types) => {
    const dir = await tempDir();
    const made = await fireline([
      'new',
      'runbook',
      'checkout-errors',
      '--alert',
      'CheckoutHighErrorRate',
      ...types.flatMap((t) => ['--type', t]),
      '--dir',
      dir,
    ]);
    expect(made, made.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(made.stdout).toContain(`wrote ${join(dir, 'checkout-errors.yaml')}`);
    expect(made.stdout).toContain(`wrote ${join(dir, 'checkout-errors.test.yaml')}`);

    const lint = await fireline(['lint', dir]);
    expect(lint).toEqual({ code: 0, stdout: '2 files checked: 0 errors, 0 warnings\n', stderr: '' });
    const test = await fireline(['test', dir]);
    expect(test.code, test.stdout).toBe(0);
    expect(test.stdout).toMatch(new RegExp(`\\n${types.length + 1} passed, 0 failed\\n$`));

    const runbook = await readFile(join(dir, 'checkout-errors.yaml'), 'utf8');
    expect(runbook).toContain('alertName: "CheckoutHighErrorRate"');
    for (const t of types) expect(runbook).toContain(`type: ${t}`);
  });
});

describe('fireline new runbook refuses', () => {
  it('to overwrite a runbook or its test, and leaves both as they were', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'api.test.yaml'), 'mine\n');
    const res = await fireline(['new', 'runbook', 'api', '--alert', 'ApiDown', '--dir', dir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `fireline new: ${join(dir, 'api.test.yaml')} exists; not overwriting it (choose another id or --dir)\n`,
    );
    expect(await readFile(join(dir, 'api.test.yaml'), 'utf8')).toBe('mine\n');
    await expect(readFile(join(dir, 'api.yaml'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    [
      ['new', 'runbook', 'Checkout', '--alert', 'A'],
      `id 'Checkout': expected an id of lowercase letters, digits, "_" and "-"`,
    ],
    [
      ['new', 'runbook', 'a:b', '--alert', 'A'],
      `id 'a:b': expected an id of lowercase letters, digits, "_" and "-"`,
    ],
    [['new', 'runbook', 'api'], '--alert <AlertName> is required: the alert that opens this runbook'],
    [
      ['new', 'runbook', 'api', '--alert', 'A', '--type', 'sql'],
      `--type must be one of ${DIAGNOSTIC_TYPE_NAMES.join(', ')}; got 'sql'`,
    ],
    [['new', 'playbook', 'api', '--alert', 'A'], "expected `new runbook <id>`; got 'playbook'"],
    [['new', 'runbook', '--alert', 'A'], 'expected the runbook id: `new runbook <id> --alert <AlertName>`'],
  ])('%j', async (argv, message) => {
    const dir = await tempDir();
    const res = await fireline([...argv, '--dir', dir]);
    expect(res).toEqual({ code: 2, stdout: '', stderr: `fireline new: ${message}\n` });
  });
});

describe('fireline new runbook writes where the other commands read', () => {
  it('into $FIRELINE_RUNBOOKS without --dir', async () => {
    const dir = await tempDir();
    const res = await fireline(['new', 'runbook', 'api', '--alert', 'ApiDown'], { FIRELINE_RUNBOOKS: dir });
    expect(res.code, res.stderr).toBe(0);
    expect(await readFile(join(dir, 'api.yaml'), 'utf8')).toContain('id: api\n');
  });
});

describe('fireline lint on a value a comment cut short', () => {
  it('warns with file and line, and still exits 0', async () => {
    const dir = await tempDir();
    await fireline(['new', 'runbook', 'api', '--alert', 'ApiDown', '--dir', dir]);
    const file = join(dir, 'api.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('    name: First look\n', '    name: Post to #incidents\n'));
    const lint = await fireline(['lint', dir]);
    expect(lint.code).toBe(0);
    expect(lint.stdout).toMatch(
      new RegExp(
        `^${file.replace(/[.]/g, '\\.')}:\\d+:19: warning: '#incidents' is a YAML comment, so this value ends at 'Post to'; quote it to keep it all: "Post to #incidents"\\n`,
      ),
    );
    expect(lint.stdout).toMatch(/0 errors, 1 warning\n$/);
  });
});
