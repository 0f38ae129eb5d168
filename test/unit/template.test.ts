import { describe, expect, test } from 'vitest';
import { renderSql, renderTemplate } from '../../src/engine/template.ts';
import { contextWithLabels } from '../fixtures/template-context.ts';

const ctx = contextWithLabels;

const HOSTILE = [
  { name: 'promql injection', value: '"} or vector(1)' },
  { name: 'command substitution', value: '$(reboot)' },
  { name: 'sql injection', value: "'; drop table x; --" },
  { name: 'newline', value: 'a\nb' },
  { name: 'backslashes', value: 'C:\\temp\\' },
  { name: 'unicode', value: 'ünïcødé ✓' },
  { name: 'rtl mark', value: 'a\u200Fb' },
  { name: 'empty', value: '' },
] as const;

describe('argv, text, url and sql params for hostile values', () => {
  const urls: Record<string, string> = {
    'promql injection': '%22%7D%20or%20vector(1)',
    'command substitution': '%24(reboot)',
    'sql injection': "'%3B%20drop%20table%20x%3B%20--",
    newline: 'a%0Ab',
    backslashes: 'C%3A%5Ctemp%5C',
    unicode: '%C3%BCn%C3%AFc%C3%B8d%C3%A9%20%E2%9C%93',
    'rtl mark': 'a%E2%80%8Fb',
    empty: '',
  };
  test.each(HOSTILE)('$name', ({ name, value }) => {
    const c = ctx({ v: value });
    const enc = urls[name]!;
    expect({
      argv: renderTemplate('{{ alert.labels.v }}', c, 'argv'),
      argvPart: renderTemplate('--selector=app={{ alert.labels.v }}', c, 'argv'),
      text: renderTemplate('Pod {{ alert.labels.v }} is slow', c, 'text'),
      url: renderTemplate(
        'https://h/api/{{ alert.labels.v }}?q={{ alert.labels.v }}#{{ alert.labels.v }}',
        c,
        'url',
      ),
      sql: renderSql('select * from t where ns = $1', ['{{ alert.labels.v }}'], c),
    }).toEqual({
      argv: { ok: true, value },
      argvPart: { ok: true, value: `--selector=app=${value}` },
      text: { ok: true, value: `Pod ${value} is slow` },
      url: { ok: true, value: `https://h/api/${enc}?q=${enc}#${enc}` },
      sql: { ok: true, text: 'select * from t where ns = $1', values: [value] },
    });
  });
});

describe('template syntax and values', () => {
  const c = ctx({ namespace: 'checkout', blank: '' });
  test.each([
    { name: 'label', t: '{{ alert.labels.namespace }}', want: 'checkout' },
    { name: 'no spaces', t: '{{alert.labels.namespace}}', want: 'checkout' },
    { name: 'annotation', t: '{{ alert.annotations.summary }}', want: 'p99 over 2s' },
    {
      name: 'alert fields',
      t: '{{ alert.fingerprint }} {{ alert.status }} {{ alert.startsAt }}',
      want: 'a1b2c3d4e5f60718 firing 2024-05-01T03:00:00Z',
    },
    {
      name: 'incident fields',
      t: '{{ incident.id }}/{{ incident.severity }}/{{ incident.service }}/{{ incident.runbookId }}',
      want: 'inc-1/P1/payment/payment-slow',
    },
    { name: 'default unused', t: '{{ alert.labels.namespace | default "production" }}', want: 'checkout' },
    { name: 'default for absent', t: '{{ alert.labels.region | default "eu-1" }}', want: 'eu-1' },
    { name: 'default for empty', t: '{{ alert.labels.blank | default "eu-1" }}', want: 'eu-1' },
    {
      name: 'default with escapes and braces',
      t: '{{ alert.labels.x | default "a\\"b\\\\c}}" }}',
      want: 'a"b\\c}}',
    },
    { name: 'empty without default', t: '[{{ alert.labels.blank }}]', want: '[]' },
    { name: 'no template', t: 'plain } { text', want: 'plain } { text' },
  ])('$name', ({ t, want }) => {
    expect(renderTemplate(t, c, 'text')).toEqual({ ok: true, value: want });
  });

  test.each([
    {
      name: 'absent without default',
      t: '{{ alert.labels.region }}',
      reason: 'alert.labels.region is not set on this alert',
    },
    {
      name: 'prototype key',
      t: '{{ alert.labels.constructor }}',
      reason: 'alert.labels.constructor is not set',
    },
    { name: 'unclosed', t: 'x {{ alert.labels.namespace', reason: '"{{" at character 3 is never closed' },
    { name: 'unknown root', t: '{{ env.HOME }}', reason: 'unknown variable "env.HOME"' },
    {
      name: 'unknown incident field',
      t: '{{ incident.secret }}',
      reason: 'unknown variable "incident.secret"',
    },
    {
      name: 'filter other than default',
      t: '{{ alert.labels.namespace | upper }}',
      reason: 'is not a template',
    },
    {
      name: 'unquoted default',
      t: '{{ alert.labels.namespace | default prod }}',
      reason: 'is not a template',
    },
  ])('$name is an error', ({ t, reason }) => {
    const r = renderTemplate(t, c, 'text');
    expect(r.ok ? `rendered ${r.value}` : r.reason).toContain(reason);
  });

  test('a lone surrogate is not valid text', () => {
    expect(renderTemplate('{{ alert.labels.v }}', ctx({ v: 'a\uD800' }), 'text')).toEqual({
      ok: false,
      reason: 'alert.labels.v is not valid Unicode text',
    });
  });
});

