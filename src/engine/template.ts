import { actionTypeSpec } from './action-types/index.ts';
import { type ArgvReader, argvShape } from './argv-shape.ts';
import { diagnosticTypeSpec } from './diagnostic-types/index.ts';
import type { Action, DiagnosticStep, Runbook } from './runbook-schema.ts';
import type { RenderResult, TemplateContext, TemplateTarget } from './template-render.ts';
import { checkField, renderField } from './template-render.ts';
import type { Field, Path } from './type-spec.ts';
import type { Alert, RunbookIssue } from './types.ts';

export type { RenderResult, TemplateContext, TemplateTarget } from './template-render.ts';

/** Which config fields of a diagnostic take templates, and for which destination. */
function diagnosticFields(step: DiagnosticStep): Field[] {
  return diagnosticTypeSpec(step.type)!.templateFields(step.config);
}

/** Which config fields of an action take templates, and for which destination. */
function actionFields(action: Action): Field[] {
  return actionTypeSpec(action.type)!.templateFields(action.config);
}

function setAt(root: unknown, path: Path, value: string): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
}

function renderFields<C>(
  config: C,
  fields: Field[],
  ctx: TemplateContext,
): { ok: true; config: C } | { ok: false; reason: string; path: Path } {
  const copy = structuredClone(config);
  for (const field of fields) {
    const r = renderField(field.value, ctx, field.mode);
    if (!r.ok) return { ok: false, reason: r.reason, path: ['config', ...field.path] };
    setAt(copy, field.path, r.value);
  }
  return { ok: true, config: copy };
}

/** Render one template for a destination. See {@link TemplateTarget} for the escaping of each. */
export function renderTemplate(template: string, ctx: TemplateContext, target: TemplateTarget): RenderResult {
  return renderField(template, ctx, target);
}

/**
 * SQL with bind parameters: the text must hold no template and is returned unchanged; each
 * `params` entry is rendered as plain text (NUL refused) and becomes the bind value `$1`, `$2`, ….
 */
export function renderSql(
  query: string,
  params: readonly string[],
  ctx: TemplateContext,
): { ok: true; text: string; values: string[] } | { ok: false; reason: string } {
  const text = renderField(query, ctx, 'sql');
  if (!text.ok) return text;
  const values: string[] = [];
  for (const [i, param] of params.entries()) {
    const r = renderField(param, ctx, 'sql-param');
    if (!r.ok) return { ok: false, reason: `params[${i}]: ${r.reason}` };
    values.push(r.value);
  }
  return { ok: true, text: text.value, values };
}

/**
 * A diagnostic's config with every template rendered for its destination: prometheus and loki
 * queries as PromQL/LogQL string literals, URLs percent-encoded, headers as text without line
 * breaks, argv words and env verbatim (a value may not make a word an option unless it follows a
 * `--` of its command), file paths verbatim (a value may not make them absolute nor leave their
 * directory), SQL params as bind values.
 * A failure names the field, e.g. `['config', 'urls', 0, 'url']`.
 */
export function renderDiagnosticConfig(
  step: DiagnosticStep,
  ctx: TemplateContext,
): { ok: true; config: DiagnosticStep['config'] } | { ok: false; reason: string; path: Path } {
  return renderFields(step.config, diagnosticFields(step), ctx);
}

/**
 * An action's config with every template rendered: Kubernetes deployment/namespace (and a
 * templated context) must be Kubernetes names after render; a cache pattern escapes glob
 * characters in values and never becomes `*`; scripts are argv or SQL with params; notify is text.
 */
export function renderActionConfig(
  action: Action,
  ctx: TemplateContext,
): { ok: true; config: Action['config'] } | { ok: false; reason: string; path: Path } {
  return renderFields(action.config, actionFields(action), ctx);
}

/** String leaves of a config, with their paths. */
function strings(value: unknown, path: Path): { path: Path; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, [...path, i]));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => strings(v, [...path, k]));
  return [];
}

