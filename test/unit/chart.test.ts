import { describe, expect, test } from 'vitest';
import {
  type Chart,
  type ChartThreshold,
  chartFromMatrix,
  chartMarkers,
  chartWindow,
  decodeChart,
  encodeChart,
  MAX_POINTS,
  MAX_SERIES,
  MAX_STORED_BYTES,
  type MatrixSeries,
  missingChart,
  thresholdsFromInterpret,
} from '../../src/engine/chart.ts';
import { FirelineError } from '../../src/errors.ts';

const MIN = 60_000;
/** 2024-05-01T12:00:00Z */
const NOON = Date.UTC(2024, 4, 1, 12, 0, 0);
const S = NOON / 1000;

function bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

describe('chartWindow', () => {
  test.each([
    {
      name: 'default: 30 min before the alert to now, 45 min at 12 s',
      opts: { alertStartedAt: NOON, now: NOON + 15 * MIN },
      want: { from: NOON - 30 * MIN, to: NOON + 15 * MIN, step: 12_000 },
    },
    {
      name: 'an alert after now counts as now',
      opts: { alertStartedAt: NOON + 60 * MIN, now: NOON },
      want: { from: NOON - 30 * MIN, to: NOON, step: 8_000 },
    },
    {
      name: 'a smaller step is raised to the window / 239, in whole seconds',
      opts: { alertStartedAt: NOON, now: NOON + 15 * MIN, stepMs: 1_000 },
      want: { from: NOON - 30 * MIN, to: NOON + 15 * MIN, step: 12_000 },
    },
    {
      name: 'a larger step is kept, rounded up to a second',
      opts: { alertStartedAt: NOON, now: NOON + 15 * MIN, stepMs: 59_500 },
      want: { from: NOON - 30 * MIN, to: NOON + 15 * MIN, step: 60_000 },
    },
    {
      name: 'windowMs: 6 h before the alert, from aligned down to the 91 s step',
      opts: { alertStartedAt: NOON, now: NOON, windowMs: 6 * 60 * MIN },
      want: { from: 1_714_543_194_000, to: 1_714_564_761_000, step: 91_000 },
    },
    {
      name: 'a tiny window still has a 1 s step',
      opts: { alertStartedAt: NOON + 500, now: NOON + 10_500, windowMs: 10_500 },
      want: { from: NOON - 10_000, to: NOON + 10_000, step: 1_000 },
    },
    {
      name: 'now off the second: to is the last grid point before it',
      opts: { alertStartedAt: NOON, now: NOON + 15 * MIN + 5_123 },
      want: { from: NOON - 30 * MIN, to: NOON + 15 * MIN, step: 12_000 },
    },
  ])('$name', ({ opts, want }) => {
    expect(chartWindow(opts)).toEqual(want);
  });

  test.each([
    [NOON, NOON + 1],
    [NOON - 7_777, NOON + 12_345_678],
    [NOON + 123, NOON + 3 * 24 * 60 * MIN + 999],
    [NOON, NOON + 239_000 * 1000 - 1],
    [NOON + 17, NOON + 17 + 4 * MIN + 1],
  ])('alert %i, now %i: ≤ 240 points, aligned grid, whole seconds', (alertStartedAt, now) => {
    for (const stepMs of [undefined, 1, 15_000, 3_600_000]) {
      const w = chartWindow({ alertStartedAt, now, ...(stepMs ? { stepMs } : {}) });
      const points = (w.to - w.from) / w.step + 1;
      expect(Number.isInteger(points) && points >= 1 && points <= MAX_POINTS, `${points} points`).toBe(true);
      expect(w.from % w.step).toBe(0);
      expect(w.step % 1000).toBe(0);
      expect(w.to).toBeLessThanOrEqual(now);
      expect(w.to).toBeGreaterThan(now - w.step);
      expect(w.from).toBeLessThanOrEqual(Math.min(alertStartedAt, now) - 30 * MIN);
    }
  });

  test('non-finite times are a bug', () => {
    expect(() => chartWindow({ alertStartedAt: Number.NaN, now: NOON })).toThrow(FirelineError);
  });
});

/** 12:00..12:04, one point a minute. */
const WINDOW = { from: NOON, to: NOON + 4 * MIN, step: MIN };

function fromMatrix(matrix: MatrixSeries[], query = 'up', thresholds: ChartThreshold[] = []): Chart {
  return chartFromMatrix({ kind: 'metric', query, window: WINDOW, matrix, thresholds });
}

