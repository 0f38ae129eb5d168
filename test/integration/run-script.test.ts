import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionRegistry } from '../../src/adapters/actions/registry.ts';
import { type RunScriptConfig, runScriptAction } from '../../src/adapters/actions/run-script.ts';
import { ActionSchema, isIdempotent } from '../../src/engine/runbook-schema.ts';
import { AdapterError } from '../../src/errors.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fireline-script-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const cfg = (config: Record<string, unknown>): RunScriptConfig => runScriptAction.configSchema.parse(config);
const live = () => ({ signal: new AbortController().signal, dryRun: false });
const dry = () => ({ signal: new AbortController().signal, dryRun: true });

describe('run_script (command form)', () => {
  it('runs the argv exactly once and keeps its output', async () => {
    const counter = join(dir, `count-${randomUUID()}`);
    const outcome = await runScriptAction.run(
      cfg({ command: ['sh', '-c', 'echo ran >> "$0"; echo done', counter] }),
      live(),
    );
    expect(outcome).toMatchObject({
      dryRun: false,
      command: ['sh', '-c', 'echo ran >> "$0"; echo done', counter],
      output: 'done\n',
    });
    expect(outcome.summary).toMatch(/^ran sh -c 'echo ran >> "\$0"; echo done' \S+ \(exit 0, \d+ ms\)$/);
    expect(await readFile(counter, 'utf8')).toBe('ran\n');
  });

  it('runs nothing in a dry run and says what it would have run', async () => {
    const marker = join(dir, `marker-${randomUUID()}`);
    const config = cfg({ command: ['touch', marker] });
    const outcome = await runScriptAction.run(config, dry());
    expect(outcome).toEqual({
      dryRun: true,
      summary: `dry run: would run touch ${marker}`,
      command: ['touch', marker],
    });
    expect(existsSync(marker), `marker ${marker} created by a dry run`).toBe(false);
    // The same config, run for real, does create it: the check above could have failed.
    await runScriptAction.run(config, live());
    expect(existsSync(marker), `marker ${marker} created by a real run`).toBe(true);
  });

  it('fails with a non-retryable AdapterError naming the exit code and stderr tail', async () => {
    const error = await runScriptAction
      .run(cfg({ command: ['sh', '-c', 'echo starting; echo "disk full" >&2; exit 4'] }), live())
      .then(
        (outcome) => new Error(`expected a failure, got ${JSON.stringify(outcome)}`),
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({
      retryable: false,
      message: `run_script: sh -c 'echo starting; echo "disk full" >&2; exit 4' exited with code 4: disk full`,
    });
  });

  it('fails clearly when the command does not exist, and when cancelled', async () => {
    await expect(
      runScriptAction.run(cfg({ command: ['fireline-no-such-script'] }), live()),
    ).rejects.toMatchObject({
      retryable: false,
      message: "run_script: command not found: 'fireline-no-such-script' (ENOENT)",
    });
    await expect(
      runScriptAction.run(cfg({ command: ['true'] }), { signal: AbortSignal.abort(), dryRun: false }),
    ).rejects.toThrow(/^run_script: cancelled after \d+\.\ds$/);
  });

  it('is idempotent only when the config says so', () => {
    const runScript = (config: Record<string, unknown>) => ActionSchema.parse({ type: 'run_script', config });
    expect(isIdempotent(runScript({ command: ['true'] }))).toBe(false);
    expect(isIdempotent(runScript({ command: ['true'], idempotent: true }))).toBe(true);
  });
});

describe('run_script (sql form)', () => {
  const sql = { database: 'orders', sql: 'select pg_cancel_backend($1)', params: ['42'] };

  it('fails until a database connection exists, and describes itself in a dry run', async () => {
    await expect(runScriptAction.run(cfg(sql), live())).rejects.toMatchObject({
      retryable: false,
      message: 'database: run_script with sql needs a database connection (not configured)',
    });
    expect(await runScriptAction.run(cfg(sql), dry())).toEqual({
      dryRun: true,
      summary: `dry run: would run sql on database 'orders': select pg_cancel_backend($1) ($1 = "42")`,
      request: { ...sql, params: ['42'] },
    });
  });
});

describe('action registry', () => {
  const registry = createActionRegistry();

  it('runs run_script on a raw config', async () => {
    expect(registry.types()).toEqual(['run_script']);
    const outcome = await registry.run('run_script', { command: ['printf', 'ok'] }, live());
    expect(outcome).toMatchObject({ dryRun: false, output: 'ok' });
  });

  it('names an action type this build lacks, and a config that does not fit', async () => {
    await expect(registry.run('rollback', { deployment: 'api', namespace: 'prod' }, live())).rejects.toThrow(
      "registry: no executor for action type 'rollback' in this build",
    );
    await expect(registry.run('run_script', { command: [] }, live())).rejects.toThrow(
      /^run_script: invalid config: /,
    );
  });
});
