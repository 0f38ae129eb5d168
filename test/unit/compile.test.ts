import { describe, expect, it } from 'vitest';
import { paymentRunbook } from '../../scripts/harness/fixtures/payment-runbook.ts';
import { compileRunbook } from '../../src/engine/compile.ts';
import type { RunbookInput } from '../../src/engine/runbook-schema.ts';
import { RunbookSchema } from '../../src/engine/runbook-schema.ts';
import type { RunbookIssue } from '../../src/engine/types.ts';

const restart = {
  id: 'restart',
  name: 'Restart',
  type: 'automated',
  action: { type: 'restart_service', config: { deployment: 'api', namespace: 'prod' } },
} as const;
const page = { id: 'page', name: 'Page', type: 'escalate' } as const;

const base: RunbookInput = {
  id: 'api-slow',
  name: 'API slow',
  severity: 'P2',
  service: 'api',
  triggers: [{ type: 'manual' }],
  diagnostics: [
    {
      id: 'db',
      name: 'DB',
      type: 'prometheus_query',
      config: { query: 'up' },
      interpret: { critical: 'value >= 90', healthy: 'value < 90' },
    },
    {
      id: 'deploy',
      name: 'Deploy',
      type: 'shell_command',
      config: { command: ['kubectl', 'version'] },
      interpret: { healthy: 'exit_code == 0' },
    },
  ],
  decisionTree: [
    { condition: "diagnostics.db.status == 'critical'", then: ['restart'] },
    { otherwise: true, then: ['page'] },
  ],
  remediations: [restart, page],
  escalation: { primary: '#api' },
};

function compile(overrides: Partial<RunbookInput>) {
  return compileRunbook(RunbookSchema.parse({ ...base, ...overrides }));
}

const error = (path: RunbookIssue['path'], message: string): RunbookIssue => ({
  path,
  message,
  severity: 'error',
});

describe('compileRunbook rejects', () => {
  it.each<[string, Partial<RunbookInput>, RunbookIssue[]]>([
    [
      'an interpret variable that is not a fact of the step type',
      {
        diagnostics: [
          base.diagnostics[0]!,
          { ...base.diagnostics[1]!, interpret: { healthy: 'no_recent_deploy', critical: 'exit_code != 0' } },
        ],
      },
      [
        error(
          ['diagnostics', 1, 'interpret', 'healthy'],
          "unknown variable 'no_recent_deploy' — facts of shell_command are exit_code, stdout, stderr, lines, json (at column 1 of `no_recent_deploy`)",
        ),
      ],
    ],
    [
      'an interpret expression that does not parse',
      {
        diagnostics: [
          { ...base.diagnostics[0]!, interpret: { critical: 'value >>= 90' } },
          base.diagnostics[1]!,
        ],
      },
      [
        error(
          ['diagnostics', 0, 'interpret', 'critical'],
          'Unexpected token: GE (at column 8 of `value >>= 90`)',
        ),
      ],
    ],
    [
      'an interpret expression that cannot give a bool',
      {
        diagnostics: [{ ...base.diagnostics[0]!, interpret: { warning: 'count + 1' } }, base.diagnostics[1]!],
      },
      [error(['diagnostics', 0, 'interpret', 'warning'], 'expected a bool, got double (in `count + 1`)')],
    ],
    [
      'a condition naming an unknown diagnostic',
      { decisionTree: [{ condition: "diagnostics.dbx.status === 'critical'", then: ['restart', 'page'] }] },
      [
        error(
          ['decisionTree', 0, 'condition'],
          "unknown diagnostic 'dbx' (at column 1 of `diagnostics.dbx.status === 'critical'`)",
        ),
      ],
    ],
    [
      'a condition reading a fact the diagnostic type does not produce',
      { decisionTree: [{ condition: 'diagnostics.db.facts.valu > 90', then: ['restart', 'page'] }] },
      [
        error(
          ['decisionTree', 0, 'condition'],
          "unknown fact 'valu' of diagnostic 'db' — facts of prometheus_query are value, values, count, empty (at column 1 of `diagnostics.db.facts.valu > 90`)",
        ),
      ],
    ],
    [
      'a condition reading something besides status and facts',
      { decisionTree: [{ condition: "diagnostics.db.message == ''", then: ['restart', 'page'] }] },
      [
        error(
          ['decisionTree', 0, 'condition'],
          "diagnostics.db has status and facts, not 'message' (at column 1 of `diagnostics.db.message == ''`)",
        ),
      ],
    ],
    [
      'a condition reading an unknown root',
      { decisionTree: [{ condition: 'severity == "P1"', then: ['restart', 'page'] }] },
      [
        error(
          ['decisionTree', 0, 'condition'],
          'unknown variable \'severity\' — conditions read diagnostics, alert, incident and now (at column 1 of `severity == "P1"`)',
        ),
      ],
    ],
    [
      'a rule naming an unknown remediation',
      {
        decisionTree: [
          {
            condition: "diagnostics.db.status == 'critical'",
            then: ['restart', 'scale_db_connections', 'page'],
          },
        ],
      },
      [error(['decisionTree', 0, 'then', 1], "unknown remediation 'scale_db_connections'")],
    ],
    [
      'verify naming an unknown diagnostic',
      { remediations: [{ ...restart, verify: { diagnostics: ['db', 'pods'] } }, page] },
      [error(['remediations', 0, 'verify', 'diagnostics', 1], "unknown diagnostic 'pods'")],
    ],
    [
      'duplicate diagnostic ids',
      {
        diagnostics: [base.diagnostics[0]!, base.diagnostics[1]!, { ...base.diagnostics[0]!, name: 'Again' }],
      },
      [error(['diagnostics', 2, 'id'], "duplicate id 'db' (first at diagnostics[0])")],
    ],
    [
      'duplicate remediation ids',
      { remediations: [restart, page, { ...page, name: 'Page again' }] },
      [error(['remediations', 2, 'id'], "duplicate id 'page' (first at remediations[1])")],
    ],
    [
      'a second otherwise rule',
      {
        decisionTree: [
          { condition: "diagnostics.db.status == 'critical'", then: ['restart'] },
          { otherwise: true, then: ['page'] },
          { otherwise: true, then: ['page'] },
        ],
      },
      [error(['decisionTree', 2, 'otherwise'], 'only one otherwise rule (first at decisionTree[1])')],
    ],
    [
      'an otherwise rule that is not last',
      {
        decisionTree: [
          { otherwise: true, then: ['page'] },
          { condition: "diagnostics.db.status == 'critical'", then: ['restart'] },
        ],
      },
      [error(['decisionTree', 0, 'otherwise'], 'the otherwise rule must be the last rule')],
    ],
    [
      'every problem at once, in document order',
      {
        diagnostics: [base.diagnostics[0]!, { ...base.diagnostics[0]!, interpret: { healthy: 'valu < 1' } }],
        decisionTree: [{ condition: "diagnostics.x.status == 'critical'", then: ['restrat'] }],
        remediations: [restart, restart],
      },
      [
        error(['diagnostics', 1, 'id'], "duplicate id 'db' (first at diagnostics[0])"),
        error(
          ['diagnostics', 1, 'interpret', 'healthy'],
          "unknown variable 'valu' — facts of prometheus_query are value, values, count, empty (at column 1 of `valu < 1`)",
        ),
        error(['decisionTree', 0, 'then', 0], "unknown remediation 'restrat'"),
        error(
          ['decisionTree', 0, 'condition'],
          "unknown diagnostic 'x' (at column 1 of `diagnostics.x.status == 'critical'`)",
        ),
        error(['remediations', 1, 'id'], "duplicate id 'restart' (first at remediations[0])"),
        {
          path: ['remediations', 0],
          message: "remediation 'restart' is never reached by any rule",
          severity: 'warning',
        },
        {
          path: ['remediations', 1],
          message: "remediation 'restart' is never reached by any rule",
          severity: 'warning',
        },
      ],
    ],
  ])('%s', (_name, overrides, issues) => {
    expect(compile(overrides)).toEqual({ ok: false, issues });
  });
});

