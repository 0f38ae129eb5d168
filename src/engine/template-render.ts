/**
 * Templates in step configs: `{{ alert.labels.namespace }}`, with an optional fallback for a value
 * that is absent or empty: `{{ alert.labels.namespace | default "production" }}` (the default is a
 * double-quoted string; `\"` and `\\` are its only escapes). `{{` always opens a template. No other
 * logic exists in templates. An absent value without a default is a render error naming the variable.
 *
 * Each field renders for its destination, because label values are untrusted text:
 * - `promql` (also LogQL): a template may only sit inside a `"…"` or `'…'` string literal; the value
 *   is escaped for that literal (Go string escapes). When the literal follows `=~`, `!~` or `|~` the
 *   value is first regex-escaped (RE2), so it matches itself literally.
 * - `argv`: the value fills part of one argv element, verbatim (no shell ever runs); NUL is rejected,
 *   and so is a word the value makes start with "-" (an option), unless the text before the first
 *   template is an option name and "=" (`--selector=app={{ … }}`).
 * - `url`: the value is percent-encoded (encodeURIComponent); templates in the scheme or host are
 *   rejected, as is a rendered `.` or `..` path segment.
 * - `sql`: no templates in SQL text at all; values go in `params` as bind values.
 * - `text`: plain substitution (messages, instructions).
 */
export type TemplateTarget = 'text' | 'promql' | 'argv' | 'url' | 'sql';

/** What templates can read; built by `templateContext` in `template.ts`. */
export interface TemplateContext {
  alert: {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    fingerprint: string;
    status: string;
    startsAt: string;
  };
  incident: { id: string; severity: string; service: string; runbookId: string };
}

export type RenderResult = { ok: true; value: string } | { ok: false; reason: string };

/**
 * Destinations of config fields, finer than {@link TemplateTarget}: `sql-param`, `env` and `argv-operand`
 * (an argv word after `--`: it may start with "-") are verbatim; in a `path` a value may not start with
 * "/" nor hold `..`, and the path stays in the directory written before its first template; `header`
 * refuses line breaks; `k8s-name` must be a Kubernetes name after render (`k8s-context` only when
 * templated); `cache-pattern` escapes glob characters in values and never matches every key.
 */
export type Mode =
  | TemplateTarget
  | 'argv-operand'
  | 'env'
  | 'sql-param'
  | 'header'
  | 'path'
  | 'k8s-name'
  | 'k8s-context'
  | 'cache-pattern';

type Part = { kind: 'text'; text: string } | { kind: 'var'; name: string; fallback?: string };
type Parsed = { ok: true; parts: Part[] } | { ok: false; reason: string };
type Slot = { quote: string; regex: boolean } | null;
type Analysis = { ok: true; slots: Slot[] } | { ok: false; reason: string };
const fail = (reason: string) => ({ ok: false as const, reason });

const VARIABLE =
  /^(?:alert\.(?:labels|annotations)\.[a-zA-Z_][a-zA-Z0-9_]*|alert\.(?:fingerprint|status|startsAt)|incident\.(?:id|severity|service|runbookId))$/;