describe('chartFromMatrix', () => {
  test('samples go to the nearest grid point; missing, NaN and ±Inf are gaps', () => {
    const chart = fromMatrix([
      {
        labels: { __name__: 'up', job: 'api' },
        values: [
          [S - 40, 9], // nearer to 11:59 than to 12:00: outside the window
          [S - 20.5, 1], // 20.5 s before 12:00: point 0
          [S + 59.6, 2], // point 1
          [S + 89.9, 3], // nearer 12:01 than 12:02, but 12:01 has a nearer sample
          [S + 90.1, 4], // point 2
          [S + 180, Number.NaN], // point 3
          [S + 240.25, Number.POSITIVE_INFINITY], // point 4
        ],
      },
    ]);
    expect(chart.series).toEqual([{ name: 'up{job="api"}', points: [1, 2, 4, null, null] }]);
    expect(chart).toMatchObject({ from: NOON, to: NOON + 4 * MIN, step: MIN, omittedSeries: 0 });
    expect(chart.missing).toBeUndefined();
  });

  test('the top 5 by their highest finite value are kept; ties by name; no finite value last', () => {
    const series = (pod: string, values: number[]): MatrixSeries => ({
      labels: { __name__: 'cpu', pod },
      values: values.map((v, i) => [S + i * 60, v]),
    });
    const chart = fromMatrix([
      series('a', [1, 2]),
      series('nan', [Number.NaN, Number.NaN]),
      series('b', [9, 3]),
      series('c', [5]),
      series('d', [5, -1]),
      series('e', [0.5]),
      series('f', [7]),
    ]);
    expect(chart.series.map((s) => s.name)).toEqual([
      '{pod="b"}',
      '{pod="f"}',
      '{pod="c"}',
      '{pod="d"}',
      '{pod="a"}',
    ]);
    expect(chart.omittedSeries).toBe(2);
    expect(chart.series.every((s) => s.points.length === 5)).toBe(true);
    expect(chart.series).toHaveLength(MAX_SERIES);
    const withNaN = fromMatrix([series('nan', [Number.NaN]), series('z', [1])]);
    expect(withNaN.series.map((s) => s.name)).toEqual(['{pod="z"}', '{pod="nan"}']);
  });

  test.each([
    {
      name: 'one series: metric and labels',
      labels: [{ __name__: 'up', job: 'api' }],
      want: ['up{job="api"}'],
    },
    { name: 'one series: metric only', labels: [{ __name__: 'up' }], want: ['up'] },
    { name: 'one series: no labels at all: the query', labels: [{}], want: ['sum(rate(x[5m]))'] },
    { name: 'one series: labels only', labels: [{ job: 'api' }], want: ['{job="api"}'] },
    {
      name: 'several: labels sorted, without __name__',
      labels: [
        { __name__: 'up', b: '2', a: '1' },
        { __name__: 'up', b: '3', a: '2' },
      ],
      want: ['{a="1", b="2"}', '{a="2", b="3"}'],
    },
    {
      name: 'several: the labels that differ first',
      labels: [
        { __name__: 'up', ns: 'checkout', pod: 'a' },
        { __name__: 'up', ns: 'checkout', pod: 'b' },
      ],
      want: ['{pod="a", ns="checkout"}', '{pod="b", ns="checkout"}'],
    },
    {
      name: 'several that would read the same: with __name__',
      labels: [
        { __name__: 'x', job: 'a' },
        { __name__: 'y', job: 'a' },
      ],
      want: ['x{job="a"}', 'y{job="a"}'],
    },
    { name: 'several with only __name__', labels: [{ __name__: 'x' }, { __name__: 'y' }], want: ['x', 'y'] },
    { name: 'quotes in values are escaped', labels: [{ msg: 'say "hi"' }], want: ['{msg="say \\"hi\\""}'] },
    {
      name: 'clipped to 80 characters',
      labels: [{ pod: 'p'.repeat(100) }],
      want: [`{pod="${'p'.repeat(73)}…`],
    },
  ])('names: $name', ({ labels, want }) => {
    const chart = fromMatrix(
      labels.map((l, i) => ({ labels: l, values: [[S, want.length - i]] })),
      'sum(rate(x[5m]))',
    );
    expect(chart.series.map((s) => s.name)).toEqual(want);
    expect(Array.from(chart.series[0]!.name).length).toBeLessThanOrEqual(80);
  });

  test.each([
    { name: 'empty matrix', matrix: [] },
    { name: 'only NaN', matrix: [{ labels: {}, values: [[S, Number.NaN]] as [number, number][] }] },
    { name: 'only samples outside', matrix: [{ labels: {}, values: [[S + 3600, 1]] as [number, number][] }] },
  ])('$name: no series, missing', ({ matrix }) => {
    const chart = fromMatrix(matrix);
    expect(chart).toMatchObject({ series: [], omittedSeries: 0, missing: 'no samples in the window' });
  });

  test('thresholds are kept (non-finite ones dropped); a window that is no grid is a bug', () => {
    const t: ChartThreshold = { level: 'critical', op: '>=', value: 90, source: 'interpret' };
    const chart = fromMatrix([{ labels: {}, values: [[S, 1]] }], 'q', [
      t,
      { ...t, value: Number.NaN, level: 'warning' },
    ]);
    expect(chart.thresholds).toEqual([t]);
    const tooLong = { from: NOON, to: NOON + 240 * MIN, step: MIN };
    expect(() =>
      chartFromMatrix({ kind: 'metric', query: 'q', window: tooLong, matrix: [], thresholds: [] }),
    ).toThrow(FirelineError);
  });
});

