import { describe, expect, test } from 'vitest';
import { type Chart, type ChartMarker, missingChart } from '../../src/engine/chart.ts';
import { formatCompact, niceTicks, tickLabels, timeTicks } from '../../src/engine/chart-scale.ts';
import { chartSummary, renderChartSvg } from '../../src/engine/chart-svg.ts';

const MIN = 60_000;
/** 2024-05-01T12:00:00Z */
const NOON = Date.UTC(2024, 4, 1, 12, 0, 0);
const HOSTILE = `</text><script>alert(1)</script>&"'`;

/** 12:00..12:45, a point a minute, latency climbing over the critical line with a gap. */
const CHART: Chart = {
  v: 1,
  kind: 'metric',
  query: 'histogram_quantile(0.99, rate(http_duration_seconds_bucket{service="payment"}[5m]))',
  from: NOON,
  step: MIN,
  to: NOON + 45 * MIN,
  series: [
    {
      name: '{pod="pay-1"}',
      points: Array.from({ length: 46 }, (_, i) => (i >= 20 && i < 23 ? null : 0.2 + (i / 45) * 0.73)),
    },
    { name: HOSTILE, points: Array.from({ length: 46 }, (_, i) => (i === 30 ? 0.4 : i % 2 ? 0.1 : null)) },
  ],
  omittedSeries: 3,
  thresholds: [
    { level: 'critical', op: '>=', value: 0.5, source: 'interpret' },
    { level: 'warning', op: '>', value: 0.48, source: 'runbook' },
    { level: 'healthy', op: '<', value: 0.3, source: 'interpret' },
  ],
};

const MARKERS: ChartMarker[] = [
  { at: NOON + 10 * MIN, kind: 'alert_started', label: 'alert started' },
  { at: NOON + 10 * MIN + 20_000, kind: 'incident_opened', label: 'incident opened' },
  { at: NOON + 12 * MIN, kind: 'remediation_started', label: HOSTILE },
  { at: NOON + 44 * MIN, kind: 'verify', label: 'restart verified healthy' },
  { at: NOON + 90 * MIN, kind: 'remediation_finished', label: 'after the window' },
];

function render(chart = CHART, theme: 'light' | 'dark' = 'light', markers = MARKERS): string {
  return renderChartSvg(chart, markers, { title: `payment p99 latency ${HOSTILE}`, theme });
}

/**
 * A small XML well-formedness check (no dependency): one root element, tags balanced and
 * properly nested, attributes quoted and not repeated, `<` never in text or attribute values, and
 * every `&` one of the five named entities or a character reference. Returns the element names.
 */
function checkXml(doc: string): string[] {
  const elements: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not well-formed at ${i}: ${why}: ${doc.slice(Math.max(0, i - 30), i + 30)}`);
  };
  const checkEntities = (text: string) => {
    let at = text.indexOf('&');
    while (at !== -1) {
      const end = text.indexOf(';', at);
      const name = end === -1 ? '' : text.slice(at + 1, end);
      const named = ['amp', 'lt', 'gt', 'quot', 'apos'].includes(name);
      const numeric = name.startsWith('#') && name.length > 1 && !Number.isNaN(Number(`0${name.slice(1)}`));
      if (!named && !numeric) fail(`bad entity &${name}`);
      at = text.indexOf('&', at + 1);
    }
  };
  const isNameChar = (c: string) =>
    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || '-_:.'.includes(c);
  const readName = () => {
    const start = i;
    while (i < doc.length && isNameChar(doc[i]!)) i++;
    if (i === start) fail('expected a name');
    return doc.slice(start, i);
  };
  const skipSpace = () => {
    while (i < doc.length && ' \n\t\r'.includes(doc[i]!)) i++;
  };
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt === -1 ? doc.length : lt);
    if (stack.length === 0 && text.trim() !== '') fail('text outside the root');
    checkEntities(text);
    if (lt === -1) break;
    i = lt;
    if (doc.startsWith('<?', i)) {
      i = doc.indexOf('?>', i) + 2;
      continue;
    }
    if (doc.startsWith('<!--', i)) {
      i = doc.indexOf('-->', i) + 3;
      continue;
    }
    if (doc[i + 1] === '/') {
      i += 2;
      const name = readName();
      skipSpace();
      if (doc[i] !== '>') fail('expected > after an end tag');
      if (stack.pop() !== name) fail(`</${name}> does not close the open element`);
      i++;
      continue;
    }
    i++;
    const name = readName();
    if (stack.length === 0 && ++roots > 1) fail('a second root');
    elements.push(name);
    const seen = new Set<string>();
    for (;;) {
      skipSpace();
      if (doc.startsWith('/>', i)) {
        i += 2;
        break;
      }
      if (doc[i] === '>') {
        stack.push(name);
        i++;
        break;
      }
      const attr = readName();
      if (seen.has(attr)) fail(`attribute ${attr} twice`);
      seen.add(attr);
      if (doc[i] !== '=') fail(`attribute ${attr} without a value`);
      const quote = doc[i + 1];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attr} not quoted`);
      const end = doc.indexOf(quote!, i + 2);
      if (end === -1) fail('unterminated attribute');
      const value = doc.slice(i + 2, end);
      if (value.includes('<')) fail('< in an attribute value');
      checkEntities(value);
      i = end + 1;
    }
  }
  if (stack.length) fail(`unclosed ${stack.join(' > ')}`);
  if (roots !== 1) fail('no root element');
  return elements;
}

