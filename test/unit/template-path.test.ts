import { describe, expect, it, test } from 'vitest';
import { DiagnosticStepSchema } from '../../src/engine/runbook-schema.ts';
import { renderDiagnosticConfig, templateContext } from '../../src/engine/template.ts';
import { contextWithLabels } from '../fixtures/template-context.ts';

/**
 * Issue 12: a value rendered into a path may neither make it absolute nor leave the directory the
 * runbook author wrote.
 */
const logFile = (path: string) =>
  DiagnosticStepSchema.parse({
    id: 'l',
    name: 'L',
    type: 'log_search',
    config: { source: 'file', paths: [path], pattern: 'ERROR' },
    interpret: { healthy: 'count == 0' },
  });
const inDir = (cwd: string) =>
  DiagnosticStepSchema.parse({
    id: 's',
    name: 'S',
    type: 'shell_command',
    config: { command: ['ls'], cwd },
    interpret: { healthy: 'true' },
  });

describe('a path value that is absolute is refused', () => {
  test.each([
    { name: 'the whole path templated', path: '{{ alert.labels.file }}', file: '/etc/shadow' },
    { name: 'inside a directory', path: '/var/log/{{ alert.labels.file }}', file: '/etc/passwd' },
    { name: 'in a relative path', path: 'logs/{{ alert.labels.file }}.log', file: '/root/x' },
    {
      name: 'a default that is absolute',
      path: '{{ alert.labels.none | default "/etc/shadow" }}',
      file: 'x',
    },
  ])('$name', ({ path, file }) => {
    expect(renderDiagnosticConfig(logFile(path), contextWithLabels({ file }))).toEqual({
      ok: false,
      reason: expect.stringContaining('absolute'),
      path: ['config', 'paths', 0],
    });
  });

  test('a templated working directory', () => {
    expect(renderDiagnosticConfig(inDir('{{ alert.labels.dir }}'), contextWithLabels({ dir: '/' }))).toEqual({
      ok: false,
      reason: expect.stringContaining('absolute'),
      path: ['config', 'cwd'],
    });
  });
});

// Guards: these passed before the change too.
describe('path values that stay inside', () => {
  test.each([
    { path: '/var/log/{{ alert.labels.file }}.log', file: 'payment', want: '/var/log/payment.log' },
    { path: '/var/log/{{ alert.labels.file }}', file: 'app/current.log', want: '/var/log/app/current.log' },
    { path: '{{ alert.labels.file }}', file: 'logs/app.log', want: 'logs/app.log' },
    { path: '/var/log/app-{{ alert.labels.file }}.log', file: '..x', want: '/var/log/app-..x.log' },
  ])('$path with $file', ({ path, file, want }) => {
    expect(renderDiagnosticConfig(logFile(path), contextWithLabels({ file }))).toMatchObject({
      ok: true,
      config: { paths: [want] },
    });
  });

  test.each([
    { path: '/var/log/{{ alert.labels.file }}.log', file: '../../etc/passwd' },
    { path: '/var/log/{{ alert.labels.file }}', file: 'app/../../../etc/shadow' },
    { path: '/var/log/{{ alert.labels.file }}', file: 'a\0b' },
  ])('$path with $file is refused', ({ path, file }) => {
    expect(renderDiagnosticConfig(logFile(path), contextWithLabels({ file }))).toMatchObject({ ok: false });
  });
});

/** The form of a secret reference that the executors fill in (src/adapters/connections.ts). */
const SECRET_REF = ['$', '{API_TOKEN}'].join('');

describe('an alert value cannot name a secret of Fireline', () => {
  it.each([
    {
      field: 'a header value',
      config: { urls: [{ name: 'api', url: 'https://x.test/', headers: { 'X-Q': '{{ alert.labels.q }}' } }] },
      type: 'http_check' as const,
    },
    {
      field: 'a command env value',
      config: { command: ['true'], env: { Q: '{{ alert.labels.q }}' } },
      type: 'shell_command' as const,
    },
  ])('$field holding a secret reference is refused', ({ config, type }) => {
    const step = DiagnosticStepSchema.parse({
      id: 's',
      name: 'S',
      type,
      config,
      interpret: { healthy: 'true' },
    });
    const ctx = templateContext(
      {
        source: 'alertmanager',
        status: 'firing',
        labels: { q: SECRET_REF },
        annotations: {},
        fingerprint: 'f',
        startsAt: '2024-01-01T00:00:00Z',
      },
      { id: 'i', severity: 'P1', service: 's', runbookId: 'r' },
    );
    const rendered = renderDiagnosticConfig(step, ctx);
    expect(rendered.ok, JSON.stringify(rendered)).toBe(false);
    expect(rendered.ok ? '' : rendered.reason).toMatch(/would name a secret/);
  });
});
