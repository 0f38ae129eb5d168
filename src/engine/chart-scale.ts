/**
 * Axis arithmetic for `chart-svg.ts`: compact numbers, "nice" value ticks and UTC time ticks.
 * Pure and deterministic (times are formatted in UTC, no clock is read).
 */

const SUFFIXES: readonly [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * A short number for a label: `1.2k`, `3.4M`, `0.05`, `1e-9`, with `precision` significant
 * digits. SI suffixes because metrics are bytes and requests, not money. Rounded before the
 * suffix is chosen, so 999 600 is `1M`, not `1000k`.
 */
export function formatCompact(value: number, precision = 3): string {
  if (!Number.isFinite(value)) return String(value);
  const rounded = Number(value.toPrecision(precision));
  if (rounded === 0) return '0';
  const size = Math.abs(rounded);
  for (const [divisor, suffix] of SUFFIXES) {
    if (size >= divisor) return `${Number((rounded / divisor).toPrecision(precision))}${suffix}`;
  }
  if (size >= 1e-3) return String(rounded);
  return rounded.toExponential(precision - 1).replace(/\.?0+e/, 'e');
}

/** Labels for `ticks` with just enough digits that no two read the same. */
export function tickLabels(ticks: readonly number[]): string[] {
  for (let precision = 2; precision < 15; precision++) {
    const labels = ticks.map((t) => formatCompact(t, precision));
    if (new Set(labels).size === labels.length) return labels;
  }
  return ticks.map((t) => String(t));
}

/** Steps people read easily, tried first. */
const NICE_MANTISSAS = [1, 2, 2.5, 5];
/** With these too, consecutive steps are at most 1.5× apart (see niceTicks). */
const ALL_MANTISSAS = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8];

/**
 * 4 to 6 round values inside [lo, hi] (lo < hi), on the smallest step that gives that many: a
 * step of 1, 2, 2.5 or 5 × 10^e when one does, else also 1.5, 3, 4, 6 or 8 × 10^e. With steps at
 * most 1.5× apart one of them makes the range 4 to 6 steps long (excluding 6), and then 4 to 6 of
 * its multiples fall inside.
 */
export function niceTicks(lo: number, hi: number): number[] {
  const range = hi - lo;
  if (!(range > 0) || !Number.isFinite(range)) return Number.isFinite(lo) ? [lo] : [];
  const exponent = Math.floor(Math.log10(range));
  for (const mantissas of [NICE_MANTISSAS, ALL_MANTISSAS]) {
    const steps = [];
    for (let e = exponent - 2; e <= exponent + 1; e++) {
      for (const m of mantissas) steps.push({ m, e, size: m * 10 ** e });
    }
    steps.sort((a, b) => a.size - b.size);
    for (const { m, e, size } of steps) {
      const first = Math.ceil(lo / size);
      const count = Math.floor(hi / size) - first + 1;
      if (count < 4 || count > 6) continue;
      // k·m first, then the power of ten: 3 × 0.1 would be 0.30000000000000004.
      return Array.from({ length: count }, (_, i) => Number(((first + i) * m * 10 ** e).toPrecision(12)));
    }
  }
  return [lo, hi];
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [
  ...[1, 2, 5, 10, 15, 20, 30].map((n) => n * SECOND),
  ...[1, 2, 3, 5, 10, 15, 20, 30].map((n) => n * MINUTE),
  ...[1, 2, 3, 4, 6, 8, 12].map((n) => n * HOUR),
  ...[1, 2, 3, 7, 14, 28].map((n) => n * DAY),
];

/**
 * Time labels on round UTC times within [from, to]: the smallest round interval giving 4 to 6,
 * else the smallest giving at most 6. `HH:MM`, with seconds under a minute and `MM-DD` from a day.
 */
export function timeTicks(from: number, to: number): { at: number; label: string }[] {
  if (!(to > from)) return [{ at: from, label: utcTime(from, MINUTE) }];
  const counted = TIME_STEPS.map((interval) => {
    const first = Math.ceil(from / interval);
    return { interval, first, count: Math.floor(to / interval) - first + 1 };
  });
  const pick =
    counted.find((c) => c.count >= 4 && c.count <= 6) ??
    counted.find((c) => c.count >= 1 && c.count <= 6) ??
    counted[counted.length - 1]!;
  return Array.from({ length: Math.max(0, pick.count) }, (_, i) => {
    const at = (pick.first + i) * pick.interval;
    return { at, label: utcTime(at, pick.interval) };
  });
}

/** `HH:MM` in UTC (`HH:MM:SS` when `interval` is under a minute, `MM-DD` from a day). */
export function utcTime(ms: number, interval = MINUTE): string {
  const iso = new Date(ms).toISOString();
  if (interval >= DAY) return iso.slice(5, 10);
  return iso.slice(11, interval < MINUTE ? 19 : 16);
}
