import { describe, expect, it } from 'vitest';
import {
  formatIssue,
  formatIssuePath,
  locate,
  parseRunbook,
  readYaml,
} from '../../src/engine/runbook-parse.ts';

// A small valid runbook; each case below changes one piece of it. Line numbers matter.
const DEMO = `id: demo
name: Demo
severity: P2
service: demo
triggers:
  - type: alert
    alertName: DemoDown
diagnostics:
  - id: up
    name: Up
    type: prometheus_query
    config:
      query: up{job="demo"}
    interpret:
      critical: value == 0
      healthy: value == 1
decisionTree:
  - condition: diagnostics.up.status == 'critical'
    then: [restart]
remediations:
  - id: restart
    name: Restart
    type: automated
    action:
      type: restart_service
      config: { deployment: demo, namespace: prod }
escalation:
  primary: '#demo'
`;

/** DEMO with each `[from, to]` replacement made. */
function demoWith(edits: [string, string][]): string {
  let text = DEMO;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`test bug: DEMO has no ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  return text;
}

function lintDemo(edits: [string, string][]): string[] {
  const result = parseRunbook(demoWith(edits), 'demo.yaml');
  return (result.ok ? result.warnings : result.issues).map(formatIssue);
}

describe('parseRunbook', () => {
  it('loads the demo runbook without issues', () => {
    const result = parseRunbook(DEMO, 'demo.yaml');
    expect(result.ok ? { id: result.compiled.runbook.id, warnings: result.warnings } : result.issues).toEqual(
      {
        id: 'demo',
        warnings: [],
      },
    );
  });

  it.each([
    {
      change: 'severity out of range',
      edits: [['severity: P2', 'severity: P9']],
      issues: ['demo.yaml:3:1: severity: expected one of P1, P2, P3, P4; got "P9"'],
    },
    {
      change: 'unknown diagnostic type',
      edits: [['type: prometheus_query', 'type: promql']],
      issues: [
        'demo.yaml:11:5: diagnostics[0].type: expected one of prometheus_query, http_check, shell_command, database_query, log_search; got "promql"',
      ],
    },
    {
      change: 'missing key, placed at its parent',
      edits: [['    name: Up\n', '']],
      issues: ['demo.yaml:9:5: diagnostics[0].name: expected a string; got nothing (missing key)'],
    },
    {
      change: 'unknown key',
      edits: [["  primary: '#demo'\n", "  primary: '#demo'\n  pager: oncall\n"]],
      issues: [
        "demo.yaml:29:3: escalation.pager: unknown key 'pager'; allowed keys: primary, secondary, escalateAfterMinutes",
      ],
    },
    {
      change: 'empty string',
      edits: [['query: up{job="demo"}', 'query: ""']],
      issues: ['demo.yaml:13:7: diagnostics[0].config.query: expected a non-empty string; got ""'],
    },
    {
      change: 'missing action config key',
      edits: [['config: { deployment: demo, namespace: prod }', 'config: { deployment: demo }']],
      issues: [
        'demo.yaml:26:7: remediations[0].action.config.namespace: expected a string; got nothing (missing key)',
      ],
    },
    {
      change: 'bad id',
      edits: [['id: up', 'id: Up Check']],
      issues: [
        'demo.yaml:9:5: diagnostics[0].id: expected an id of lowercase letters, digits, "_" and "-"; got "Up Check"',
        // The stand-in for the bad step cannot keep a bad id, so the rule naming 'up' is reported too.
        "demo.yaml:18:5: decisionTree[0].condition: unknown diagnostic 'up' (at column 1 of `diagnostics.up.status == 'critical'`)",
      ],
    },
    {
      change: 'unknown remediation in then',
      edits: [['then: [restart]', 'then: [restart, page_dba]']],
      issues: ["demo.yaml:19:21: decisionTree[0].then[1]: unknown remediation 'page_dba'"],
    },
    {
      change: 'a schema error does not hide an unknown remediation',
      edits: [
        ['severity: P2', 'severity: P9'],
        ['then: [restart]', 'then: [restart, page_dba]'],
      ],
      issues: [
        'demo.yaml:3:1: severity: expected one of P1, P2, P3, P4; got "P9"',
        "demo.yaml:19:21: decisionTree[0].then[1]: unknown remediation 'page_dba'",
      ],
    },
    {
      change: "JavaScript's === is accepted",
      edits: [['critical: value == 0', 'critical: value === 0']],
      issues: [],
    },
    {
      change: 'unknown top-level key',
      edits: [['escalation:', 'remediations2: x\nescalation:']],
      issues: [
        "demo.yaml:27:1: remediations2: unknown key 'remediations2'; allowed keys: id, name, description, severity, service, triggers, groupBy, dryRun, autoResolve, diagnostics, decisionTree, remediations, escalation, notifications",
      ],
    },
    {
      change: 'YAML syntax error',
      edits: [['name: Demo', 'name: [Demo']],
      issues: [
        'demo.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
      ],
    },
    {
      change: 'duplicate key',
      edits: [['name: Demo\n', 'name: Demo\nname: Other\n']],
      issues: ['demo.yaml:3:1: Map keys must be unique'],
    },
    {
      change: 'two documents',
      edits: [['id: demo\n', 'id: demo\n---\n']],
      issues: ['demo.yaml:2:1: a file holds one YAML document; found a second one (after ---)'],
    },
    {
      change: 'not a mapping',
      edits: [[DEMO, '- just a list\n']],
      issues: ['demo.yaml:1:1: expected a mapping; got a list of 1 item'],
    },
    {
      change: 'empty file',
      edits: [[DEMO, '# nothing yet\n']],
      issues: ['demo.yaml: the file is empty; expected a mapping'],
    },
  ] as { change: string; edits: [string, string][]; issues: string[] }[])('$change', ({ edits, issues }) => {
    expect(lintDemo(edits)).toEqual(issues);
  });

  it.each([
    {
      change: 'expression that does not compile',
      from: 'healthy: value == 1',
      to: 'healthy: value = = 1',
      at: { line: 16, column: 7, path: 'diagnostics[0].interpret.healthy', severity: 'error' },
    },
    {
      change: 'condition naming an unknown diagnostic',
      from: "diagnostics.up.status == 'critical'",
      to: "diagnostics.down.status == 'critical'",
      at: { line: 18, column: 5, path: 'decisionTree[0].condition', severity: 'error' },
    },
    {
      change: 'unreachable remediation',
      from: 'escalation:',
      to: '  - id: page\n    name: Page\n    type: escalate\nescalation:',
      at: { line: 27, column: 5, path: 'remediations[1]', severity: 'warning' },
    },
  ])('places the semantic issue of: $change', ({ from, to, at }) => {
    const result = parseRunbook(demoWith([[from, to]]), 'demo.yaml');
    const issues = result.ok ? result.warnings : result.issues;
    const places = issues.map(({ line, column, path, severity }) => ({ line, column, path, severity }));
    expect(places).toEqual([at]);
  });
});

describe('formatIssue', () => {
  it.each([
    {
      issue: {
        file: 'runbooks/payment.yaml',
        line: 42,
        column: 9,
        path: 'decisionTree[0].then[1]',
        message: "unknown remediation 'scale_db_connections'",
        severity: 'error' as const,
      },
      text: "runbooks/payment.yaml:42:9: decisionTree[0].then[1]: unknown remediation 'scale_db_connections'",
    },
    {
      issue: {
        file: 'r.yaml',
        line: 3,
        column: 5,
        path: 'remediations[1]',
        message: 'never reached',
        severity: 'warning' as const,
      },
      text: 'r.yaml:3:5: warning: remediations[1]: never reached',
    },
    {
      issue: { file: 'r.yaml', line: 7, path: '', message: 'bad indentation', severity: 'error' as const },
      text: 'r.yaml:7: bad indentation',
    },
    {
      issue: {
        file: 'runbooks/gone',
        path: '',
        message: 'no such file or directory',
        severity: 'error' as const,
      },
      text: 'runbooks/gone: no such file or directory',
    },
  ])('$text', ({ issue, text }) => {
    expect(formatIssue(issue)).toBe(text);
  });
});

describe('formatIssuePath', () => {
  it.each([
    { path: ['decisionTree', 0, 'then', 1], text: 'decisionTree[0].then[1]' },
    { path: [], text: '' },
    { path: ['cases', 2, 'diagnostics', 'check-db'], text: 'cases[2].diagnostics.check-db' },
    { path: ['labels', 'app.kubernetes.io/name'], text: 'labels["app.kubernetes.io/name"]' },
  ])('$text', ({ path, text }) => {
    expect(formatIssuePath(path)).toBe(text);
  });
});

describe('locate', () => {
  const text = `a:
  b: 1
  list:
    - x
    - { y: 2 }
ref: &r
  k: v
alias: *r
`;
  const read = readYaml(text, 'x.yaml');

  it.each([
    { path: [], at: { line: 1, column: 1 } },
    { path: ['a', 'b'], at: { line: 2, column: 3 } },
    { path: ['a', 'list', 0], at: { line: 4, column: 7 } },
    { path: ['a', 'list', 1, 'y'], at: { line: 5, column: 9 } },
    { path: ['a', 'missing'], at: { line: 1, column: 1 } },
    { path: ['a', 'list', 7], at: { line: 3, column: 3 } },
    { path: ['alias', 'k'], at: { line: 7, column: 3 } },
  ])('$path', ({ path, at }) => {
    if (!read.ok) throw new Error(`test bug: fixture YAML does not parse: ${read.issues.map(formatIssue)}`);
    expect(locate(read.source.doc, read.source.lineCounter, path)).toEqual(at);
  });
});