const BODY = /^\s*([^\s|]+)\s*(?:\|\s*default\s+"((?:[^"\\]|\\["\\])*)"\s*)?$/;
const VARIABLES_HELP =
  'alert.labels.<name>, alert.annotations.<name>, alert.fingerprint, alert.status, alert.startsAt, ' +
  'incident.id, incident.severity, incident.service or incident.runbookId';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const URL_HEAD = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*[/?#]/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const RE2_META = /[\\.+*?()|[\]{}^$]/g;
const GLOB_META = /[*?[\]\\]/g;
/** Bidi controls and line separators: invisible or misleading when a query is read back. */
const INVISIBLE = /^[\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]$/;

function parseTemplate(src: string): Parsed {
  const parts: Part[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      parts.push({ kind: 'text', text: src.slice(i) });
      break;
    }
    if (open > i) parts.push({ kind: 'text', text: src.slice(i, open) });
    const close = findClose(src, open + 2);
    if (close < 0) return fail(`"{{" at character ${open + 1} is never closed with "}}"`);
    const body = src.slice(open + 2, close);
    const m = BODY.exec(body);
    if (!m)
      return fail(
        `"{{${body}}}" is not a template; write {{ alert.labels.name }} or {{ alert.labels.name | default "value" }}`,
      );
    const name = m[1]!;
    if (!VARIABLE.test(name)) return fail(`unknown variable "${name}" in a template; use ${VARIABLES_HELP}`);
    const fallback = m[2]?.replace(/\\(["\\])/g, '$1');
    parts.push(fallback === undefined ? { kind: 'var', name } : { kind: 'var', name, fallback });
    i = close + 2;
  }
  return { ok: true, parts };
}

/** Index of the `}}` that closes a template body starting at `from`, skipping a quoted default. */
function findClose(src: string, from: number): number {
  let inString = false;
  for (let j = from; j < src.length; j++) {
    const ch = src[j];
    if (inString && ch === '\\') j++;
    else if (ch === '"') inString = !inString;
    else if (!inString && ch === '}' && src[j + 1] === '}') return j;
  }
  return -1;
}

function own(record: Record<string, string>, key: string): string | undefined {
  const v = Object.hasOwn(record, key) ? record[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}

function lookup(ctx: TemplateContext, name: string): string | undefined {
  const [root, field, key = ''] = name.split('.');
  if (root === 'incident') return own(ctx.incident as unknown as Record<string, string>, field!);
  if (field === 'labels') return own(ctx.alert.labels, key);
  if (field === 'annotations') return own(ctx.alert.annotations, key);
  return own(ctx.alert as unknown as Record<string, string>, field!);
}

/** Where each template of a PromQL/LogQL query sits: only inside a quoted string literal. */
function promqlSlots(parts: Part[]): Analysis {
  let state: 'code' | 'string' | 'raw' | 'comment' = 'code';
  let quote = '';
  let regex = false;
  let escaped = false;
  let code = '';
  // One entry per part, so that renderField can index slots by part.
  const slots: Slot[] = [];
  for (const part of parts) {
    if (part.kind === 'var') {
      const where = part.name;
      if (state === 'string' && !escaped) slots.push({ quote, regex });
      else if (state === 'string') return fail(`{{ ${where} }} follows a backslash inside a string literal`);
      else if (state === 'raw')
        return fail(`{{ ${where} }} is inside a backtick string, which cannot be escaped; use double quotes`);
      else if (state === 'comment') return fail(`{{ ${where} }} is inside a # comment`);
      else
        return fail(
          `{{ ${where} }} is outside a string literal; put it inside quotes, e.g. namespace="{{ ${where} }}"`,
        );
      continue;
    }
    slots.push(null);
    for (const ch of part.text) {
      if (state === 'code') {
        if (ch === '"' || ch === "'") {
          state = 'string';
          quote = ch;
          regex = /[=!|]~\s*$/.test(code);
        } else if (ch === '`') state = 'raw';
        else if (ch === '#') state = 'comment';
        else code += ch;
      } else if (state === 'string') {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === quote) {
          state = 'code';
          code += '""';
        }
      } else if (state === 'raw' && ch === '`') state = 'code';
      else if (state === 'comment' && ch === '\n') state = 'code';
    }
  }
  if ((state === 'string' || state === 'raw') && slots.some((slot) => slot !== null))
    return fail('a string literal holding a template is never closed');
  return { ok: true, slots };
}

/** Static checks of where templates may appear, per destination. */
function analyze(parts: Part[], mode: Mode): Analysis {
  const vars = parts.filter((p) => p.kind === 'var');
  if (mode === 'promql') return promqlSlots(parts);
  if (mode === 'sql' && vars.length > 0)
    return fail(
      'templates are not allowed in SQL text; use $1, $2 … parameters and put the template in params',
    );
  if (mode === 'url' && vars.length > 0) {
    const first = parts.findIndex((p) => p.kind === 'var');
    const head = parts
      .slice(0, first)
      .map((p) => (p.kind === 'text' ? p.text : ''))
      .join('');
    if (!URL_HEAD.test(head))
      return fail(
        'a template may only appear in the path, query or fragment of a URL (after scheme://host/), never in its scheme or host',
      );
  }
  return { ok: true, slots: parts.map(() => null) };
}

/** Go string-literal escaping, as the PromQL and LogQL lexers read it. */
function goString(value: string, quote: string): string {
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp <= 0x9f) || INVISIBLE.test(ch))
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

function encode(value: string, name: string, mode: Mode, slot: Slot): RenderResult {
  if (mode === 'promql' && slot)
    return { ok: true, value: goString(slot.regex ? value.replace(RE2_META, '\\$&') : value, slot.quote) };
  if (mode === 'url') return { ok: true, value: encodeURIComponent(value) };
  if (mode === 'cache-pattern') return { ok: true, value: value.replace(GLOB_META, '\\$&') };
  if (mode === 'header' && /[\r\n\0]/.test(value))
    return fail(`${name} contains a line break or NUL, which an HTTP header cannot carry`);
  if (mode !== 'text' && value.includes('\0')) return fail(`${name} contains a NUL byte`);
  // Header and env values may name Fireline's own environment as ${NAME}, filled in by the
  // executor (src/adapters/connections.ts envRefs): a value from an alert must never do that.
  if ((mode === 'header' || mode === 'env') && value.includes('${'))
    return fail(`${name} contains "\${", which would name a secret of Fireline's environment`);
  if (mode === 'path' && value.startsWith('/'))
    return fail(`${name} starts with "/": the path would be absolute`);
  if (mode === 'path' && value.split('/').includes('..'))
    return fail(`${name} has a ".." segment, which could leave the intended directory`);
  return { ok: true, value };
}

/** Whether `path` (no `..` segment; it starts with `dir`) stays in `dir` once `.` and `//` are gone. */
function within(path: string, dir: string): boolean {
  const norm = (p: string) => `/${p}/`.replace(/\/(\.?\/)+/g, '/');
  return norm(path).startsWith(norm(dir));
}

/** Checks of the finished string: `names` are the variables in it, `head` the text before the first. */
function postCheck(rendered: string, mode: Mode, names: string[], head: string): string | undefined {
  const shown = JSON.stringify(rendered);
  const templated = names.length > 0;
  if (mode === 'k8s-name' || (mode === 'k8s-context' && templated)) {
    if (rendered.length > 253 || !K8S_NAME.test(rendered))
      return `${shown} is not a Kubernetes name (lowercase letters, digits, "-" and ".", at most 253 characters)`;
  }
  if (mode === 'path' && rendered.split('/').includes('..'))
    return `the path ${shown} has a ".." segment, which could leave the intended directory`;
  if (mode === 'path' && templated && !within(rendered, head.slice(0, head.lastIndexOf('/') + 1)))
    return `the path ${shown} leaves the directory written before its first template`;
  if (mode === 'argv' && templated && rendered.startsWith('-') && !/^-[^=]*=/.test(head))
    return `${names.join(', ')} made the argument ${shown} start with "-", so the program would read it as an option; put the template after a "--" of the command (if it takes one) or write the option name and "=" before it`;
  if (mode === 'cache-pattern' && /^[*?]+$/.test(rendered))
    return `the pattern ${shown} would flush every key; name a prefix such as "session:*"`;
  if (mode === 'url' && templated) {
    const path = rendered.replace(URL_HEAD, '/').split(/[?#]/)[0]!;
    const dots = path.split('/').some((s) => /^(?:\.|%2e){1,2}$/i.test(s));
    if (dots) return `the URL ${shown} has a "." or ".." path segment, which would change its path`;
  }
  return undefined;
}

/** Render one field for its destination: parse, check placement, substitute with escaping, check the result. */
export function renderField(src: string, ctx: TemplateContext, mode: Mode): RenderResult {
  const parsed = parseTemplate(src);
  if (!parsed.ok) return parsed;
  const analysis = analyze(parsed.parts, mode);
  if (!analysis.ok) return analysis;
  let out = '';
  const names: string[] = [];
  for (const [i, part] of parsed.parts.entries()) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    names.push(part.name);
    const found = lookup(ctx, part.name);
    const value =
      (found === undefined || found === '') && part.fallback !== undefined ? part.fallback : found;
    if (value === undefined)
      return fail(
        `${part.name} is not set on this alert and the template has no default; write {{ ${part.name} | default "…" }}`,
      );
    if (LONE_SURROGATE.test(value)) return fail(`${part.name} is not valid Unicode text`);
    const encoded = encode(value, part.name, mode, analysis.slots[i] ?? null);
    if (!encoded.ok) return encoded;
    out += encoded.value;
  }
  const first = parsed.parts[0];
  const problem = postCheck(out, mode, names, first?.kind === 'text' ? first.text : '');
  return problem ? { ok: false, reason: problem } : { ok: true, value: out };
}

/** Static check of one field, as lint sees it: syntax, placement, and literal values. */
export function checkField(src: string, mode: Mode): string | undefined {
  const parsed = parseTemplate(src);
  if (!parsed.ok) return parsed.reason;
  const analysis = analyze(parsed.parts, mode);
  if (!analysis.ok) return analysis.reason;
  return parsed.parts.some((p) => p.kind === 'var') ? undefined : postCheck(src, mode, [], src);
}
