import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** Paths redacted from every log line: secrets must never reach a log. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'routingKey',
  '*.routingKey',
  'webhookUrl',
  '*.webhookUrl',
];

/** `json`: one JSON object a line (for log shippers); `pretty`: one readable line per event. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level: string;
  /** Default `json`. */
  format?: LogFormat;
  /** Where the lines go (default: stdout). */
  destination?: DestinationStream;
  /** Pretty lines only: colour the level (default: when the destination is a terminal and NO_COLOR is unset). */
  color?: boolean;
}

/**
 * `FIRELINE_LOG_FORMAT` resolved: `json` or `pretty` as asked; unset (`auto`), pretty on a
 * terminal and JSON anywhere else (a pipe, a file, a container's log driver).
 */
export function logFormatFor(setting: LogFormat | 'auto', stdoutIsTty: boolean): LogFormat {
  if (setting !== 'auto') return setting;
  return stdoutIsTty ? 'pretty' : 'json';
}

/** The one root logger of a process; everything else is a child with ids (`incidentId`, `jobId`, …). */
export function createLogger(opts: LoggerOptions): Logger {
  const options = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { app: 'fireline' },
  };
  if (opts.format !== 'pretty') return pino(options, opts.destination);
  const out = opts.destination ?? process.stdout;
  const color =
    opts.color ?? (Boolean((out as { isTTY?: boolean }).isTTY) && process.env.NO_COLOR === undefined);
  return pino(options, prettyDestination(out, color));
}

// Alert labels, messages and comments are untrusted: a terminal must not get their control
// sequences (an ESC could rewrite the screen) or bidi overrides (they reorder what is shown).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escapeUnsafe(s: string): string {
  return s.replace(UNSAFE, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Untrusted text made safe for a terminal line: line breaks become spaces, controls `\xNN`. */
export function clean(s: string): string {
  return escapeUnsafe(s.replace(/\r\n|\r|\n|\t/g, ' '));
}

/** Untrusted multi-line text (a report) made safe for a terminal; line breaks and tabs kept. */
export function cleanLines(s: string): string {
  return escapeUnsafe(s.replace(/\r\n?/g, '\n'));
}

/** Fields of a pino line that the pretty line shows in its own place, or not at all. */
const OWN_FIELDS = new Set(['level', 'time', 'msg', 'app', 'pid', 'hostname', 'err']);
const LEVELS: Record<number, { name: string; sgr: string }> = {
  10: { name: 'TRACE', sgr: '90' },
  20: { name: 'DEBUG', sgr: '90' },
  30: { name: 'INFO ', sgr: '32' },
  40: { name: 'WARN ', sgr: '33' },
  50: { name: 'ERROR', sgr: '31' },
  60: { name: 'FATAL', sgr: '1;31' },
};
/** A field's value is cut beyond this: a log line is for people, the JSON form is for the rest. */
const MAX_VALUE_CHARS = 80;

/**
 * A destination that turns each pino JSON line into one line for people:
 * `19:52:03 WARN  message: error message  runbookId=… jobId=…`. An error's stack is shown only
 * when the error is a bug: errors with a `code` (Fireline's family in src/errors.ts, Node's
 * system errors such as ECONNREFUSED) are known operational failures and show their message
 * alone, except INVARIANT (Fireline's own data does not hold together, a bug).
 */
export function prettyDestination(out: { write(chunk: string): unknown }, color: boolean): DestinationStream {
  const paint = (sgr: string, text: string) => (color ? `\u001b[${sgr}m${text}\u001b[0m` : text);
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // Not pino's JSON (nothing else writes here): pass it through as it came.
        out.write(line);
        return;
      }
      out.write(`${prettyLine(entry, paint)}\n`);
    },
  };
}

type Paint = (sgr: string, text: string) => string;

function prettyLine(entry: Record<string, unknown>, paint: Paint): string {
  const level = LEVELS[Number(entry.level)] ?? { name: String(entry.level).padEnd(5), sgr: '0' };
  const time = typeof entry.time === 'number' ? new Date(entry.time).toTimeString().slice(0, 8) : '--:--:--';
  let message = typeof entry.msg === 'string' ? clean(entry.msg) : '';
  const err = entry.err as { message?: unknown; stack?: unknown; code?: unknown } | undefined;
  if (err && typeof err.message === 'string' && !message.includes(clean(err.message)))
    message = message ? `${message}: ${clean(err.message)}` : clean(err.message);
  const fields = Object.entries(entry)
    .filter(([k, v]) => !OWN_FIELDS.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${clean(k)}=${fieldValue(v)}`);
  const head = `${paint('2', time)} ${paint(level.sgr, level.name)} ${message}${fields.length ? paint('2', `  ${fields.join(' ')}`) : ''}`;
  const isBug = err && (typeof err.code !== 'string' || err.code === 'INVARIANT');
  if (!isBug || typeof err.stack !== 'string') return head;
  const frames = err.stack.split('\n').slice(1);
  return [head, ...frames.map((f) => paint('2', `    ${clean(f.trim())}`))].join('\n');
}

/** A list longer than this shows its length: the banner and the JSON form carry the items. */
const MAX_LIST_ITEMS = 3;

function fieldValue(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value
      : Array.isArray(value) && value.length > MAX_LIST_ITEMS
        ? `(${value.length})`
        : Array.isArray(value) && value.every((v) => typeof v !== 'object')
          ? value.join(',')
          : JSON.stringify(value);
  const shown = clean(/\s/.test(text) ? JSON.stringify(text) : text);
  return shown.length > MAX_VALUE_CHARS ? `${shown.slice(0, MAX_VALUE_CHARS - 1)}…` : shown;
}