function checkConfig(config: unknown, fields: Field[], at: Path): RunbookIssue[] {
  const issues: RunbookIssue[] = [];
  const rendered = new Set(fields.map((f) => JSON.stringify(f.path)));
  for (const field of fields) {
    const problem = checkField(field.value, field.mode);
    if (problem) issues.push({ path: [...at, ...field.path], message: problem, severity: 'error' });
  }
  for (const s of strings(config, [])) {
    if (s.value.includes('{{') && !rendered.has(JSON.stringify(s.path)))
      issues.push({
        path: [...at, ...s.path],
        message: 'templates are not rendered in this field; "{{" is used as written',
        severity: 'warning',
      });
  }
  return issues;
}

/**
 * Static template checks for `fireline lint`: syntax, known variables, placement (PromQL string
 * literals only, no template in a URL's scheme or host, none in SQL text, none in an argv word a
 * shell or interpreter reads as code or that names the program), literal Kubernetes names and
 * cache patterns, and a warning for `{{` in fields that are never rendered.
 * Paths look like `['diagnostics', 1, 'config', 'query']`.
 */
export function validateRunbookTemplates(runbook: Runbook): RunbookIssue[] {
  const issues: RunbookIssue[] = [];
  for (const [i, trigger] of runbook.triggers.entries()) {
    if (trigger.type !== 'metric_threshold') continue;
    const problem = checkField(trigger.metricQuery, 'promql');
    if (problem) issues.push({ path: ['triggers', i, 'metricQuery'], message: problem, severity: 'error' });
  }
  for (const [i, step] of runbook.diagnostics.entries()) {
    const at = ['diagnostics', i, 'config'];
    issues.push(...checkConfig(step.config, diagnosticFields(step), at));
    issues.push(...checkArgv(diagnosticTypeSpec(step.type)!.argv?.(step.config), at));
  }
  for (const [i, step] of runbook.remediations.entries()) {
    if (step.action) {
      const at = ['remediations', i, 'action', 'config'];
      issues.push(...checkConfig(step.action.config, actionFields(step.action), at));
      issues.push(...checkArgv(actionTypeSpec(step.action.type)!.argv?.(step.action.config), at));
    }
    const problem = step.instructions === undefined ? undefined : checkField(step.instructions, 'text');
    if (problem)
      issues.push({ path: ['remediations', i, 'instructions'], message: problem, severity: 'error' });
  }
  return issues;
}

/** Why a template may not sit in a word of an argv that is read as more than data. */
function codeMessage({ kind, by }: ArgvReader): string {
  if (kind === 'script')
    return `a template inside a ${by} -c script would run as shell code; pass the value as a positional argument ([${by}, -c, 'echo "$1"', ${by}, '{{ … }}']) or through env`;
  if (kind === 'code')
    return `a template inside ${by} code would run as code; pass the value as data the code reads: an argument after the code, or through env`;
  if (kind === 'line')
    return `${by}, so a template there would run as shell code; keep these words literal and pass the value another way`;
  return `a template here chooses the ${by ? `script or program ${by} runs` : 'program that runs'}; write it literally and pass alert values as arguments`;
}

/**
 * A template in a word that a shell or an interpreter reads as code (`sh -c` scripts, inline code
 * of python, node, perl …, awk and sed programs, everything after an ssh host), or that names the
 * program that runs, even behind wrappers (`env`, `sudo`, `timeout` …, `kubectl exec --`,
 * `docker exec`, `find -exec`): no escaping can make it safe there. See `argvShape`.
 */
function checkArgv(argv: { path: Path; argv: readonly string[] } | undefined, at: Path): RunbookIssue[] {
  if (!argv) return [];
  return argvShape(argv.argv)
    .readers.filter((r) => argv.argv[r.index]!.includes('{{'))
    .map((r) => ({ path: [...at, ...argv.path, r.index], message: codeMessage(r), severity: 'error' }));
}

/** The values templates can read, from an alert and the incident it belongs to. */
export function templateContext(
  alert: Alert,
  incident: { id: string; severity: string; service: string; runbookId: string },
): TemplateContext {
  return {
    alert: {
      labels: { ...alert.labels },
      annotations: { ...alert.annotations },
      fingerprint: alert.fingerprint,
      status: alert.status,
      startsAt: alert.startsAt,
    },
    incident: {
      id: incident.id,
      severity: incident.severity,
      service: incident.service,
      runbookId: incident.runbookId,
    },
  };
}
