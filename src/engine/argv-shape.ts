import { type Field, list, type Path } from './type-spec.ts';

/**
 * How an argv is read, shared by every type whose config runs one (shell_command, run_script):
 * which words a shell or an interpreter reads as code (behind wrappers such as `env`, `sudo`,
 * `timeout`, after `kubectl exec --`, `docker exec <container>`, `find -exec`, after the host of
 * `ssh`), and which words are operands after a `--` of their own command. Lint refuses a template
 * in a word read as code; rendering refuses a value that turns a word into an option.
 */

/**
 * The items of an argv as fields: mode `argv` (a value may not turn a word into an option), or
 * `argv-operand` after a `--` that ends the options of the word's own command.
 */
export function argvFields(argv: readonly string[] | undefined, path: Path): Field[] {
  const shape = argvShape(argv ?? []);
  return list(argv, path, 'argv').map((f, i) => (shape.operand(i) ? { ...f, mode: 'argv-operand' } : f));
}

/**
 * A word of an argv that is read as more than data. `script`: the script of `sh -c` (`by`: the
 * shell); `code`: inline code (`by`: `python3 -c`); `program`: it names the program or script that
 * runs (`by`: who runs it, empty for the argv's own program); `line`: it is joined into a shell
 * command line (`by`: what joins it).
 */
export interface ArgvReader {
  index: number;
  kind: 'script' | 'code' | 'program' | 'line';
  by: string;
}

/** How an argv is read: the words read as code, and which words are operands after a `--`. */
export interface ArgvShape {
  readers: ArgvReader[];
  /** True when word `i` comes after a `--` that ends the options of its own command. */
  operand(i: number): boolean;
}

/**
 * A program's options, as space-separated tokens (letters: short options; `-x…`: one whole
 * option): `arg` take a plain argument, `code` an argument that is code, `file` one that names
 * the code (script, module), `opt` (short) only an attached one; `ends` give the code, so operands
 * are data; `flag` makes the first operand code (`sh -c`); `joins` makes the command a shell line
 * (`sudo -s`). `whole`: no clustering; `stop`: options end at an `ends` option; `plus`: `+o` too.
 * The first operand is a script, `code`, a `command` after `skip` operands (and `VAR=value` words
 * with `assign`), or the start of a shell `line` (`line` says what joins it).
 */
interface Program {
  arg?: string;
  code?: string;
  file?: string;
  opt?: string;
  ends?: string;
  flag?: string;
  joins?: string;
  whole?: boolean;
  stop?: boolean;
  plus?: boolean;
  operand?: 'code' | 'command' | 'line';
  skip?: number;
  assign?: boolean;
  line?: string;
}

const SHELL: Program = { flag: 'c', arg: 'oO --rcfile --init-file', plus: true };
const PYTHON: Program = { code: 'c', file: 'm', ends: 'cm', arg: 'WX', stop: true };
const NODE_CODE = '-e --eval -p --print -pe';
const NODE_FILE = '-r --require --import --loader --experimental-loader';
const NODE: Program = { whole: true, code: NODE_CODE, ends: NODE_CODE, file: NODE_FILE, arg: '-C --title' };
const AWK: Program = {
  code: 'e --source',
  file: 'fEil --file --exec --include --load',
  ends: 'efE --source --file --exec',
  arg: 'FvW --assign',
  operand: 'code',
};
const SED: Program = { code: 'e --expression', file: 'f --file', ends: 'ef --expression --file', opt: 'i' };
const SUDO = 'ugpCDrtTUR --user --group --prompt --close-from --chdir --role --type --other-user --host';
const XARGS = 'adEILnPs --arg-file --delimiter --eof --max-lines --max-args --max-procs --max-chars';
const SSH_LINE = 'ssh joins every word after the host into one command line for the remote shell';

/** A wrapper: its options, then (after `skip` operands) the command it runs. */
const wrapper = (p: Program = {}): Program => ({ ...p, operand: 'command' });

