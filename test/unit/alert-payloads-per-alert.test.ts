import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { fingerprintFromLabels } from '../../src/engine/triggers.ts';
import { parseAlertmanagerPayload, parseGrafanaPayload } from '../../src/producer/alert-payloads.ts';

/** Issue 12: each alert of a group is validated on its own; one bad alert does not sink the group. */

const START = '2024-05-01T10:00:00Z';
const ok = (instance: string) => ({ labels: { alertname: 'A', instance }, startsAt: START });
const group = (alerts: unknown[]) => ({ version: '4', status: 'firing', alerts });

/** `n` entries named `<prefix><i>`, each `value`. */
function entries(n: number, prefix: string, value = 'v'): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, value]));
}

/** What the parser says of one alert: the reason and fields of its rejection, or `taken`. */
function verdictOf(alert: unknown, parse = parseAlertmanagerPayload) {
  const { alerts, rejected } = parse(group([alert]));
  if (alerts.length === 1 && rejected.length === 0) return 'taken';
  expect(alerts).toEqual([]);
  const [r] = rejected;
  return { reason: r?.reason, fields: r?.errors.map((e) => e.field) };
}

describe('parseAlertmanagerPayload, per alert', () => {
  it('takes the valid alerts in order and lists the bad one with index, fingerprint, alertname and field', () => {
    const bad = { ...ok('c'), fingerprint: 'ffff000011112222', labels: { alertname: 'Broken', x: 5 } };
    const parsed = parseAlertmanagerPayload(group([ok('a'), ok('b'), bad, ok('d')]));
    expect(parsed.alerts.map((a) => a.labels.instance)).toEqual(['a', 'b', 'd']);
    expect(parsed.alerts[2]?.fingerprint).toBe(fingerprintFromLabels({ alertname: 'A', instance: 'd' }));
    expect(parsed.rejected).toEqual([
      {
        index: 2,
        fingerprint: 'ffff000011112222',
        alertname: 'Broken',
        reason: 'schema',
        errors: [{ field: 'alerts.2.labels.x', message: expect.stringMatching(/expected string/) }],
      },
    ]);
  });

  it('a rejected alert without a readable fingerprint or alertname lists them as null', () => {
    const { rejected } = parseAlertmanagerPayload(group([ok('a'), { labels: 'nope', startsAt: 7 }]));
    expect(rejected).toMatchObject([{ index: 1, fingerprint: null, alertname: null, reason: 'schema' }]);
    expect(rejected[0]?.errors.map((e) => e.field)).toEqual(['alerts.1.labels', 'alerts.1.startsAt']);
  });

  it('every alert bad: nothing taken, every one listed (the HTTP layer answers 400)', () => {
    const parsed = parseAlertmanagerPayload(group([{ labels: {} }, { ...ok('b'), status: 'pending' }]));
    expect(parsed.alerts).toEqual([]);
    expect(parsed.rejected.map((r) => [r.index, r.errors.map((e) => e.field)])).toEqual([
      [0, ['alerts.0.startsAt']],
      [1, ['alerts.1.status']],
    ]);
  });

  it('an alert without status in a group without status is rejected alone', () => {
    const parsed = parseAlertmanagerPayload({ alerts: [{ ...ok('a'), status: 'firing' }, ok('b')] });
    expect(parsed.alerts).toHaveLength(1);
    expect(parsed.rejected).toMatchObject([
      { index: 1, reason: 'schema', errors: [{ field: 'alerts.1.status' }] },
    ]);
  });

  it('a group that is not a group is refused whole, naming the group’s fields and its alerts’', () => {
    for (const body of [[1], { status: 'firing' }, { status: 'firing', alerts: 'x' }])
      expect(() => parseAlertmanagerPayload(body)).toThrow(ZodError);
    try {
      parseAlertmanagerPayload({ status: 'pending', alerts: [ok('a'), { labels: 'x', startsAt: 3 }] });
      expect.unreachable('a bad group status refuses the group');
    } catch (err) {
      expect((err as ZodError).issues.map((i) => i.path.join('.'))).toEqual([
        'status',
        'alerts.1.labels',
        'alerts.1.startsAt',
      ]);
    }
  });

  describe('bounds, each alert on its own', () => {
    const long = (n: number) => 'L'.repeat(n);
    it.each([
      { name: '64 labels', labels: { alertname: 'A', ...entries(63, 'l') }, verdict: 'taken' },
      {
        name: '65 labels',
        labels: { alertname: 'A', ...entries(64, 'l') },
        verdict: { reason: 'too_many_labels', fields: ['alerts.0.labels'] },
      },
      {
        name: '200 labels',
        labels: entries(200, 'l'),
        verdict: { reason: 'too_many_labels', fields: ['alerts.0.labels'] },
      },
      { name: 'a label value of 1,024 characters', labels: { alertname: long(1024) }, verdict: 'taken' },
      {
        name: 'a label value of 1,025 characters',
        labels: { alertname: 'A', big: long(1025) },
        verdict: { reason: 'label_too_long', fields: ['alerts.0.labels.big'] },
      },
      {
        name: 'a 10 KB label value',
        labels: { alertname: 'A', big: long(10_240) },
        verdict: { reason: 'label_too_long', fields: ['alerts.0.labels.big'] },
      },
      { name: 'a label name of 128 characters', labels: { [long(128)]: 'v' }, verdict: 'taken' },
      {
        name: 'a label name of 129 characters (the path clips it)',
        labels: { [long(129)]: 'v' },
        verdict: { reason: 'label_too_long', fields: [`alerts.0.labels.${long(128)}…`] },
      },
    ])('$name → $verdict', ({ labels, verdict }) => {
      expect(verdictOf({ labels, startsAt: START })).toEqual(verdict);
    });

    it.each([
      { name: '64 annotations', annotations: entries(64, 'a'), verdict: 'taken' },
      {
        name: '65 annotations',
        annotations: entries(65, 'a'),
        verdict: { reason: 'too_many_annotations', fields: ['alerts.0.annotations'] },
      },
      { name: 'an annotation of 16 KiB', annotations: { d: long(16 * 1024) }, verdict: 'taken' },
      {
        name: 'an annotation of 16 KiB + 1',
        annotations: { d: long(16 * 1024 + 1) },
        verdict: { reason: 'annotation_too_long', fields: ['alerts.0.annotations.d'] },
      },
      {
        name: 'an annotation name of 129 characters',
        annotations: { [long(129)]: 'v' },
        verdict: { reason: 'annotation_too_long', fields: [`alerts.0.annotations.${long(128)}…`] },
      },
    ])('$name → $verdict', ({ annotations, verdict }) => {
      expect(verdictOf({ ...ok('a'), annotations })).toEqual(verdict);
    });

    it('the message says the size and the bound, never the value', () => {
      const { rejected } = parseAlertmanagerPayload(
        group([{ labels: { alertname: 'A', big: `secret-${long(2000)}` }, startsAt: START }]),
      );
      expect(rejected[0]?.errors).toEqual([
        { field: 'alerts.0.labels.big', message: 'the value is 2007 characters long, at most 1024' },
      ]);
    });

    it('a long fingerprint or alertname is clipped in the listing', () => {
      const bad = { labels: { alertname: long(5000) }, startsAt: 'soon', fingerprint: long(300) };
      const [r] = parseAlertmanagerPayload(group([bad])).rejected;
      expect(r?.alertname).toBe(`${long(128)}…`);
      expect(r?.fingerprint).toBe(`${long(128)}…`);
    });
  });
});

describe('parseGrafanaPayload, per alert', () => {
  const grafanaOk = { ...ok('a'), values: { A: 1 } };

  it('takes the valid alerts and lists the bad one', () => {
    const bad = { ...ok('b'), values: { A: 'x' } };
    const parsed = parseGrafanaPayload({ state: 'alerting', alerts: [grafanaOk, bad] });
    expect(parsed.alerts.map((a) => a.annotations)).toEqual([{ value_A: '1' }]);
    expect(parsed.rejected).toMatchObject([
      { index: 1, alertname: 'A', reason: 'schema', errors: [{ field: 'alerts.1.values.A' }] },
    ]);
  });

  it('Grafana’s values and links count as annotations, and are named where they were sent', () => {
    const values = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`R${i}`, i]));
    expect(verdictOf({ ...ok('a'), values }, parseGrafanaPayload)).toEqual({
      reason: 'too_many_annotations',
      fields: ['alerts.0.annotations'],
    });
    const valueString = 'v'.repeat(16 * 1024 + 1);
    expect(verdictOf({ ...ok('a'), valueString }, parseGrafanaPayload)).toEqual({
      reason: 'annotation_too_long',
      fields: ['alerts.0.valueString'],
    });
  });
});
