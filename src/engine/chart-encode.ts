import { z } from 'zod';
import { InvariantError } from '../errors.ts';
import {
  type Chart,
  type ChartSeries,
  clipText,
  MAX_POINTS,
  MAX_SERIES,
  MAX_STORED_BYTES,
} from './chart-types.ts';

/**
 * The stored form of a chart: compact JSON that always fits in MAX_STORED_BYTES (UTF-8), because it
 * rides along in the incident document and its events.
 *
 *   {"v":1,"k":kind,"q":query,"f":from,"s":step,"t":to,"o":omittedSeries,
 *    "h":[[level,op,value,source],…],"m":missing?,"d":[[name,min,max,codes],…]}
 *
 * Each series is quantized between its own finite min and max: a point is an integer 0..4095 written
 * as two characters of the base64url alphabet, a gap as `.`. Decoding gives `min + q·(max−min)/4095`
 * (exactly min at 0 and max at 4095), so a point is off by at most (max − min) / 8190 — within the
 * (max − min) / 4095 we promise. A series whose values are all equal is exact. Everything else
 * (names, query, thresholds, times) is kept as it is.
 *
 * A chart that is still too large (long non-ASCII names, say) is made smaller step by step until
 * it fits: every second point is dropped (the step doubles), then the lowest-ranked series (the
 * last ones), then the texts are clipped; the last resort is a chart with no series that fits.
 */

/** The largest quantized value: 12 bits, two base64 digits. */
const TOP_CODE = 4095;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const GAP = '.';
const TOO_LARGE = 'the chart was too large to store';

const StoredSchema = z.strictObject({
  v: z.literal(1),
  k: z.enum(['metric', 'log_count']),
  q: z.string(),
  f: z.number(),
  s: z.number().positive(),
  t: z.number(),
  o: z.number().int().nonnegative(),
  h: z.array(
    z.tuple([
      z.enum(['critical', 'warning', 'healthy']),
      z.enum(['>', '>=', '<', '<=']),
      z.number(),
      z.enum(['interpret', 'runbook']),
    ]),
  ),
  m: z.string().optional(),
  d: z.array(z.tuple([z.string(), z.number(), z.number(), z.string()])).max(MAX_SERIES),
});
type Stored = z.infer<typeof StoredSchema>;

/** The chart as a string of at most MAX_STORED_BYTES bytes; see the module comment for the scheme. */
export function encodeChart(chart: Chart): string {
  for (const candidate of smaller(chart)) {
    const text = JSON.stringify(toStored(candidate));
    if (new TextEncoder().encode(text).length <= MAX_STORED_BYTES) return text;
  }
  throw new InvariantError('encodeChart: even an empty chart does not fit'); // the last candidate fits
}