/** Shells, interpreters and wrappers by program name (lowercase, without `.exe` and a version). */
const PROGRAMS: Record<string, Program> = {
  ...Object.fromEntries(
    ['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'mksh', 'csh', 'tcsh'].map((n) => [n, SHELL]),
  ),
  fish: { code: 'cC --command --init-command', ends: 'c --command' },
  python: PYTHON,
  pypy: PYTHON,
  node: NODE,
  nodejs: NODE,
  perl: { code: 'eEMm', ends: 'eE', opt: 'ixdDCF', arg: 'I' },
  ruby: { code: 'e', file: 'r', ends: 'e', arg: 'ICE', opt: 'iWKxF' },
  php: { code: 'rBREd', file: 'fF', ends: 'rfRF', arg: 'ctzS' },
  osascript: { code: 'e', ends: 'e', arg: 'ls' },
  ...Object.fromEntries(['awk', 'gawk', 'mawk', 'nawk'].map((n) => [n, AWK])),
  ...Object.fromEntries(['sed', 'gsed'].map((n) => [n, { ...SED, operand: 'code' } as const])),
  env: wrapper({
    arg: 'uC --unset --chdir',
    code: 'S --split-string',
    ends: 'S --split-string',
    assign: true,
  }),
  sudo: wrapper({
    arg: SUDO,
    joins: 'si --shell --login',
    assign: true,
    line: 'sudo -s/-i runs the command in a shell',
  }),
  nice: wrapper({ arg: 'n --adjustment' }),
  timeout: wrapper({ arg: 'ks --kill-after --signal', skip: 1 }),
  xargs: wrapper({ arg: XARGS, opt: 'eil' }),
  nohup: wrapper(),
  busybox: wrapper(),
  stdbuf: wrapper({ arg: 'ioe --input --output --error' }),
  ionice: wrapper({ arg: 'cnpPu --class --classdata --pid --pgid --uid' }),
  chroot: wrapper({ arg: '--userspec --groups', skip: 1 }),
  flock: wrapper({ arg: 'wE --timeout', code: 'c --command', ends: 'c --command', skip: 1 }),
  ssh: { arg: 'BbcDEeFIiJLlmOopQRSWw', operand: 'line', skip: 1, line: SSH_LINE },
};
const DOCKER_EXEC = wrapper({ arg: 'euw --env --env-file --user --workdir --detach-keys', skip: 1 });
/** ssh options whose value is a local or remote shell command. */
const SSH_COMMAND = /^(?:-o)?\s*((?:proxy|local|remote|knownhosts)command)\b/i;
const ASSIGN = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** The walk over one argv: what reads each word, and the command (segment) each word belongs to. */
interface Walk {
  argv: readonly string[];
  readers: ArgvReader[];
  owner: number[];
  segments: number;
}
type Scan = { next: number; ends: boolean; flag: boolean; joins: boolean };

function has(tokens: string | undefined, key: string): boolean {
  return (tokens ?? '')
    .split(' ')
    .some((t) => (key.length === 1 && t[0] !== '-' ? t.includes(key) : t === key));
}

function read(w: Walk, index: number, kind: ArgvReader['kind'], by: string, end = w.argv.length): void {
  if (index < end) w.readers.push({ index, kind, by });
}

/** Option `key` of word `i`, its argument attached or the next word; returns the last word it used. */
function option(w: Walk, p: Program, s: Scan, key: string, attached: boolean, i: number, by: string): number {
  const at = attached ? i : i + 1;
  const name = `${by} ${key.length === 1 ? '-' : ''}${key}`;
  s.ends ||= has(p.ends, key);
  if (has(p.code, key)) read(w, at, 'code', name);
  else if (has(p.file, key)) read(w, at, 'program', name);
  else if (has(p.arg, key)) return at;
  else {
    s.flag ||= has(p.flag, key);
    s.joins ||= has(p.joins, key);
    return i;
  }
  return at;
}

/** A program's options from word `i` up to its first operand (past a `--`). */
function scan(w: Walk, p: Program, i: number, end: number, by: string): Scan {
  const s: Scan = { next: end, ends: false, flag: false, joins: false };
  for (; i < end && !(s.ends && p.stop); i++) {
    const word = w.argv[i]!;
    if (word === '--') return { ...s, next: i + 1 };
    if (word.length < 2 || !(word[0] === '-' || (p.plus && word[0] === '+'))) return { ...s, next: i };
    if (p.whole || word.startsWith('--')) {
      const eq = word.indexOf('=');
      i = option(w, p, s, eq < 0 ? word : word.slice(0, eq), eq >= 0, i, by);
      continue;
    }
    for (let k = 1; k < word.length; k++) {
      const [key, rest] = [word[k]!, word.slice(k + 1)];
      if (has(p.opt, key)) {
        if (!rest && w.argv[i + 1] === '') i++; // BSD `sed -i ''`
        break;
      }
      if (!has(p.arg, key) && !has(p.code, key) && !has(p.file, key)) option(w, p, s, key, false, i, by);
      else {
        i = option(w, p, s, key, rest !== '', i, by);
        break;
      }
    }
  }
  return { ...s, next: i };
}

/** A command from word `start` to `end`: a shell, an interpreter, a wrapper or a plain program. */
function walk(w: Walk, start: number, end: number): void {
  if (start >= end) return;
  w.owner.fill(w.segments++, start, end);
  const word = w.argv[start]!;
  const by = word.split(/[\\/]/).pop()!;
  const name = by.toLowerCase().replace(/[\d.]*(?:\.exe)?$/, '');
  if (word.includes('{{')) read(w, start, 'program', '');
  else if (CUSTOM[name]) CUSTOM[name](w, start, end, by);
  else if (PROGRAMS[name]) run(w, PROGRAMS[name], start, end, by);
}

function run(w: Walk, p: Program, start: number, end: number, by: string): void {
  const s = scan(w, p, start + 1, end, by);
  let i = s.next;
  if (s.ends) return;
  if (!p.operand || p.operand === 'code') {
    const kind = s.flag ? 'script' : p.operand ? 'code' : 'program';
    read(w, i, kind, by, end);
    return;
  }
  while (p.assign && i < end && ASSIGN.test(w.argv[i]!)) i++;
  i += p.skip ?? 0;
  if (p.operand === 'line' || s.joins) {
    for (; i < end; i++) read(w, i, 'line', p.line!);
    return;
  }
  // Options may follow the skipped operands too (`flock <file> -c <command>`).
  const again = p.skip ? scan(w, p, i, end, by) : s;
  if (!again.ends) walk(w, p.skip ? again.next : i, end);
}

const PS_ARG = /^(?:ex|ep|inp|if|o|of|w|wd|v|ea|config)$/;
const PS_LONG = ['executionpolicy', 'inputformat', 'outputformat', 'windowstyle', 'workingdirectory'];

/** PowerShell: `-Command` makes every later word code; `powershell` (5.1) reads operands as -Command. */
function powershell(w: Walk, start: number, end: number, by: string): void {
  for (let i = start + 1; i < end; i++) {
    const p = /^-([a-z]+)$/i.exec(w.argv[i]!)?.[1]?.toLowerCase();
    const is = (full: string, min: number) => p !== undefined && p.length >= min && full.startsWith(p);
    const file = p === 'f' || is('file', 2) || (p === undefined && !/^powershell/i.test(by));
    if (file) {
      read(w, p === undefined ? i : i + 1, 'program', by, end);
      return;
    }
    if (p === undefined || p === 'c' || p === 'cwa' || is('command', 3) || is('commandwithargs', 8)) {
      for (let k = p === undefined ? i : i + 1; k < end; k++) read(w, k, 'code', `${by} -Command`);
      return;
    }
    const encoded = p === 'e' || p === 'ec' || is('encodedcommand', 2);
    if (encoded) read(w, i + 1, 'code', `${by} -EncodedCommand`, end);
    if (encoded || PS_ARG.test(p) || PS_LONG.some((n) => is(n, 3))) i++;
  }
}

/** Programs whose command or code is not found by their options alone. */
const CUSTOM: Record<string, (w: Walk, start: number, end: number, by: string) => void> = {
  /** `kubectl exec|debug|run … -- <command>`. */
  kubectl(w, start, end) {
    const dd = w.argv.indexOf('--', start + 1);
    const sub = w.argv.slice(start + 1, dd).some((a) => ['exec', 'debug', 'run'].includes(a));
    if (dd > 0 && dd < end && sub) walk(w, dd + 1, end);
  },
  /** `docker exec [options] <container> <command>`. */
  docker(w, start, end, by) {
    const exec = w.argv.indexOf('exec', start + 1);
    if (exec > 0 && exec < end) run(w, DOCKER_EXEC, exec, end, `${by} exec`);
  },
  /** `find … -exec <command> … ;` (also `-execdir`, `-ok`, `-okdir`, ended by `+`). */
  find(w, start, end) {
    for (let i = start + 1; i < end; i++) {
      if (!['-exec', '-execdir', '-ok', '-okdir'].includes(w.argv[i]!)) continue;
      let t = i + 1;
      while (t < end && w.argv[t] !== ';' && w.argv[t] !== '+') t++;
      walk(w, i + 1, t);
      i = t;
    }
  },
  /** Every word after the host is remote shell code; so is a ProxyCommand (and the like) option. */
  ssh(w, start, end, by) {
    const options = scan(w, PROGRAMS.ssh!, start + 1, end, by).next;
    for (let i = start + 1; i < options; i++) {
      const option = SSH_COMMAND.exec(w.argv[i]!)?.[1];
      if (option) read(w, i, 'code', `${by} -o ${option}`);
    }
    run(w, PROGRAMS.ssh!, start, end, by);
  },
  pwsh: powershell,
  powershell,
};
CUSTOM.oc = CUSTOM.kubectl!;
for (const name of ['podman', 'nerdctl', 'docker-compose']) CUSTOM[name] = CUSTOM.docker!;

/** How a shell, an interpreter or a wrapper (`env`, `sudo`, `kubectl exec --` …) reads each word. */
export function argvShape(argv: readonly string[]): ArgvShape {
  const w: Walk = { argv, readers: [], owner: argv.map(() => -1), segments: 0 };
  walk(w, 0, argv.length);
  const operands = new Set<number>();
  const ended = new Set<number>();
  for (const [i, word] of argv.entries()) {
    if (ended.has(w.owner[i]!)) operands.add(i);
    if (word === '--') ended.add(w.owner[i]!);
  }
  w.readers.sort((a, b) => a.index - b.index);
  return { readers: w.readers, operand: (i) => operands.has(i) };
}