describe('checkXml (the test helper itself)', () => {
  test.each([
    '<a><b></a></b>',
    '<a>1 < 2</a>',
    '<a x="1" x="2"/>',
    '<a>&nope;</a>',
    '<a/><b/>',
    '<a><b>',
    '<a x=1/>',
  ])('rejects %j', (doc) => {
    expect(() => checkXml(doc)).toThrow(/not well-formed/);
  });
  test('accepts a small document', () => {
    expect(checkXml('<?xml version="1.0"?>\n<a x="&amp;"><b/>t &lt; &#8805;</a>\n')).toEqual(['a', 'b']);
  });
});

describe('renderChartSvg', () => {
  test('is one well-formed SVG document with no script, no external reference', () => {
    const svg = render();
    const elements = checkXml(svg);
    expect(elements[0]).toBe('svg');
    expect(svg).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" version="1\.1" width="720" height="260" viewBox="0 0 720 260"/,
    );
    expect(new Set(elements)).toEqual(
      new Set(['svg', 'title', 'desc', 'rect', 'text', 'line', 'polyline', 'circle']),
    );
    expect(svg).not.toMatch(/href|<script|url\(|<image|<foreignObject/i);
  });

  test('untrusted text is escaped everywhere', () => {
    const svg = render();
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('</text><script');
    expect(svg).toContain('&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&apos;');
    const odd = renderChartSvg(
      missingChart({
        kind: 'metric',
        query: 'q',
        window: { from: NOON, to: NOON, step: MIN },
        thresholds: [],
        reason: `bad\u0001\ud800 ${HOSTILE}`,
      }),
      [],
      { title: 't', theme: 'dark' },
    );
    checkXml(odd);
    expect(odd).not.toContain('\u0001');
    expect(odd).not.toContain('<script>');
  });

  test('threshold lines are labelled on the right, in their colours', () => {
    const svg = render();
    expect(svg).toContain('>critical ≥ 0.5</text>');
    expect(svg).toContain('>warning &gt; 0.48</text>');
    expect(svg).toContain('>healthy &lt; 0.3</text>');
    expect(svg).toMatch(/<line [^>]*stroke="#dc2626" stroke-width="1.2" stroke-dasharray="6 4"\/>/);
    // 0.48 and 0.5 are close: their labels are pushed at least a line apart.
    const ys = ['critical', 'warning'].map((level) =>
      Number(svg.match(new RegExp(`y="([\\d.]+)"[^>]*>${level} `))![1]),
    );
    expect(Math.abs(ys[0]! - ys[1]!)).toBeGreaterThanOrEqual(11);
  });

  test('a healthy rule on the same boundary as an alarm draws no second line', () => {
    const thresholds: Chart['thresholds'] = [
      { level: 'critical', op: '>=', value: 90, source: 'interpret' },
      { level: 'healthy', op: '<', value: 90, source: 'interpret' },
    ];
    const svg = render({ ...CHART, thresholds });
    expect(svg).toContain('>critical ≥ 90</text>');
    expect(svg).not.toContain('>healthy &lt; 90<');
  });

  test('a marker label that would cross another is left out; its line keeps it as a title', () => {
    const crowded: ChartMarker[] = Array.from({ length: 8 }, (_, i) => ({
      at: CHART.from + 10 * MIN + i * 1000,
      kind: 'remediation_started',
      label: `step-${i} started`,
    }));
    const svg = render(CHART, 'light', crowded);
    const shown = crowded.filter((m) => svg.includes(`>${m.label}</text>`));
    const titled = crowded.filter((m) => svg.includes(`<title>${m.label}</title>`));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length + titled.length).toBe(crowded.length);
    expect(titled.length).toBeGreaterThan(0);
  });

  test('markers in the window are drawn with their labels, staggered; others are left out', () => {
    const svg = render();
    for (const label of ['alert started', 'incident opened', 'restart verified healthy']) {
      expect(svg).toContain(`>${label}</text>`);
    }
    expect(svg).not.toContain('after the window');
    const y = (label: string) => Number(svg.match(new RegExp(`y="([\\d.]+)"[^>]*>${label}<`))![1]);
    expect(y('incident opened')).not.toBe(y('alert started'));
  });

  test('series: gaps break the line, a lone point is a dot, a legend names them, a note counts the rest', () => {
    const svg = render();
    // pay-1: two runs around its gap; the other: one run (points 29–31), 21 lone points.
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    expect(svg.match(/<circle /g)).toHaveLength(21);
    expect(svg).toContain('>{pod=&quot;pay-1&quot;}</text>');
    expect(svg).toContain('>+3 more series</text>');
    const single = render({ ...CHART, series: CHART.series.slice(0, 1), omittedSeries: 0 });
    expect(single).not.toContain('pay-1');
    expect(single).not.toContain('more series');
  });

  test('axes: 4–6 value labels and 4–6 UTC times', () => {
    const svg = render();
    const times = [...svg.matchAll(/>(\d\d:\d\d)<\/text>/g)].map((m) => m[1]);
    expect(times).toEqual(['12:00', '12:10', '12:20', '12:30', '12:40']);
    const values = [...svg.matchAll(/text-anchor="end">([-\d.]+[kMGT]?)<\/text>/g)].map((m) => m[1]);
    expect(values.length).toBeGreaterThanOrEqual(4);
    expect(values.length).toBeLessThanOrEqual(6);
  });

  test('coordinates have at most one decimal', () => {
    const svg = render();
    const numbers = [...svg.matchAll(/ (?:x|y|x1|y1|x2|y2|cx|cy)="([^"]*)"/g)].map((m) => m[1]!);
    numbers.push(...[...svg.matchAll(/points="([^"]*)"/g)].flatMap((m) => m[1]!.split(/[ ,]/)));
    expect(numbers.length).toBeGreaterThan(100);
    expect(numbers.filter((n) => !/^-?\d+(\.\d)?$/.test(n))).toEqual([]);
  });

  test('light and dark differ in background and text', () => {
    const light = render(CHART, 'light');
    const dark = render(CHART, 'dark');
    expect(light).toContain('fill="#ffffff"');
    expect(dark).toContain('fill="#0f172a"');
    expect(dark).not.toContain('fill="#ffffff"');
    expect(light).toContain('fill="#1f2937"');
    expect(dark).toContain('fill="#e2e8f0"');
  });

  test('missing: the title and a centred "No data:" message, no lines', () => {
    const chart = missingChart({
      kind: 'metric',
      query: 'up',
      window: { from: NOON, to: NOON + 45 * MIN, step: MIN },
      thresholds: CHART.thresholds,
      reason: 'prometheus: HTTP 503 <html>',
    });
    const svg = renderChartSvg(chart, MARKERS, { title: 'payment p99 latency', theme: 'dark' });
    checkXml(svg);
    expect(svg).toContain('text-anchor="middle">No data: prometheus: HTTP 503 &lt;html&gt;</text>');
    expect(svg).toContain('>payment p99 latency</text>');
    expect(svg).not.toContain('<polyline');
  });

  test('deterministic, and sized by the options', () => {
    expect(render()).toBe(render());
    const small = renderChartSvg(CHART, MARKERS, { title: 'x', theme: 'light', width: 400, height: 200 });
    expect(small).toContain('width="400" height="200" viewBox="0 0 400 200"');
    checkXml(small);
  });

  test('a long title is clipped to the width', () => {
    const svg = renderChartSvg(CHART, [], { title: 'a'.repeat(500), theme: 'light' });
    const title = svg.match(/font-weight="bold">([^<]*)</)![1]!;
    expect(title.endsWith('…')).toBe(true);
    expect(title.length * 13 * 0.6).toBeLessThanOrEqual(720);
  });

  test('flat data and one point: a range around the value', () => {
    const flat: Chart = {
      ...CHART,
      to: NOON,
      series: [{ name: 'a', points: [7] }],
      thresholds: [],
      omittedSeries: 0,
    };
    const svg = renderChartSvg(flat, [], { title: 't', theme: 'light' });
    checkXml(svg);
    expect(svg).toContain('<circle cx="');
    expect(svg).toContain('>7</text>');
  });
});