describe('compileRunbook accepts', () => {
  it.each<[string, Partial<RunbookInput>, RunbookIssue[]]>([
    ['the base runbook', {}, []],
    [
      'a remediation no rule reaches, with a warning',
      { remediations: [restart, page, { ...page, id: 'page_infra' }] },
      [
        {
          path: ['remediations', 2],
          message: "remediation 'page_infra' is never reached by any rule",
          severity: 'warning',
        },
      ],
    ],
    [
      'conditions over labels, annotations, incident and now',
      {
        decisionTree: [
          {
            condition:
              "has(alert.labels.namespace) && alert.labels.namespace == 'prod' && alert.annotations.summary != '' && alert.status == 'firing'" +
              " && incident.ageMinutes > 5 && incident.severity == 'P1' && now > timestamp(incident.createdAt)" +
              ' && diagnostics.db.facts.value * 100 > 5 && diagnostics.deploy.facts.json.kind == "Deployment"',
            then: ['restart'],
          },
          { otherwise: true, then: ['page'] },
        ],
      },
      [],
    ],
  ])('%s', (_name, overrides, warnings) => {
    const result = compile(overrides);
    expect(result.ok ? result.warnings : result.issues).toEqual(warnings);
    expect(result.ok).toBe(true);
  });

  it('aligns conditions with the decision tree, null for otherwise, and keys interpret by step id', () => {
    const result = compile({});
    if (!result.ok) throw new Error(`expected the base runbook to compile: ${JSON.stringify(result.issues)}`);
    expect(result.compiled.conditions.map((c) => c?.source ?? null)).toEqual([
      "diagnostics.db.status == 'critical'",
      null,
    ]);
    const interpret = [...result.compiled.interpret].map(([id, levels]) => [
      id,
      Object.fromEntries(Object.entries(levels).map(([level, expr]) => [level, expr.source])),
    ]);
    expect(interpret).toEqual([
      ['db', { critical: 'value >= 90', healthy: 'value < 90' }],
      ['deploy', { healthy: 'exit_code == 0' }],
    ]);
  });

  it('the payment runbook fixture, with no issue at all', () => {
    const result = compileRunbook(RunbookSchema.parse(paymentRunbook));
    expect(result.ok ? result.warnings : result.issues).toEqual([]);
  });
});