test('missingChart: no series, the reason, the same grid', () => {
  const chart = missingChart({
    kind: 'log_count',
    query: '{app="api"} |= "error"',
    window: WINDOW,
    thresholds: [],
    reason: 'prometheus: HTTP 503',
  });
  expect(chart).toEqual({
    v: 1,
    kind: 'log_count',
    query: '{app="api"} |= "error"',
    from: NOON,
    step: MIN,
    to: NOON + 4 * MIN,
    series: [],
    omittedSeries: 0,
    thresholds: [],
    missing: 'prometheus: HTTP 503',
  });
});

describe('thresholdsFromInterpret', () => {
  const one = (expression: string) => thresholdsFromInterpret({ critical: expression });
  test.each([
    ['value >= 90', '>=', 90],
    ['value > 0.5', '>', 0.5],
    ['value >= -1', '>=', -1],
    ['value > 1e3', '>', 1000],
    ['value < 2.5E-3', '<', 0.0025],
    ['value <= .5', '<=', 0.5],
    ['  value>90  ', '>', 90],
    ['90 < value', '>', 90],
    ['90 <= value', '>=', 90],
    ['-5 > value', '<', -5],
    ['0.1 >= value', '<=', 0.1],
    ['(value > 90)', '>', 90],
    ['((value > 90))', '>', 90],
    ['(value) >= (90)', '>=', 90],
    ['( 90 ) < ( value )', '>', 90],
    ['value\n>\t+7', '>', 7],
    ['!empty && value >= 5', '>=', 5],
    ['! empty&&(value < 50)', '<', 50],
  ])('%j → value %s %d', (expression, op, value) => {
    expect(one(expression)).toEqual([{ level: 'critical', op, value, source: 'interpret' }]);
  });

  test.each([
    'empty || value < 1',
    '!empty && value >= 5 && value < 9',
    'value >= 5 && !empty',
    'value == 1',
    'value != 1',
    'value > 1 && value < 5',
    'exit_code > 0',
    'value.p99 > 1',
    'max(value) > 1',
    'value > other',
    '1 < 2',
    'value < value',
    'value > 90u',
    'value > 0x10',
    'value => 90',
    'value >> 90',
    'value > (90',
    'value > 90)',
    '(value > 90',
    'value - 1 > 0',
    'value > - 1',
    'value > 1e999',
    'value > "90"',
    'value',
    '',
  ])('%j → nothing', (expression) => {
    expect(one(expression)).toEqual([]);
  });

  test('each level on its own, in the order critical, warning, healthy', () => {
    expect(
      thresholdsFromInterpret({
        healthy: 'value < 50',
        warning: 'value >= 80 || empty',
        critical: '95 <= value',
      }),
    ).toEqual([
      { level: 'critical', op: '>=', value: 95, source: 'interpret' },
      { level: 'healthy', op: '<', value: 50, source: 'interpret' },
    ]);
  });
});

/** Deterministic values spread over 1e-9..1e12, with some gaps. */
function extremeSeries(seed: number): (number | null)[] {
  return Array.from({ length: MAX_POINTS }, (_, i) => {
    if ((i + seed) % 37 === 0) return null;
    const x = Math.abs(Math.sin(i * 12.9898 + seed * 78.233));
    return 10 ** (-9 + 21 * x);
  });
}

function worstCase(name: (i: number) => string): Chart {
  return {
    v: 1,
    kind: 'metric',
    query: `sum by (pod) (rate(http_requests_total{job="api",code=~"5.."}[5m])) / ${'x'.repeat(240)}`,
    from: NOON,
    step: 15_000,
    to: NOON + 15_000 * (MAX_POINTS - 1),
    series: Array.from({ length: MAX_SERIES }, (_, i) => ({ name: name(i), points: extremeSeries(i) })),
    omittedSeries: 12,
    thresholds: [
      { level: 'critical', op: '>=', value: 1e11, source: 'interpret' },
      { level: 'warning', op: '>=', value: 5e10, source: 'interpret' },
      { level: 'healthy', op: '<', value: 1e-3, source: 'runbook' },
    ],
  };
}

