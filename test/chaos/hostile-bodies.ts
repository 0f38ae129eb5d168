import fc from 'fast-check';

/**
 * fast-check arbitraries of malformed and hostile webhook requests: near-valid Alertmanager and
 * Grafana groups with wrong types and hostile strings, random JSON, deep nesting, bodies that are
 * not JSON, bodies over the limit, odd content types and encodings.
 */

/** Strings that would do harm if a label value reached a shell, PromQL, SQL or a template. */
export function hostileStrings(touchPath: string): string[] {
  return [
    `$(touch ${touchPath})`,
    `\`touch ${touchPath}\``,
    `; touch ${touchPath}`,
    `| touch ${touchPath}`,
    `&& touch ${touchPath} #`,
    `\ntouch ${touchPath}\n`,
    `' ; touch ${touchPath} ; '`,
    `"} or vector(1)`,
    `"} or vector(1) #`,
    `.*"} or up{job=~".*`,
    `'; DROP TABLE x; --`,
    `' OR '1'='1`,
    '{{ alert.labels.instance }}',
    '{{ incident.id }}',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, sent as is
    '${PATH}',
    '\u0000',
    'a\u0000b',
    '\u202Egnp.exe',
    '\u2028\u2029',
    '🔥💥',
    '\uD800',
    'e\u0301\u0301\u0301',
    '../../../../etc/passwd',
    '\r\nX-Injected: 1',
    '%0d%0aSet-Cookie: x=1',
    '<script>alert(1)</script>',
    '__proto__',
    'constructor',
    'prototype',
  ];
}

/** Label names that are prototype keys, reserved or plain. */
const KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'alertname', 'instance'];

/** A string of `n` characters, for values at and past the sizes that matter (argv, body limit). */
const big = fc.constantFrom(1_000, 20_000, 140_000).map((n) => 'A'.repeat(n));

function texts(touchPath: string) {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...hostileStrings(touchPath)) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: big },
  );
}

/** Any JSON value that is not the string expected: numbers, booleans, null, arrays, objects. */
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

/** `arb`, or when `wrong`, one time in seven a value of the wrong type. */
function maybeWrong<T>(arb: fc.Arbitrary<T>, wrong: boolean) {
  return wrong ? fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: wrongType }) : arb;
}

/** An object whose keys may be `__proto__` & co as own properties (as JSON.parse makes them). */
function stringMap(touchPath: string, alertname: boolean, wrong: boolean) {
  const key = fc.oneof(fc.constantFrom(...KEYS), fc.constantFrom(...hostileStrings(touchPath)), fc.string());
  return fc
    .tuple(
      fc.array(fc.tuple(key, maybeWrong(texts(touchPath), wrong)), { maxLength: 6 }),
      fc.boolean(),
      maybeWrong(texts(touchPath), wrong),
    )
    .map(([entries, matching, instance]) => {
      const labels = Object.fromEntries(entries);
      if (!alertname) return labels;
      // Most alerts match the runbook, so hostile values reach its diagnostic as well.
      return Object.fromEntries([
        ...entries,
        ['alertname', matching ? 'FuzzAlert' : 'Other'],
        ['instance', instance],
      ]);
    });
}

const validTimes = fc.oneof(
  fc.constant('2024-05-01T10:00:00Z'),
  fc.constant('0001-01-01T00:00:00Z'),
  fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()),
);
const anyTimes = fc.oneof(validTimes, fc.string({ maxLength: 30 }));

/**
 * An alert; with `wrong`, any field may also have the wrong type or an invalid value. Without it,
 * the shape is valid and only the contents are hostile, so the alert gets through to intake.
 */
