import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/fireline.js', import.meta.url));

export interface FirelineProcess {
  child: ChildProcess;
  /** Every stdout/stderr line so far (pino JSON lines and plain text). */
  lines: string[];
  /** Resolves with the first line matching `re`; rejects if the process exits first or after `timeoutMs`. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

export interface SpawnOptions {
  /**
   * Node options put on the command line before the script (e.g. `--cpu-prof`, which Node refuses
   * in NODE_OPTIONS). Preferred to an `--import` preload in NODE_OPTIONS: bin/fireline.js registers
   * tsx itself, and a `.ts` preload through a second tsx (`--import tsx`) can deadlock the child at
   * start-up, silently, whenever tsx has a file to compile that is not in its cache yet.
   */
  nodeArgs?: readonly string[];
}

/**
 * Runs `fireline <args>` as a child process with `env` added to a copy of this one's (the incident
 * history off unless `env` turns it on).
 */
export function spawnFireline(
  args: string[],
  env: Record<string, string>,
  opts: SpawnOptions = {},
): FirelineProcess {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], {
    // The history is off unless asked for: several processes of a test share no embedded database.
    env: { ...process.env, LOG_LEVEL: 'info', FIRELINE_HISTORY: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      lines.push(line);
      for (const w of [...waiters])
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((r) =>
    child.once('exit', (code, signal) => r(code ?? signal ?? -1)),
  );
  return {
    child,
    lines,
    exited,
    waitForLine(re, timeoutMs = 20_000) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${lines.join('\n')}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`fireline exited (${code}) before printing ${re}; output:\n${lines.join('\n')}`));
        });
      });
    },
  };
}
