import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { AdapterError } from '../errors.ts';
import { abortError } from './types.ts';

/**
 * The one child-process runner of the adapters (shell_command, run_script, later kubectl). It runs
 * an argv (never a shell string), in its own process group so that a timeout or a cancel kills
 * everything the command started, with a minimal environment so that Fireline's own secrets never
 * reach the child, and with stdout and stderr capped.
 */

export interface RunProcessOptions {
  /** On abort: SIGTERM to the process group, SIGKILL after `killGraceMs`, then reject. */
  signal: AbortSignal;
  cwd?: string;
  /** Variables set over the minimal environment (`minimalEnv()`). */
  env?: Record<string, string>;
  /** Cap for each of stdout and stderr; the rest is read and dropped. */
  maxOutputBytes: number;
  /** Time between SIGTERM and SIGKILL. Default 2000. */
  killGraceMs?: number;
  /** Names the adapter in errors. Default `process`. */
  adapter?: string;
}

export interface ProcessResult {
  /** Null when the process was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether stdout or stderr went over `maxOutputBytes`. */
  truncated: boolean;
  durationMs: number;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_KILL_GRACE_MS = 2000;

/** PATH, HOME and LANG of `from` (PATH defaulted): all a child inherits from Fireline. */
export function minimalEnv(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: from.PATH ?? DEFAULT_PATH };
  if (from.HOME !== undefined) env.HOME = from.HOME;
  if (from.LANG !== undefined) env.LANG = from.LANG;
  return env;
}

/** An argv as a human reads it on a timeline (quoted like a shell would need; display only). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** The last `maxChars` characters of a text, marked when cut. */
export function tail(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `…${text.slice(text.length - maxChars)}`;
}

/**
 * Runs `argv` and resolves with its exit and output, whatever the exit code.
 *
 * @throws AdapterError when the command cannot start (not found: not retryable), when `cwd` is not
 *   a directory, or when `signal` aborts ("timed out after Ns" / "cancelled after Ns").
 */
export async function runProcess(argv: readonly string[], opts: RunProcessOptions): Promise<ProcessResult> {
  const adapter = opts.adapter ?? 'process';
  const [file, ...args] = argv;
  if (file === undefined || file === '')
    throw new AdapterError(adapter, 'empty command', { retryable: false });
  const started = performance.now();
  if (opts.cwd !== undefined) await assertDirectory(adapter, opts.cwd);
  if (opts.signal.aborted) throw abortError(adapter, opts.signal, performance.now() - started);

  const child = spawn(file, args, {
    cwd: opts.cwd,
    env: { ...minimalEnv(), ...opts.env },
    shell: false,
    // A new process group (setsid), so that one kill reaches every process the command started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout = cappedSink(opts.maxOutputBytes);
  const stderr = cappedSink(opts.maxOutputBytes);
  child.stdout.on('data', stdout.push);
  child.stderr.on('data', stderr.push);

  return new Promise<ProcessResult>((resolve, reject) => {
    let settled = false;
    let aborted = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch (err) {
        // ESRCH: the whole group is already gone, which is what we wanted.
        if ((err as NodeJS.ErrnoException).code === 'ESRCH') return;
        const failure = new AdapterError(adapter, `could not send ${sig} to '${file}'`, {
          retryable: false,
          cause: err,
        });
        if (settled) process.emitWarning(failure);
        else settle(() => reject(failure));
      }
    };
    const onAbort = () => {
      aborted = true;
      killGroup('SIGTERM');
      // Not cleared when the leader exits: a grandchild that ignores SIGTERM must still go.
      setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS).unref();
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });

    child.once('error', (err: NodeJS.ErrnoException) => settle(() => reject(spawnError(adapter, file, err))));
    // After an abort the leader's exit is enough; pipes held by dying grandchildren do not matter.
    child.once('exit', () => {
      if (aborted) settle(() => reject(abortError(adapter, opts.signal, performance.now() - started)));
    });
    child.once('close', (exitCode, signal) =>
      settle(() =>
        aborted
          ? reject(abortError(adapter, opts.signal, performance.now() - started))
          : resolve({
              exitCode,
              signal,
              stdout: stdout.text(),
              stderr: stderr.text(),
              truncated: stdout.truncated() || stderr.truncated(),
              durationMs: Math.round(performance.now() - started),
            }),
      ),
    );
  });
}

function cappedSink(maxBytes: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let cut = false;
  return {
    push: (chunk: Buffer) => {
      const room = maxBytes - size;
      if (chunk.length > room) cut = true;
      if (room <= 0) return;
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunks.push(kept);
      size += kept.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
    truncated: () => cut,
  };
}

async function assertDirectory(adapter: string, cwd: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(cwd)).isDirectory();
  } catch (err) {
    throw new AdapterError(adapter, `working directory '${cwd}' not found`, { retryable: false, cause: err });
  }
  if (!isDir)
    throw new AdapterError(adapter, `working directory '${cwd}' is not a directory`, { retryable: false });
}

function spawnError(adapter: string, file: string, err: NodeJS.ErrnoException): AdapterError {
  switch (err.code) {
    case 'ENOENT':
      return new AdapterError(adapter, `command not found: '${file}' (ENOENT)`, {
        retryable: false,
        cause: err,
      });
    case 'EACCES':
      return new AdapterError(adapter, `permission denied running '${file}' (EACCES)`, {
        retryable: false,
        cause: err,
      });
    default:
      // EAGAIN, EMFILE and the like: the machine was busy, another attempt may start it.
      return new AdapterError(adapter, `could not start '${file}': ${err.message}`, {
        retryable: true,
        cause: err,
      });
  }
}