describe('url, argv and sql rules', () => {
  test.each([
    { name: 'host', t: 'https://{{ alert.labels.v }}/x' },
    { name: 'host suffix', t: 'https://api.{{ alert.labels.v }}.com/x' },
    { name: 'userinfo', t: 'https://u:{{ alert.labels.v }}@h/x' },
    { name: 'scheme', t: '{{ alert.labels.v }}://h/x' },
    { name: 'no path separator yet', t: 'https://h{{ alert.labels.v }}' },
    { name: 'relative', t: '/x/{{ alert.labels.v }}' },
  ])('url: a template in the $name is refused', ({ t }) => {
    const r = renderTemplate(t, ctx({ v: 'a' }), 'url');
    expect(r.ok ? `rendered ${r.value}` : r.reason).toContain('never in its scheme or host');
  });

  test.each([
    { name: 'dot-dot segment', v: '..', t: 'https://h/a/{{ alert.labels.v }}/b', ok: false },
    { name: 'dot segment', v: '.', t: 'https://h/a/{{ alert.labels.v }}', ok: false },
    { name: 'encoded dots built with literal', v: '%2e', t: 'https://h/a/.{{ alert.labels.v }}', ok: true },
    { name: 'dot-dot in query', v: '..', t: 'https://h/a?x={{ alert.labels.v }}', ok: true },
    { name: 'dots inside a segment', v: '..a', t: 'https://h/{{ alert.labels.v }}', ok: true },
  ])('url: $name', ({ v, t, ok }) => {
    const r = renderTemplate(t, ctx({ v }), 'url');
    expect({ ok: r.ok, reason: r.ok ? '' : r.reason }).toEqual({
      ok,
      reason: ok ? '' : expect.stringContaining('path segment'),
    });
  });

  test('argv refuses NUL; text keeps it', () => {
    const c = ctx({ v: 'a\0b' });
    expect([
      renderTemplate('{{ alert.labels.v }}', c, 'argv'),
      renderTemplate('{{ alert.labels.v }}', c, 'text'),
    ]).toEqual([
      { ok: false, reason: 'alert.labels.v contains a NUL byte' },
      { ok: true, value: 'a\0b' },
    ]);
  });

  test('sql: a template in the text is refused; params render', () => {
    const c = ctx({ v: 'x' });
    expect([
      renderSql("select * from t where ns = '{{ alert.labels.v }}'", [], c),
      renderTemplate('select {{ alert.labels.v }}', c, 'sql'),
      renderTemplate('select 1', c, 'sql'),
      renderSql('select $1, $2', ['{{ alert.labels.v }}', 'fixed'], c),
      renderSql('select $1', ['{{ alert.labels.nope }}'], c),
    ]).toEqual([
      { ok: false, reason: expect.stringContaining('use $1, $2') },
      { ok: false, reason: expect.stringContaining('templates are not allowed in SQL text') },
      { ok: true, value: 'select 1' },
      { ok: true, text: 'select $1, $2', values: ['x', 'fixed'] },
      { ok: false, reason: expect.stringMatching(/^params\[0\]: alert\.labels\.nope is not set/) },
    ]);
  });
});