function alert(touchPath: string, wrong: boolean) {
  const text = maybeWrong(texts(touchPath), wrong);
  const statuses = wrong ? ['firing', 'resolved', 'pending', ''] : ['firing', 'firing', 'resolved'];
  return fc.record(
    {
      status: maybeWrong(fc.constantFrom(...statuses), wrong),
      labels: maybeWrong(stringMap(touchPath, true, wrong), wrong),
      annotations: maybeWrong(stringMap(touchPath, false, wrong), wrong),
      startsAt: maybeWrong(wrong ? anyTimes : validTimes, wrong),
      endsAt: maybeWrong(wrong ? anyTimes : validTimes, wrong),
      generatorURL: text,
      fingerprint: text,
      values: maybeWrong(
        fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.double(), fc.constant(null))),
        wrong,
      ),
      valueString: text,
    },
    { requiredKeys: ['labels', 'startsAt', 'status'] },
  );
}

/** An Alertmanager/Grafana group of hostile contents; with `wrong`, of wrong types too. */
function group(touchPath: string, wrong: boolean) {
  const text = maybeWrong(texts(touchPath), wrong);
  const map = maybeWrong(stringMap(touchPath, false, wrong), wrong);
  return fc.record(
    {
      version: maybeWrong(fc.constantFrom('4', '3', '1'), wrong),
      groupKey: text,
      truncatedAlerts: maybeWrong(fc.integer({ min: wrong ? -2 : 0, max: 5 }), wrong),
      status: maybeWrong(fc.constantFrom('firing', 'resolved', ...(wrong ? ['nope'] : [])), wrong),
      state: maybeWrong(fc.constantFrom('alerting', 'ok', 'pending'), wrong),
      receiver: text,
      groupLabels: map,
      commonLabels: map,
      commonAnnotations: map,
      externalURL: text,
      orgId: maybeWrong(fc.integer(), wrong),
      title: text,
      alerts: maybeWrong(
        fc.array(alert(touchPath, wrong), { minLength: wrong ? 0 : 1, maxLength: 3 }),
        wrong,
      ),
    },
    { requiredKeys: ['alerts', 'status'] },
  );
}

/** One request: where it goes, its headers and its raw body. */
export interface FuzzRequest {
  endpoint: 'alertmanager' | 'grafana';
  auth: 'ingest' | 'none' | 'bad' | 'viewer';
  contentType: string;
  contentEncoding: string | null;
  body: string | Uint8Array;
}

/** Bodies: mostly near-valid groups, then random JSON, deep nesting, non-JSON, over-limit. */
export function fuzzRequest(touchPath: string, bodyLimitBytes: number): fc.Arbitrary<FuzzRequest> {
  const deep = fc
    .tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean())
    .map(([depth, arrays]) =>
      arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    );
  const deepInGroup = fc
    .integer({ min: 50, max: 5_000 })
    .map(
      (d) =>
        `{"status":"firing","alerts":[{"startsAt":"2024-05-01T10:00:00Z","labels":${'['.repeat(d)}${']'.repeat(d)}}]}`,
    );
  const body = fc.oneof(
    { weight: 8, arbitrary: group(touchPath, false).map((g) => JSON.stringify(g)) },
    { weight: 6, arbitrary: group(touchPath, true).map((g) => JSON.stringify(g)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: deepInGroup },
    {
      weight: 1,
      arbitrary: group(touchPath, true).chain((g) => {
        const text = JSON.stringify(g);
        return fc.nat({ max: text.length }).map((cut) => text.slice(0, cut));
      }),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc
        .nat({ max: 1000 })
        .map((n) => JSON.stringify({ alerts: [], x: 'A'.repeat(bodyLimitBytes + n) })),
    },
  );
  return fc.record({
    endpoint: fc.constantFrom('alertmanager', 'grafana'),
    auth: fc.oneof(
      { weight: 20, arbitrary: fc.constant('ingest' as const) },
      fc.constantFrom('none' as const, 'bad' as const, 'viewer' as const),
    ),
    contentType: fc.oneof(
      { weight: 20, arbitrary: fc.constant('application/json') },
      fc.constantFrom(
        'text/plain',
        'application/json; charset=utf-16',
        'application/x-www-form-urlencoded',
        'application/vnd.api+json',
        'application/json; charset=latin1',
      ),
    ),
    contentEncoding: fc.oneof(
      { weight: 20, arbitrary: fc.constant(null) },
      fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'identity'),
    ),
    body,
  });
}
