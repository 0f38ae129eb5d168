import { DIAGNOSTIC_TYPES } from './diagnostic-types/index.ts';

/**
 * What `fireline new runbook` writes: a commented runbook and its test file that lint clean and
 * pass at once, so an author starts from something that works and changes it step by step. Pure
 * text; the CLI (src/cli/new-commands.ts) checks the id and writes the files.
 */

export type DiagnosticTypeName = (typeof DIAGNOSTIC_TYPES)[number]['type'];
export const DIAGNOSTIC_TYPE_NAMES = DIAGNOSTIC_TYPES.map((t) => t.type) as DiagnosticTypeName[];

export interface RunbookTemplateInput {
  id: string;
  alertName: string;
  /** One diagnostic per entry, in order (a type given twice gets two). */
  types: readonly DiagnosticTypeName[];
}

interface Example {
  /** The step id (a suffix is added when the type is used again). */
  id: string;
  /** The YAML lines of the step after `type:` (config, interpret), indented for a list item. */
  body: (service: string) => string[];
  /** Facts that make `interpret` say critical, for the test case (YAML flow mapping). */
  criticalFacts: string;
}

/** One working example per diagnostic type; its facts are the ones README lists for the type. */
const EXAMPLES: Record<DiagnosticTypeName, Example> = {
  prometheus_query: {
    id: 'error_rate',
    body: (service) => [
      '    name: 5xx ratio, percent (5 min)',
      '    timeout: 10 # seconds',
      '    config:',
      '      # PromQL, instant query. Alert labels go in as escaped string literals:',
      '      # {{ alert.labels.namespace | default "production" }}',
      `      query: sum(rate(http_requests_total{service="${service}",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="${service}"}[5m])) * 100`,
      '    interpret: # CEL over value (first sample or null), values, count, empty; first true wins',
      '      critical: "!empty && value >= 5"',
      '      warning: "!empty && value >= 1"',
      '      healthy: "empty || value < 1"',
    ],
    criticalFacts: '{ value: 7.5, values: [], count: 1, empty: false }',
  },
  http_check: {
    id: 'health_endpoint',
    body: (service) => [
      '    name: Health endpoint answers',
      '    timeout: 10',
      '    config:',
      '      slowMs: 1000 # slower answers count in slow_count',
      '      urls:',
      `        - name: ${service}`,
      `          url: http://${service}.example.internal/healthz # change me`,
      '          expectStatus: [200]',
      '    interpret: # facts: checks, all_healthy, any_unreachable, max_latency_ms, slow_count, min_cert_days',
      '      critical: any_unreachable',
      '      warning: "!all_healthy || slow_count > 0"',
      '      healthy: all_healthy',
    ],
    criticalFacts:
      '{ checks: [], all_healthy: false, any_unreachable: true, max_latency_ms: null, slow_count: 0, min_cert_days: null }',
  },
  shell_command: {
    id: 'pods',
    body: (service) => [
      '    name: Pods of the service',
      '    timeout: 20',
      '    config:',
      '      # An argv list, never a shell string; alert labels may fill whole elements only.',
      `      command: [kubectl, get, pods, -n, production, -l, app=${service}, -o, json]`,
      '    interpret: # facts: exit_code, stdout, stderr, lines, json (stdout parsed when it is JSON)',
      '      critical: exit_code != 0',
      '      healthy: exit_code == 0',
    ],
    criticalFacts: '{ exit_code: 1, stdout: "", stderr: "connection refused", lines: [], json: null }',
  },
  database_query: {
    id: 'db_connections',
    body: () => [
      '    name: Database connections in use',
      '    timeout: 10',
      '    config:',
      '      database: default # a name under connections.databases (DATABASE_URL is "default")',
      '      # Read-only SQL; alert labels only as $1, $2… bind parameters.',
      '      query: SELECT count(*)::int FROM pg_stat_activity WHERE datname = $1',
      `      params: ['{{ alert.labels.datname | default "postgres" }}']`,
      '    interpret: # facts: rows, row_count, truncated, value (first column of the first row)',
      '      critical: value >= 90',
      '      warning: value >= 70',
      '      healthy: value < 70',
    ],
    criticalFacts: '{ rows: [], row_count: 1, truncated: false, value: 95 }',
  },
  log_search: {
    id: 'error_logs',
    body: (service) => [
      '    name: Errors in the logs (15 min)',
      '    timeout: 15',
      '    config:',
      '      source: loki # or file, with paths: [...] and pattern: <regex>',
      `      query: '{app="${service}"} |= "error"'`,
      '      sinceMinutes: 15',
      '    interpret: # facts: count, lines',
      '      critical: count >= 100',
      '      warning: count >= 10',
      '      healthy: count < 10',
    ],
    criticalFacts: '{ count: 250, lines: [] }',
  },
};