describe('chartSummary', () => {
  test.each<{ name: string; chart: Chart; want: string }>([
    {
      name: 'last value and the level it meets',
      chart: { ...CHART, series: CHART.series.slice(0, 1), omittedSeries: 0 },
      want: 'payment p99 latency: 1 series, 12:00–12:45 UTC, last 0.93 (critical ≥ 0.5)',
    },
    {
      name: 'omitted series, healthy',
      chart: { ...CHART, series: [{ name: 'a', points: [0.1, 0.2, null] }] },
      want: 'payment p99 latency: 1 series (+3 more), 12:00–12:45 UTC, last 0.2 (healthy < 0.3)',
    },
    {
      name: 'no threshold met',
      chart: { ...CHART, thresholds: [], series: [{ name: 'a', points: [1234.5] }], omittedSeries: 0 },
      want: 'payment p99 latency: 1 series, 12:00–12:45 UTC, last 1.23k',
    },
    {
      name: 'missing',
      chart: missingChart({
        kind: 'metric',
        query: 'up',
        window: { from: NOON, to: NOON, step: MIN },
        thresholds: [],
        reason: 'timeout',
      }),
      want: 'payment p99 latency: no data (timeout), 12:00–12:00 UTC',
    },
  ])('$name', ({ chart, want }) => {
    expect(chartSummary(chart, 'payment p99 latency')).toBe(want);
  });

  test('without a title: the query, on one line', () => {
    const chart = { ...CHART, query: 'rate(x[5m])\n/ 2' };
    expect(chartSummary(chart).startsWith('rate(x[5m]) / 2: 2 series (+3 more)')).toBe(true);
  });
});