/** decode(encode(c)) is c, each point within (max − min) / 4095 of its series' range. */
function expectRoundTrip(chart: Chart, decoded: Chart) {
  const { series: got, ...rest } = decoded;
  const { series: want, ...wantRest } = chart;
  expect(rest).toEqual(wantRest);
  expect(got.map((s) => s.name)).toEqual(want.map((s) => s.name));
  want.forEach((s, i) => {
    const finite = s.points.filter((p): p is number => p !== null);
    const tolerance = finite.length ? (Math.max(...finite) - Math.min(...finite)) / 4095 : 0;
    s.points.forEach((p, k) => {
      const q = got[i]!.points[k];
      if (p === null) expect(q, `series ${i} point ${k}`).toBeNull();
      else expect(Math.abs(q! - p), `series ${i} point ${k}: ${q} for ${p}`).toBeLessThanOrEqual(tolerance);
    });
  });
}

describe('encodeChart / decodeChart', () => {
  test('worst case (5 × 240 points, 80-character names, 1e-9..1e12) fits whole', () => {
    const chart = worstCase((i) => `{pod="${String(i).repeat(72)}"}`);
    expect(chart.series.every((s) => s.name.length === 80)).toBe(true);
    const text = encodeChart(chart);
    expect(bytes(text)).toBeLessThanOrEqual(MAX_STORED_BYTES);
    expectRoundTrip(chart, decodeChart(text));
  });

  test.each([
    { name: '4-byte characters: every 2nd point', char: '😀', series: 5 },
    {
      name: 'control characters (6 bytes in JSON): every 2nd point and fewer series',
      char: '\u0001',
      series: 4,
    },
  ])('too large, names of $name; never over the limit', ({ char, series }) => {
    const chart = worstCase((i) => `${i}${char.repeat(79)}`);
    const text = encodeChart(chart);
    expect(bytes(text)).toBeLessThanOrEqual(MAX_STORED_BYTES);
    const decoded = decodeChart(text);
    expect(decoded.step).toBe(chart.step * 2);
    expect(decoded.to).toBe(chart.from + chart.step * 2 * (MAX_POINTS / 2 - 1));
    expect(decoded.series).toHaveLength(series);
    expect(decoded.omittedSeries).toBe(chart.omittedSeries + MAX_SERIES - series);
    const halved: Chart = {
      ...chart,
      ...{ step: decoded.step, to: decoded.to, omittedSeries: decoded.omittedSeries },
      series: chart.series
        .slice(0, series)
        .map((s) => ({ name: s.name, points: s.points.filter((_, k) => k % 2 === 0) })),
    };
    expectRoundTrip(halved, decoded);
  });

  test.each<{ name: string; chart: Chart }>([
    {
      name: 'no series (missing)',
      chart: missingChart({
        kind: 'metric',
        query: 'up',
        window: WINDOW,
        thresholds: [],
        reason: 'HTTP 503',
      }),
    },
    {
      name: 'one point',
      chart: { ...worstCase(() => 'a'), to: NOON, series: [{ name: 'a', points: [42] }], omittedSeries: 0 },
    },
    {
      name: 'all equal, negative and gaps',
      chart: {
        ...worstCase(() => 'a'),
        series: [{ name: 'a', points: extremeSeries(0).map((p) => (p === null ? null : -3.25)) }],
      },
    },
    {
      name: 'all gaps',
      chart: { ...worstCase(() => 'a'), series: [{ name: 'a', points: new Array(MAX_POINTS).fill(null) }] },
    },
    {
      name: 'huge magnitudes ±1e308',
      chart: {
        ...worstCase(() => 'a'),
        to: NOON + 15_000 * 2,
        series: [{ name: 'a', points: [-1.7e308, 0, 1.7e308] }],
      },
    },
  ])('degenerate: $name round-trips', ({ chart }) => {
    const text = encodeChart(chart);
    expect(bytes(text)).toBeLessThanOrEqual(MAX_STORED_BYTES);
    expectRoundTrip(chart, decodeChart(text));
  });

  test('degenerate: texts far too long are clipped, and it still fits', () => {
    const chart: Chart = {
      ...missingChart({ kind: 'metric', query: 'q', window: WINDOW, thresholds: [], reason: 'r' }),
      query: '"\u0001'.repeat(5000),
      missing: '€'.repeat(5000),
      thresholds: Array.from({ length: 500 }, (_, i) => ({
        level: 'warning' as const,
        op: '>' as const,
        value: i + 0.123456789,
        source: 'runbook' as const,
      })),
    };
    const text = encodeChart(chart);
    expect(bytes(text)).toBeLessThanOrEqual(MAX_STORED_BYTES);
    const decoded = decodeChart(text);
    expect(decoded.missing).toBeDefined();
    expect(decoded.thresholds.length).toBeLessThanOrEqual(6);
  });

  test.each([
    ['not JSON', 'nope'],
    ['an empty object', '{}'],
    ['an unknown field', '{"v":1,"k":"metric","q":"","f":0,"s":1000,"t":0,"o":0,"h":[],"d":[],"x":1}'],
    ['no grid', '{"v":1,"k":"metric","q":"","f":0,"s":1000,"t":500,"o":0,"h":[],"d":[]}'],
    ['too many points', '{"v":1,"k":"metric","q":"","f":0,"s":1,"t":240,"o":0,"h":[],"d":[]}'],
    [
      'a bad point code',
      '{"v":1,"k":"metric","q":"","f":0,"s":1000,"t":1000,"o":0,"h":[],"d":[["a",0,1,"A!.."]]}',
    ],
    [
      'too few points',
      '{"v":1,"k":"metric","q":"","f":0,"s":1000,"t":2000,"o":0,"h":[],"d":[["a",0,1,"AA."]]}',
    ],
  ])('decodeChart throws on %s', (_, text) => {
    expect(() => decodeChart(text)).toThrow(/stored chart/);
  });
});

