/**
 * Times as the fast path (src/engine/expression-fast.ts) computes them, exactly as cel-js does:
 * `timestamp(string)`'s range, strict ISO UTC text parsed without `new Date`, and a memo of the
 * last parsed text that judge opens around one step.
 */

// cel-js's `timestamp(string)`: 20 to 30 characters, `new Date(text)`, years 1 to 9999.
export const MIN_TIMESTAMP_MS = -62135596800000;
export const MAX_TIMESTAMP_MS = 253402300799999;
// Below this many milliseconds, `Duration.fromMilliseconds(ms).valueOf() === ms` exactly
// (ms × 10⁶ nanoseconds is an exact double); beyond it, the library computes it.
export const EXACT_DURATION_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1_000_000);

/**
 * `new Date(text).getTime()`, remembered for the last text while a memo is open. judge opens one
 * around the levels of one step, which often parse the same times (`critical` and `warning` of a
 * deploy-age check): nothing can change how a text parses (the time zone) while it runs.
 */
let memoOpen = false;
let memoText: string | undefined;
let memoTime = 0;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal digits of `text` from `start` to `end`, or -1. */
function digits(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * `YYYY-MM-DDTHH:mm:ssZ` or `YYYY-MM-DDTHH:mm:ss.sssZ` with every field in range (years 1000 and
 * later): the time ECMAScript's Date Time String Format gives it, which `new Date(text)` must
 * give too. Anything else: NaN (then `new Date(text)` parses it).
 */
export function isoUtcTime(text: string): number {
  const length = text.length;
  if (length !== 20 && length !== 24) return Number.NaN;
  if (
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(length - 1) !== 90 // Z
  )
    return Number.NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  let milli = 0;
  if (length === 24) {
    if (text.charCodeAt(19) !== 46) return Number.NaN; // .
    milli = digits(text, 20, 23);
  }
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return Number.NaN;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || milli < 0) return Number.NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, milli);
}

export function timeOf(text: string): number {
  if (memoOpen && text === memoText) return memoTime;
  const iso = isoUtcTime(text);
  const ms = Number.isNaN(iso) ? new Date(text).getTime() : iso;
  if (memoOpen) {
    memoText = text;
    memoTime = ms;
  }
  return ms;
}

/** Opens the memo; false when one was already open (then leave it to its opener to close). */
export function openTimeMemo(): boolean {
  if (memoOpen) return false;
  memoOpen = true;
  return true;
}

export function closeTimeMemo(): void {
  memoOpen = false;
  memoText = undefined;
}
