import { describe, expect, test } from 'vitest';
import { type Runbook, type RunbookInput, RunbookSchema } from '../../src/engine/runbook-schema.ts';
import {
  fingerprintFromLabels,
  incidentKey,
  type Matcher,
  matchTriggers,
  parseMatcher,
  validateTriggerMatchers,
} from '../../src/engine/triggers.ts';
import type { Alert } from '../../src/engine/types.ts';
import { FirelineError } from '../../src/errors.ts';

type Labels = Record<string, string>;

function runbook(id: string, extra: Partial<RunbookInput>): Runbook {
  return RunbookSchema.parse({
    id,
    name: id,
    severity: 'P2',
    service: 'payment',
    triggers: [{ type: 'manual' }],
    diagnostics: [],
    decisionTree: [],
    remediations: [],
    escalation: { primary: '#oncall' },
    ...extra,
  });
}

function alert(labels: Record<string, string>, fingerprint = '0123456789abcdef'): Alert {
  return {
    source: 'alertmanager',
    status: 'firing',
    labels,
    annotations: {},
    fingerprint,
    startsAt: '2024-05-01T03:00:00Z',
  };
}

describe('parseMatcher', () => {
  test.each([
    { s: 'severity="critical"', want: { label: 'severity', op: '=', value: 'critical' } },
    { s: '  namespace != "prod"  ', want: { label: 'namespace', op: '!=', value: 'prod' } },
    { s: 'pod=~"pay-.*"', want: { label: 'pod', op: '=~', value: 'pay-.*' } },
    { s: 'pod!~"canary"', want: { label: 'pod', op: '!~', value: 'canary' } },
    { s: 'x="a\\"b"', want: { label: 'x', op: '=', value: 'a"b' } },
    { s: 'x="a\\\\b"', want: { label: 'x', op: '=', value: 'a\\b' } },
    { s: 'x="a\\nb"', want: { label: 'x', op: '=', value: 'a\nb' } },
    { s: 'x=~"a\\.b"', want: { label: 'x', op: '=~', value: 'a\\.b' } },
    { s: 'x=""', want: { label: 'x', op: '=', value: '' } },
  ] as { s: string; want: Matcher }[])('$s', ({ s, want }) => {
    expect(parseMatcher(s)).toEqual(want);
  });

  test.each(['severity=critical', 'x=="a"', '9x="a"', 'x="a'])('%s is a bug and throws', (s) => {
    expect(() => parseMatcher(s)).toThrow(expect.objectContaining({ code: 'MATCHER_INVALID' }));
    expect(() => parseMatcher(s)).toThrow(FirelineError);
  });
});

describe('matchTriggers', () => {
  const one = (matchers: string[], alertName = 'PaymentSlow') =>
    runbook('rb', { triggers: [{ type: 'alert', alertName, matchers }] });
  test.each([
    { name: 'name only', matchers: [], labels: {}, want: true },
    { name: 'equal', matchers: ['severity="critical"'], labels: { severity: 'critical' }, want: true },
    {
      name: 'equal, other value',
      matchers: ['severity="critical"'],
      labels: { severity: 'warning' },
      want: false,
    },
    {
      name: 'regex is anchored',
      matchers: ['severity=~"crit"'],
      labels: { severity: 'critical' },
      want: false,
    },
    {
      name: 'regex is anchored at the start',
      matchers: ['severity=~"ritical"'],
      labels: { severity: 'critical' },
      want: false,
    },
    {
      name: 'regex with wildcard',
      matchers: ['severity=~"crit.*"'],
      labels: { severity: 'critical' },
      want: true,
    },
    { name: 'alternation anchored as a whole', matchers: ['x=~"a|ab"'], labels: { x: 'ab' }, want: true },
    { name: 'negative regex', matchers: ['env!~"stag.*"'], labels: { env: 'staging' }, want: false },
    { name: 'negative regex, other value', matchers: ['env!~"stag.*"'], labels: { env: 'prod' }, want: true },
    { name: 'absent label equals ""', matchers: ['team=""'], labels: {}, want: true },
    { name: 'absent label is not-equal', matchers: ['team!="core"'], labels: {}, want: true },
    { name: 'absent label matches .*', matchers: ['team=~".*"'], labels: {}, want: true },
    { name: 'absent label fails .+', matchers: ['team=~".+"'], labels: {}, want: false },
    { name: 'all matchers must hold', matchers: ['a="1"', 'b="2"'], labels: { a: '1', b: '3' }, want: false },
    { name: '(?i) flag', matchers: ['severity=~"(?i)CRIT.*"'], labels: { severity: 'critical' }, want: true },
    { name: '(?m) cannot loosen anchoring', matchers: ['x=~"(?m)a"'], labels: { x: 'a\nb' }, want: false },
    { name: 'escaped dot is literal', matchers: ['x=~"a\\.b"'], labels: { x: 'axb' }, want: false },
    { name: 'invalid regex never matches', matchers: ['x=~"("'], labels: { x: '(' }, want: false },
    { name: 'prototype label name', matchers: ['constructor=""'], labels: {}, want: true },
  ] as { name: string; matchers: string[]; labels: Labels; want: boolean }[])(
    '$name → $want',
    ({ matchers, labels, want }) => {
      const got = matchTriggers([one(matchers)], alert({ alertname: 'PaymentSlow', ...labels })).length === 1;
      expect(got).toBe(want);
    },
  );

  test('picks runbooks by alert name, each once, in order', () => {
    const runbooks = [
      runbook('a', { triggers: [{ type: 'alert', alertName: 'PaymentSlow' }] }),
      runbook('b', { triggers: [{ type: 'alert', alertName: 'DiskFull' }] }),
      runbook('c', {
        triggers: [
          { type: 'alert', alertName: 'PaymentSlow', matchers: ['severity="critical"'] },
          { type: 'alert', alertName: 'PaymentSlow' },
        ],
      }),
      runbook('d', { triggers: [{ type: 'manual' }] }),
      runbook('e', { triggers: [{ type: 'metric_threshold', metricQuery: 'up', threshold: 1 }] }),
    ];
    const ids = (labels: Record<string, string>) => matchTriggers(runbooks, alert(labels)).map((r) => r.id);
    expect([
      ids({ alertname: 'PaymentSlow', severity: 'critical' }),
      ids({ alertname: 'DiskFull' }),
      ids({}),
    ]).toEqual([['a', 'c'], ['b'], []]);
  });
});

