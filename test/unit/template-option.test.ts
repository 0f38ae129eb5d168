import { describe, expect, test } from 'vitest';
import { ActionSchema, DiagnosticStepSchema } from '../../src/engine/runbook-schema.ts';
import { renderActionConfig, renderDiagnosticConfig, renderTemplate } from '../../src/engine/template.ts';
import { contextWithLabels } from '../fixtures/template-context.ts';

/**
 * Issue 12: an argv word whose leading "-" comes from an alert value would be read as an option;
 * it is refused at render time unless the runbook put it after a `--` of the same command.
 */
const P = '{{ alert.labels.pattern }}';
const ctx = (pattern: string) => contextWithLabels({ pattern, empty: '' });

const shell = (command: string[], env: Record<string, string> = {}) =>
  DiagnosticStepSchema.parse({
    id: 's',
    name: 'S',
    type: 'shell_command',
    config: { command, env },
    interpret: { healthy: 'true' },
  });

describe('a rendered argv word starting with "-" is refused', () => {
  test.each([
    { name: 'grep pattern', argv: ['grep', P, '/var/log/x'], value: '--include=/etc/shadow', at: 1 },
    { name: 'a lone dash', argv: ['cat', P], value: '-', at: 1 },
    { name: 'short option cluster', argv: ['rm', '/tmp/x', P], value: '-rf', at: 2 },
    {
      name: 'an empty value before it',
      argv: ['ls', `{{ alert.labels.empty }}${P}`],
      value: '-la',
      at: 1,
    },
    { name: 'a dash written before the template', argv: ['ls', `-${P}`], value: 'la', at: 1 },
    { name: 'two dashes before the template', argv: ['git', `--${P}`], value: 'exec-path=/tmp', at: 1 },
    {
      name: 'the -- of kubectl exec does not end the options of the command after it',
      argv: ['kubectl', 'exec', 'pod', '--', 'grep', P, '/var/log/x'],
      value: '-f/etc/shadow',
      at: 5,
    },
    {
      name: 'the -- of env does not end the options of the command after it',
      argv: ['env', '--', 'grep', P, 'x'],
      value: '--help',
      at: 3,
    },
    {
      name: 'a positional argument of sh -c',
      argv: ['sh', '-c', 'grep "$1" /x', 'sh', P],
      value: '--version',
      at: 4,
    },
  ])('$name', ({ argv, value, at }) => {
    const r = renderDiagnosticConfig(shell(argv), ctx(value));
    expect(r).toEqual({
      ok: false,
      reason: expect.stringContaining('option'),
      path: ['config', 'command', at],
    });
    // The reason shows the word as rendered.
    const word = argv[at]!.replace(P, value).replace('{{ alert.labels.empty }}', '');
    expect(r.ok ? '' : r.reason).toContain(JSON.stringify(word));
  });

  test('in a run_script action', () => {
    const action = ActionSchema.parse({ type: 'run_script', config: { command: ['/opt/fix.sh', P] } });
    expect(renderActionConfig(action, ctx('--force'))).toEqual({
      ok: false,
      reason: expect.stringContaining('alert.labels.pattern'),
      path: ['config', 'command', 1],
    });
  });

  test('for renderTemplate with the argv target', () => {
    expect(renderTemplate(P, ctx('-x'), 'argv')).toEqual({
      ok: false,
      reason: expect.stringContaining('option'),
    });
  });
});

// Guards: these passed before the change too; they keep the check to words a value turns into options.
describe('still rendered', () => {
  test.each([
    { name: 'after --', argv: ['grep', '--', P, 'file'], value: '--include=/etc/shadow' },
    {
      name: 'after the -- of the command itself',
      argv: ['kubectl', 'exec', 'p', '--', 'grep', '--', P],
      value: '-v',
    },
    { name: 'a literal option', argv: ['grep', '-v', P, 'file'], value: 'x' },
    { name: 'an option value after =', argv: ['kubectl', 'get', 'pods', `--selector=app=${P}`], value: '-a' },
    { name: 'a dash inside the value', argv: ['echo', P], value: 'a-b' },
  ])('$name', ({ argv, value }) => {
    expect(renderDiagnosticConfig(shell(argv), ctx(value))).toMatchObject({ ok: true });
  });

  test('an env value', () => {
    const r = renderDiagnosticConfig(shell(['printenv', 'P'], { P }), ctx('--x'));
    expect(r).toMatchObject({ ok: true, config: { env: { P: '--x' } } });
  });
});