describe('axis arithmetic', () => {
  test.each([
    [0, '0'],
    [0.05, '0.05'],
    [0.93, '0.93'],
    [1, '1'],
    [12.345, '12.3'],
    [999, '999'],
    [1234, '1.23k'],
    [999_600, '1M'],
    [3_400_000, '3.4M'],
    [2.5e9, '2.5G'],
    [7e12, '7T'],
    [-1500, '-1.5k'],
    [1e-9, '1e-9'],
    [1.5e-7, '1.5e-7'],
    [0.0012, '0.0012'],
  ])('formatCompact(%d) = %s', (value, want) => {
    expect(formatCompact(value)).toBe(want);
  });

  test('niceTicks gives 4 to 6 round ticks inside the range, for any range', () => {
    const ranges: [number, number][] = [
      [0, 1],
      [0, 0.93],
      [-1, 1],
      [0.17, 0.98],
      [1e-9, 1e12],
      [999, 1001],
      [-3.3, -3.2],
    ];
    for (let k = 1; k < 400; k++)
      ranges.push([Math.sin(k) * 10 ** (k % 7), Math.sin(k) * 10 ** (k % 7) + 1.37 ** (k % 40)]);
    for (const [lo, hi] of ranges) {
      const ticks = niceTicks(lo, hi);
      expect(ticks.length, `${lo}..${hi}: ${ticks}`).toBeGreaterThanOrEqual(4);
      expect(ticks.length, `${lo}..${hi}: ${ticks}`).toBeLessThanOrEqual(6);
      expect(ticks[0]!).toBeGreaterThanOrEqual(lo - 1e-9 * Math.abs(lo));
      expect(ticks.at(-1)!).toBeLessThanOrEqual(hi + 1e-9 * Math.abs(hi));
      expect(new Set(tickLabels(ticks)).size).toBe(ticks.length);
    }
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(tickLabels([1000, 1000.5, 1001])).toEqual(['1k', '1.0005k', '1.001k']);
  });

  test.each([
    { span: 45 * MIN, want: ['12:00', '12:10', '12:20', '12:30', '12:40'] },
    { span: 3 * 60 * MIN, want: ['12:00', '13:00', '14:00', '15:00'] },
    { span: 24 * 60 * MIN, want: ['12:00', '18:00', '00:00', '06:00', '12:00'] },
    { span: 5 * 24 * 60 * MIN, want: ['05-02', '05-03', '05-04', '05-05', '05-06'] },
    { span: 2 * MIN, want: ['12:00:00', '12:00:30', '12:01:00', '12:01:30', '12:02:00'] },
    { span: 0, want: ['12:00'] },
  ])('timeTicks over $span ms', ({ span, want }) => {
    expect(timeTicks(NOON, NOON + span).map((t) => t.label)).toEqual(want);
  });
});
