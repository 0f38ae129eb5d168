import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** Small helpers of `npm run demo`: finding programs, ports, and printing to the terminal. */

/** The first of `names` found as an executable on PATH. */
export function findOnPath(names: string[], path = process.env.PATH ?? ''): string | undefined {
  for (const name of names)
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch (err) {
        if (
          (err as NodeJS.ErrnoException).code !== 'ENOENT' &&
          (err as NodeJS.ErrnoException).code !== 'EACCES'
        )
          throw err;
      }
    }
  return undefined;
}

/** Whether `port` on loopback can be listened on now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const COLOR = process.stdout.isTTY === true && !process.env.NO_COLOR;

/** `text` in an ANSI style (`1` bold, `2` dim, `33` yellow…) on a terminal; plain otherwise. */
export function paint(style: string, text: string): string {
  return COLOR ? `\x1b[${style}m${text}\x1b[0m` : text;
}

/** `mm:ss` since `since`. */
export function elapsed(since: number): string {
  const s = Math.max(0, Math.round((Date.now() - since) / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Prints `lines` in a box titled `title`, wrapped at the terminal's width. */
export function printBox(title: string, lines: string[]): void {
  const width = Math.min(Math.max((process.stdout.columns || 100) - 4, 40), 110);
  const wrapped = lines.flatMap((line) => {
    const out: string[] = [];
    let rest = line;
    while (rest.length > width) {
      const cut = rest.lastIndexOf(' ', width) > width / 2 ? rest.lastIndexOf(' ', width) : width;
      out.push(rest.slice(0, cut));
      rest = rest.slice(cut).trimStart();
    }
    out.push(rest);
    return out;
  });
  const bar = paint('36', '│');
  console.log(paint('36', `┌─ ${title} ${'─'.repeat(Math.max(0, width - title.length - 2))}`));
  for (const line of wrapped) console.log(`${bar} ${line}`);
  console.log(paint('36', `└${'─'.repeat(width + 1)}`));
}

/** The last `n` lines of a file, for an error message. */
export function tail(path: string, n = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch (err) {
    return `(cannot read ${path}: ${(err as Error).message})`;
  }
}

/** Resolves with the first stdout line of `child` matching `re`; rejects on exit or after `timeoutMs`. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      const found = lines.find((l) => re.test(l));
      if (found) finish(() => resolve(found));
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(() => reject(new Error(`it exited (${code ?? signal})`)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no "${re.source}" within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}