test('validateTriggerMatchers reports regexes that do not compile', () => {
  const rb = runbook('rb', {
    triggers: [
      { type: 'manual' },
      { type: 'alert', alertName: 'X', matchers: ['a="ok"', 'b=~"("', 'c=~"(?U)x"', 'd=~"x+"'] },
    ],
  });
  expect(validateTriggerMatchers(rb).map((i) => [i.path.join('.'), i.message.slice(0, 26)])).toEqual([
    ['triggers.1.matchers.1', 'invalid regex "(": Invalid'],
    ['triggers.1.matchers.2', 'regex flags (?U) are not s'],
  ]);
});

describe('incidentKey', () => {
  const byFingerprint = runbook('payment-slow', {});
  const byService = runbook('payment-slow', { groupBy: ['service', 'cluster'] });
  const all = runbook('payment-slow', { groupBy: [] });
  test.each([
    {
      name: 'same fingerprint, same key',
      a: [byFingerprint, alert({ pod: 'a' }, 'f1')],
      b: [byFingerprint, alert({ pod: 'b' }, 'f1')],
      same: true,
    },
    {
      name: 'other fingerprint, other key',
      a: [byFingerprint, alert({ pod: 'a' }, 'f1')],
      b: [byFingerprint, alert({ pod: 'a' }, 'f2')],
      same: false,
    },
    {
      name: 'groupBy: twelve pods, one incident',
      a: [byService, alert({ service: 'pay', cluster: 'eu', pod: 'p1' }, 'f1')],
      b: [byService, alert({ service: 'pay', cluster: 'eu', pod: 'p12' }, 'f12')],
      same: true,
    },
    {
      name: 'groupBy: other value',
      a: [byService, alert({ service: 'pay', cluster: 'eu' })],
      b: [byService, alert({ service: 'pay', cluster: 'us' })],
      same: false,
    },
    {
      name: 'groupBy: absent label is empty',
      a: [byService, alert({ service: 'pay' })],
      b: [byService, alert({ service: 'pay', cluster: '' })],
      same: true,
    },
    {
      name: 'groupBy: values cannot shift between labels',
      a: [byService, alert({ service: 'pay","eu', cluster: '' })],
      b: [byService, alert({ service: 'pay', cluster: 'eu' })],
      same: false,
    },
    {
      name: 'groupBy: [] is one incident per runbook',
      a: [all, alert({ service: 'a' }, 'f1')],
      b: [all, alert({ service: 'b' }, 'f2')],
      same: true,
    },
    {
      name: 'other runbook, other key',
      a: [byFingerprint, alert({}, 'f1')],
      b: [runbook('disk-full', {}), alert({}, 'f1')],
      same: false,
    },
  ] as { name: string; a: [Runbook, Alert]; b: [Runbook, Alert]; same: boolean }[])(
    '$name',
    ({ a, b, same }) => {
      expect(incidentKey(...a) === incidentKey(...b)).toBe(same);
    },
  );

  test.each([
    {
      name: 'fingerprint',
      rb: byFingerprint,
      labels: {},
      fp: '0123456789abcdef',
      want: 'payment-slow:42c4de4129450ec782925cbf7c5af8f8',
    },
    {
      name: 'groupBy with hostile values',
      rb: byService,
      labels: { service: '{x}\n:*', cluster: 'eu' },
      fp: 'f',
      want: 'payment-slow:e8d6bd97d14d25429c5fd5472ac0685b',
    },
  ] as { name: string; rb: Runbook; labels: Labels; fp: string; want: string }[])(
    '$name: the runbook id and 32 hex digits, nothing from the labels',
    ({ rb, labels, fp, want }) => {
      expect(incidentKey(rb, alert(labels, fp))).toBe(want);
    },
  );
});

describe('fingerprintFromLabels', () => {
  test.each([
    { name: 'no labels', labels: {}, want: 'cbf29ce484222325' },
    {
      name: 'prometheus test vector',
      labels: { name: 'garland, briggs', fear: 'love is not enough' },
      want: '507a62d79ee76c9a',
    },
    {
      name: 'insertion order does not matter',
      labels: { fear: 'love is not enough', name: 'garland, briggs' },
      want: '507a62d79ee76c9a',
    },
    {
      name: 'empty values are left out',
      labels: { name: 'garland, briggs', fear: 'love is not enough', team: '' },
      want: '507a62d79ee76c9a',
    },
    {
      name: 'three labels (13843036195897128121)',
      labels: {
        'first-label': 'first-label-value',
        'second-label': 'second-label-value',
        'third-label': 'third-label-value',
      },
      want: 'c01c58139d52b4b9',
    },
  ] as { name: string; labels: Labels; want: string }[])('$name', ({ labels, want }) => {
    expect(fingerprintFromLabels(labels)).toBe(want);
  });
});