/** What encodeChart wrote, back as a chart; anything else is a bug and throws InvariantError. */
export function decodeChart(text: string): Chart {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvariantError(`stored chart is not JSON: ${clipText(text, 40)}`);
  }
  const parsed = StoredSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvariantError(
      `stored chart is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  const s = parsed.data;
  const count = (s.t - s.f) / s.s + 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_POINTS) {
    throw new InvariantError(
      `stored chart has no grid of ≤ ${MAX_POINTS} points: ${s.f}..${s.t} step ${s.s}`,
    );
  }
  return {
    v: 1,
    kind: s.k,
    query: s.q,
    from: s.f,
    step: s.s,
    to: s.t,
    series: s.d.map(([name, min, max, codes]) => ({
      name,
      points: dequantize(codes, min, max, count, name),
    })),
    omittedSeries: s.o,
    thresholds: s.h.map(([level, op, value, source]) => ({ level, op, value, source })),
    ...(s.m === undefined ? {} : { missing: s.m }),
  };
}

/** The chart, then ever smaller versions of it; the last one always fits. */
function* smaller(chart: Chart): Generator<Chart> {
  yield chart;
  const halved = halve(chart);
  yield halved;
  for (let keep = halved.series.length - 1; keep >= 1; keep--) yield keepSeries(halved, keep);
  const one = keepSeries(halved, Math.min(1, halved.series.length));
  for (const chars of [100, 20]) {
    yield {
      ...one,
      query: clipText(one.query, chars),
      series: one.series.map((s) => ({ ...s, name: clipText(s.name, chars) })),
      thresholds: one.thresholds.slice(0, 6),
      ...(one.missing === undefined ? {} : { missing: clipText(one.missing, chars) }),
    };
  }
  yield { ...keepSeries(halved, 0), query: '', thresholds: [], missing: TOO_LARGE };
}

/** Every second point (the first, third, …): twice the step over the same window. */
function halve(chart: Chart): Chart {
  const count = chart.series[0]?.points.length ?? 0;
  if (count < 2) return chart;
  const kept = Math.ceil(count / 2);
  const step = chart.step * 2;
  return {
    ...chart,
    step,
    to: chart.from + step * (kept - 1),
    series: chart.series.map((s) => ({ name: s.name, points: s.points.filter((_, i) => i % 2 === 0) })),
  };
}

/** The first `keep` series (they are ranked); the others count as omitted. */
function keepSeries(chart: Chart, keep: number): Chart {
  const dropped = chart.series.length - keep;
  if (dropped <= 0) return chart;
  const series = chart.series.slice(0, keep);
  return {
    ...chart,
    series,
    omittedSeries: chart.omittedSeries + dropped,
    ...(series.length === 0 && chart.missing === undefined ? { missing: TOO_LARGE } : {}),
  };
}

function toStored(chart: Chart): Stored {
  return {
    v: 1,
    k: chart.kind,
    q: chart.query,
    f: chart.from,
    s: chart.step,
    t: chart.to,
    o: chart.omittedSeries,
    h: chart.thresholds.map((t) => [t.level, t.op, t.value, t.source]),
    ...(chart.missing === undefined ? {} : { m: chart.missing }),
    d: chart.series.map(quantize),
  };
}

/**
 * Halves keep the arithmetic finite even for a series spanning ±1.7e308, where `max − min`
 * itself would overflow to Infinity.
 */
function quantize(series: ChartSeries): [string, number, number, string] {
  const finite = series.points.filter((p): p is number => p !== null && Number.isFinite(p));
  const min = finite.length ? Math.min(...finite) : 0;
  const max = finite.length ? Math.max(...finite) : 0;
  const half = max / 2 - min / 2;
  let codes = '';
  for (const p of series.points) {
    if (p === null || !Number.isFinite(p)) {
      codes += GAP;
      continue;
    }
    const q = half === 0 ? 0 : Math.round(((p / 2 - min / 2) / half) * TOP_CODE);
    codes += ALPHABET[q >> 6]! + ALPHABET[q & 63]!;
  }
  return [series.name, min, max, codes];
}

function dequantize(codes: string, min: number, max: number, count: number, name: string): (number | null)[] {
  const points: (number | null)[] = [];
  let i = 0;
  while (i < codes.length) {
    if (codes[i] === GAP) {
      points.push(null);
      i += 1;
      continue;
    }
    const hi = ALPHABET.indexOf(codes[i]!);
    const lo = i + 1 < codes.length ? ALPHABET.indexOf(codes[i + 1]!) : -1;
    if (hi < 0 || lo < 0) throw new InvariantError(`stored chart: bad point code at ${i} in series ${name}`);
    const q = hi * 64 + lo;
    // A lerp, not min + q·(max − min): exact at both ends and never overflowing.
    points.push(q === 0 ? min : q === TOP_CODE ? max : min * (1 - q / TOP_CODE) + max * (q / TOP_CODE));
    i += 2;
  }
  if (points.length !== count) {
    throw new InvariantError(`stored chart: series ${name} has ${points.length} points, the grid ${count}`);
  }
  return points;
}
