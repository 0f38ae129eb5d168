import { execFile } from 'node:child_process';
import { mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `fireline-${name}-`));
  dirs.push(dir);
  return dir;
}

/** npm with its global prefix in `prefix`: nothing outside it changes. Offline: the deps are in the checkout. */
async function npm(args: string[], prefix: string, cwd: string) {
  return run('npm', [...args, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd,
    env: { ...process.env, npm_config_prefix: prefix },
    timeout: 120_000,
  });
}

/** Runs `fireline <args>` as a shell would find it: by name, on a PATH that starts with `bin`. */
async function fireline(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout } = await run('fireline', args, {
      cwd,
      env: { ...process.env, FIRELINE_RUNBOOKS: '', ...env, PATH: `${bin}${delimiter}${process.env.PATH}` },
      timeout: 60_000,
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`fireline ${args.join(' ')} failed (${e.code}):\n${e.stdout}\n${e.stderr}`);
  }
}

/** From a directory outside the checkout: write a runbook, lint it, test it. */
async function useFromElsewhere(bin: string, env: NodeJS.ProcessEnv = {}) {
  const elsewhere = await tempDir('elsewhere');
  const made = await fireline(bin, ['new', 'runbook', 'api', '--alert', 'ApiDown'], elsewhere, env);
  expect(made.stdout).toContain('wrote runbooks/api.yaml');
  // Outside the checkout `npx fireline` would ask the registry: the hint says `fireline`.
  expect(made.stdout).toContain('next: fireline lint runbooks && fireline test runbooks');
  expect((await fireline(bin, ['lint'], elsewhere, env)).stdout).toBe(
    '2 files checked: 0 errors, 0 warnings\n',
  );
  expect((await fireline(bin, ['test'], elsewhere, env)).stdout).toMatch(/\n1 passed, 0 failed\n$/);
}

describe('fireline on PATH, from any directory', () => {
  it('after npm install -g <checkout> (a link to the checkout)', async () => {
    const prefix = await tempDir('prefix');
    await npm(['install', '-g', CHECKOUT], prefix, await tempDir('cwd'));
    expect(await readlink(join(prefix, 'bin', 'fireline'))).toBe(
      '../lib/node_modules/fireline/bin/fireline.js',
    );
    await useFromElsewhere(join(prefix, 'bin'));
  });

  it('after npm link in the checkout, also when Node keeps symlinked paths', async () => {
    const prefix = await tempDir('prefix');
    await npm(['link'], prefix, CHECKOUT);
    await useFromElsewhere(join(prefix, 'bin'));
    await useFromElsewhere(join(prefix, 'bin'), { NODE_OPTIONS: '--preserve-symlinks-main' });
    await useFromElsewhere(join(prefix, 'bin'), { NODE_PRESERVE_SYMLINKS: '1' });
  });
});
