import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDiagnosticRegistry } from '../../src/adapters/diagnostics/registry.ts';
import {
  type ShellCommandConfig,
  shellCommandExecutor,
} from '../../src/adapters/diagnostics/shell-command.ts';
import { runProcess } from '../../src/adapters/process.ts';
import { AdapterError } from '../../src/errors.ts';

let dir: string;
beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'fireline-shell-')));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const cfg = (command: string[], extra: Partial<ShellCommandConfig> = {}): ShellCommandConfig =>
  shellCommandExecutor.configSchema.parse({ command, ...extra });

const run = (
  command: string[],
  extra: Partial<ShellCommandConfig> = {},
  signal = new AbortController().signal,
) => shellCommandExecutor.run(cfg(command, extra), { signal });

/**
 * The error a promise rejects with (or one saying it resolved instead), as a value, so that the
 * rejection is never unhandled while the test waits on something else.
 */
function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (value) => new Error(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

/** Gone, or a zombie: dead and only waiting to be reaped (a container's PID 1 may never reap). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Waits until every pid is gone; fails naming the ones still alive. */
async function allGone(pids: number[]): Promise<void> {
  await vi.waitFor(
    () =>
      expect(
        pids.filter((p) => !isGone(p)),
        'pids still alive',
      ).toEqual([]),
    {
      timeout: 5000,
      interval: 20,
    },
  );
}

/** Runs a script that writes "$$ <child pids>" to a FIFO, and resolves those pids once written. */
async function runWithPids(
  script: string,
  signal: AbortSignal,
  start: (command: string[], extra: object, signal: AbortSignal) => Promise<unknown> = run,
) {
  const fifo = join(dir, `pids-${randomUUID()}`);
  await runProcess(['mkfifo', fifo], { signal, maxOutputBytes: 1024 });
  const settled = failure(start(['sh', '-c', script, fifo], {}, signal));
  const written = await Promise.race([
    readFile(fifo, 'utf8'),
    settled.then((o) =>
      Promise.reject(new Error(`command ended before writing its pids: ${JSON.stringify(o)}`)),
    ),
  ]);
  return { pids: written.trim().split(/\s+/).map(Number), settled };
}

describe('shell_command', () => {
  it('reports exit codes as facts, zero or not', async () => {
    expect(await run(['true'])).toMatchObject({ exit_code: 0, signal: null });
    expect(await run(['sh', '-c', 'echo failing >&2; exit 3'])).toMatchObject({
      exit_code: 3,
      stderr: 'failing\n',
    });
  });

  it('parses JSON stdout into the json fact and splits lines', async () => {
    const facts = await run(['printf', '%s\n', '{"ready": 2,', '"pods": ["a", "b"]}']);
    expect(facts.json).toEqual({ ready: 2, pods: ['a', 'b'] });
    expect(facts.lines).toEqual(['{"ready": 2,', '"pods": ["a", "b"]}']);
    const text = await run(['printf', 'one\n\n  \ntwo\n']);
    expect(text).toMatchObject({ json: null, lines: ['one', 'two'], stdout: 'one\n\n  \ntwo\n' });
  });

  it('caps output at maxOutputBytes and says it was truncated', async () => {
    const big = await run(['head', '-c', '100000', '/dev/zero'], { maxOutputBytes: 1000 });
    expect([(big.stdout as string).length, big.truncated]).toEqual([1000, true]);
    const small = await run(['head', '-c', '1000', '/dev/zero'], { maxOutputBytes: 1000 });
    expect([(small.stdout as string).length, small.truncated]).toEqual([1000, false]);
  });

  it('gives the child only PATH, HOME, LANG and the configured env, in the configured cwd', async () => {
    process.env.FIRELINE_TEST_SECRET = 'must-not-leak';
    try {
      const facts = await run(['env'], { env: { FOO: 'bar' } });
      const names = (facts.lines as string[]).map((l) => l.slice(0, l.indexOf('=')));
      expect(names.filter((n) => !['PATH', 'HOME', 'LANG', 'FOO'].includes(n))).toEqual([]);
      expect(facts.lines).toContain('FOO=bar');
    } finally {
      delete process.env.FIRELINE_TEST_SECRET;
    }
    expect((await run(['pwd'], { cwd: dir })).stdout).toBe(`${dir}\n`);
    await expect(run(['pwd'], { cwd: join(dir, 'missing') })).rejects.toThrow(
      `shell_command: working directory '${join(dir, 'missing')}' not found`,
    );
  });

  it('throws a clear, non-retryable AdapterError when the command does not exist', async () => {
    await expect(run(['fireline-no-such-command'])).rejects.toMatchObject({
      name: 'AdapterError',
      retryable: false,
      message: "shell_command: command not found: 'fireline-no-such-command' (ENOENT)",
    });
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const controller = new AbortController();
    const { pids, settled } = await runWithPids(
      'sleep 100 & a=$!; sleep 100 & b=$!; echo "$$ $a $b" > "$0"; wait',
      controller.signal,
    );
    expect(
      pids.filter((p) => Number.isInteger(p) && p > 1),
      `pids ${pids}`,
    ).toHaveLength(3);
    controller.abort(new DOMException('step timeout', 'TimeoutError'));
    expect(String(await settled)).toMatch(/^AdapterError: shell_command: timed out after \d+\.\ds$/);
    await allGone(pids);
  });

  it('sends SIGKILL after the grace period to processes that ignore SIGTERM', async () => {
    const controller = new AbortController();
    const { pids, settled } = await runWithPids(
      'trap "" TERM; sleep 100 & a=$!; echo "$$ $a" > "$0"; wait',
      controller.signal,
      (command, _extra, signal) => runProcess(command, { signal, maxOutputBytes: 1024, killGraceMs: 100 }),
    );
    controller.abort();
    const error = await settled;
    expect(error).toBeInstanceOf(AdapterError);
    expect((error as AdapterError).message).toMatch(/^process: cancelled after \d+\.\ds$/);
    await allGone(pids);
  });
});

describe('shell_command never interprets its argv', () => {
  const marker = join(tmpdir(), `fireline-x-${randomUUID()}`);
  const hostile = [
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `; touch ${marker}; rm -rf /nonexistent-fireline-path`,
    `| touch ${marker}`,
    `&& touch ${marker}`,
    `x\ntouch ${marker}`,
    `'"\\$HOME * ?`,
  ];

  it.each(hostile)('passes %j through literally', async (value) => {
    const facts = await run(['printf', '%s', value]);
    expect(facts.stdout).toBe(value);
    expect(existsSync(marker), `marker file ${marker} created`).toBe(false);
  });
});

describe('diagnostic registry', () => {
  const registry = createDiagnosticRegistry();

  it('runs a type on a raw config, validated by its schema', async () => {
    expect(registry.types()).toEqual(['http_check', 'shell_command']);
    const facts = await registry.run(
      'shell_command',
      { command: ['printf', '7'] },
      { signal: new AbortController().signal },
    );
    expect(facts).toMatchObject({ exit_code: 0, json: 7, truncated: false });
    await expect(
      registry.run('shell_command', { command: ['true'] }, { signal: AbortSignal.abort() }),
    ).rejects.toThrow(/^shell_command: cancelled after 0\.0s$/);
  });

  it('names a type this build lacks, and a config that does not fit', async () => {
    const ctx = { signal: new AbortController().signal };
    await expect(registry.run('prometheus_query', { query: 'up' }, ctx)).rejects.toThrow(
      "registry: no executor for diagnostic type 'prometheus_query' in this build",
    );
    await expect(registry.run('shell_command', { command: 'rm -rf /' }, ctx)).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(/^shell_command: invalid config: command: expected an argv array/),
    });
  });
});
