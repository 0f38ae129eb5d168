import { describe, expect, it, test } from 'vitest';
import { type RunbookInput, RunbookSchema } from '../../src/engine/runbook-schema.ts';
import { validateRunbookTemplates } from '../../src/engine/template.ts';

const interpret = { critical: 'value > 1' };

describe('validateRunbookTemplates', () => {
  const runbook: RunbookInput = {
    id: 'payment-slow',
    name: 'Payment slow',
    severity: 'P1',
    service: 'payment',
    triggers: [
      { type: 'alert', alertName: 'PaymentSlow' },
      { type: 'metric_threshold', metricQuery: 'rate(x{ns={{ alert.labels.ns }}}[5m])', threshold: 1 },
    ],
    diagnostics: [
      {
        id: 'ok',
        name: 'Ok',
        type: 'prometheus_query',
        interpret,
        config: { query: 'up{ns="{{ alert.labels.ns }}"}' },
      },
      {
        id: 'sql',
        name: 'Sql',
        type: 'database_query',
        interpret,
        config: { query: 'select {{ alert.labels.ns }}', database: '{{ incident.id }}' },
      },
      {
        id: 'web',
        name: 'Web',
        type: 'http_check',
        interpret,
        config: { urls: [{ name: 'a', url: 'https://{{ alert.labels.host }}/' }] },
      },
      {
        id: 'sh',
        name: 'Sh',
        type: 'shell_command',
        interpret,
        config: { command: ['echo', '{{ alert.labels.ns'] },
      },
    ],
    decisionTree: [],
    remediations: [
      {
        id: 'r',
        name: 'R',
        type: 'automated',
        action: {
          type: 'restart_service',
          config: { deployment: 'Payment', namespace: '{{ alert.labels.ns }}' },
        },
      },
      { id: 'm', name: 'M', type: 'manual', instructions: 'Check {{ alert.lables.ns }}' },
      { id: 'f', name: 'F', type: 'automated', action: { type: 'flush_cache', config: { pattern: '*' } } },
    ],
    escalation: { primary: '#payments' },
  };

  test('each problem is reported at its path', () => {
    const issues = validateRunbookTemplates(RunbookSchema.parse(runbook));
    expect(issues.map((i) => [i.path.join('.'), i.severity, i.message.slice(0, 40)])).toEqual([
      ['triggers.1.metricQuery', 'error', '{{ alert.labels.ns }} is outside a strin'],
      ['diagnostics.1.config.query', 'error', 'templates are not allowed in SQL text; u'],
      ['diagnostics.1.config.database', 'warning', 'templates are not rendered in this field'],
      ['diagnostics.2.config.urls.0.url', 'error', 'a template may only appear in the path, '],
      ['diagnostics.3.config.command.1', 'error', '"{{" at character 1 is never closed with'],
      ['remediations.0.action.config.deployment', 'error', '"Payment" is not a Kubernetes name (lowe'],
      ['remediations.1.instructions', 'error', 'unknown variable "alert.lables.ns" in a '],
      ['remediations.2.action.config.pattern', 'error', 'the pattern "*" would flush every key; n'],
    ]);
  });

  test('a clean runbook has no issues', () => {
    const clean = {
      ...runbook,
      triggers: [runbook.triggers[0]!],
      diagnostics: [runbook.diagnostics[0]!],
      remediations: [],
    };
    expect(validateRunbookTemplates(RunbookSchema.parse(clean))).toEqual([]);
  });
});

describe('templates inside a shell -c script', () => {
  const base = {
    id: 'sh',
    name: 'Shell',
    severity: 'P3',
    service: 'svc',
    triggers: [{ type: 'manual' }],
    decisionTree: [],
    remediations: [],
    escalation: { primary: '#ops' },
  };
  const diag = (command: string[]) =>
    RunbookSchema.parse({
      ...base,
      diagnostics: [
        {
          id: 'd',
          name: 'D',
          type: 'shell_command',
          config: { command },
          interpret: { healthy: 'exit_code == 0' },
        },
      ],
    });
  it.each([
    [['sh', '-c', 'echo {{ alert.labels.x }}'], [['diagnostics', 0, 'config', 'command', 2]]],
    [
      ['/bin/bash', '-ec', 'kubectl get {{ alert.labels.pod }}'],
      [['diagnostics', 0, 'config', 'command', 2]],
    ],
    [['sh', '-c', 'echo "$1"', 'sh', '{{ alert.labels.x }}'], []],
    [['kubectl', 'get', 'pod', '{{ alert.labels.pod }}'], []],
    [['python3', '-c', 'print(1)'], []],
  ])('%j → issues at %j', (command, paths) => {
    const found = validateRunbookTemplates(diag(command)).filter((i) => i.message.includes('-c script'));
    expect(found.map((i) => i.path)).toEqual(paths);
  });
});