/** The step ids of `types`, in order: a type used again gets `_2`, `_3`… */
export function templateStepIds(types: readonly DiagnosticTypeName[]): string[] {
  const seen = new Map<string, number>();
  return types.map((type) => {
    const n = (seen.get(type) ?? 0) + 1;
    seen.set(type, n);
    const id = EXAMPLES[type].id;
    return n === 1 ? id : `${id}_${n}`;
  });
}

/** The runbook's text. */
export function runbookTemplate({ id, alertName, types }: RunbookTemplateInput): string {
  const service = id;
  const ids = templateStepIds(types);
  const diagnostics = types.flatMap((type, i) => [
    `  - id: ${ids[i]}`,
    `    type: ${type}`,
    ...EXAMPLES[type].body(service),
  ]);
  const anyCritical = ids.map((d) => `diagnostics.${d}.status == 'critical'`).join(' || ');
  return `${[
    '# yaml-language-server: $schema=./schema.json',
    `# Written by \`fireline new runbook\`. Check it with \`npx fireline lint\` and \`npx fireline test\`;`,
    '# README "Write your first runbook" explains each part.',
    `id: ${id}`,
    `name: ${JSON.stringify(`${alertName} response`)} # what responders see`,
    'description: What this alert means and what the runbook does about it.',
    'severity: P3 # P1 (worst) .. P4',
    `service: ${id} # the safety target of remediations, and a label for the history`,
    'triggers:',
    '  - type: alert',
    `    alertName: ${JSON.stringify(alertName)}`,
    '    matchers: [] # Alertmanager matchers, e.g. [\'namespace="production"\']',
    '  - type: manual # `fireline trigger` and the console may open it by hand',
    ...(types.length === 0
      ? [
          'diagnostics: [] # add checks: `fireline new runbook <id> --type prometheus_query …` shows each type',
        ]
      : ['diagnostics: # run in parallel when the alert fires', ...diagnostics]),
    'decisionTree: # every rule that holds adds its steps, in order; `otherwise` when none held',
    ...(types.length === 0
      ? []
      : [
          `  - condition: ${JSON.stringify(anyCritical)}`,
          '    then: [page_owner]',
          '    description: A check is critical',
        ]),
    '  - otherwise: true',
    '    then: [first_look]',
    'remediations:',
    '  - id: first_look',
    '    name: First look',
    '    type: manual # a checklist item for the responder',
    '    instructions: |',
    `      1. Open the dashboard of ${service} and compare with the hour before the alert.`,
    '      2. Note what you found on the incident, then acknowledge or escalate.',
    ...(types.length === 0
      ? []
      : [
          '  - id: page_owner',
          '    name: Page the owner',
          '    type: escalate # pages escalation.secondary, else escalation.primary',
        ]),
    'escalation:',
    '  primary: "#incidents" # Slack channel, or pagerduty:<service>, webhook:<name>',
    '  escalateAfterMinutes: 30 # unless acknowledged',
  ].join('\n')}\n`;
}

/** The test file's text: the quiet case, and one critical case per diagnostic. */
export function runbookTestTemplate({ id, types }: RunbookTemplateInput): string {
  const ids = templateStepIds(types);
  const critical = types.flatMap((type, i) => [
    `  - name: ${ids[i]} critical → page the owner`,
    '    diagnostics:',
    `      ${ids[i]}: { facts: ${EXAMPLES[type].criticalFacts} }`,
    '    expect:',
    `      verdicts: { ${ids[i]}: critical }`,
    '      remediations: [page_owner]',
    '      escalate: true',
  ]);
  return `${[
    `# Tests of ${id}.yaml: \`npx fireline test\` runs them offline, no Redis needed.`,
    `runbook: ${id}`,
    'defaults: { verdict: healthy } # the verdict of every diagnostic a case leaves out',
    'cases:',
    '  - name: all healthy → a first look',
    '    expect:',
    '      remediations: [first_look]',
    '      escalate: false',
    ...critical,
  ].join('\n')}\n`;
}