describe('chartMarkers', () => {
  test('alert start, opening and the remediation steps, in time order', () => {
    const markers = chartMarkers({
      alertStartedAt: '2024-05-01T11:58:00Z',
      incidentCreatedAt: '2024-05-01T12:00:05Z',
      events: [
        { type: 'incident.opened', at: '2024-05-01T12:00:05Z', message: 'opened' },
        {
          type: 'remediation.verified',
          at: '2024-05-01T12:09:00Z',
          message: 'v',
          data: { stepId: 'restart', healthy: true },
        },
        {
          type: 'remediation.started',
          at: '2024-05-01T12:05:00Z',
          message: 's',
          data: { stepId: 'restart' },
        },
        {
          type: 'remediation.succeeded',
          at: '2024-05-01T12:06:30Z',
          message: 'ok',
          data: { stepId: 'restart' },
        },
        {
          type: 'remediation.failed',
          at: '2024-05-01T12:07:00Z',
          message: 'no',
          data: { stepId: 'scale-up' },
        },
        { type: 'remediation.outcome_unknown', at: '2024-05-01T12:08:00Z', message: '?' },
        { type: 'remediation.started', at: 'not a time', message: 'x', data: { stepId: 'lost' } },
        { type: 'note', at: '2024-05-01T12:03:00Z', message: 'a note' },
        {
          type: 'remediation.started',
          at: '2024-05-01T12:10:00Z',
          message: 's',
          data: { stepId: `rollback-${'x'.repeat(60)}` },
        },
      ],
    });
    expect(markers).toEqual([
      { at: Date.UTC(2024, 4, 1, 11, 58), kind: 'alert_started', label: 'alert started' },
      { at: Date.UTC(2024, 4, 1, 12, 0, 5), kind: 'incident_opened', label: 'incident opened' },
      { at: Date.UTC(2024, 4, 1, 12, 5), kind: 'remediation_started', label: 'restart started' },
      { at: Date.UTC(2024, 4, 1, 12, 6, 30), kind: 'remediation_finished', label: 'restart succeeded' },
      { at: Date.UTC(2024, 4, 1, 12, 7), kind: 'remediation_finished', label: 'scale-up failed' },
      { at: Date.UTC(2024, 4, 1, 12, 8), kind: 'remediation_finished', label: 'remediation outcome unknown' },
      { at: Date.UTC(2024, 4, 1, 12, 9), kind: 'verify', label: 'restart verified healthy' },
      {
        at: Date.UTC(2024, 4, 1, 12, 10),
        kind: 'remediation_started',
        label: `rollback-${'x'.repeat(22)}… started`,
      },
    ]);
    expect(markers.every((m) => m.label.length <= 40)).toBe(true);
  });

  test('no alert start: only what the timeline has', () => {
    expect(
      chartMarkers({ alertStartedAt: undefined, incidentCreatedAt: '2024-05-01T12:00:00Z', events: [] }),
    ).toEqual([{ at: NOON, kind: 'incident_opened', label: 'incident opened' }]);
  });
});
