import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { SEVERITY_TONE } from './format.js';
import { Link } from './router.js';
import { Badge, html, LoadError } from './ui.js';

/** Every runbook this Fireline serves, with what starts it and what it checks and does. */

export function triggerText(t) {
  if (t.type === 'alert')
    return `alert ${t.alertName}${t.matchers?.length ? ` where ${t.matchers.join(', ')}` : ''}`;
  if (t.type === 'metric_threshold')
    return `metric ${t.metricQuery} ${t.comparison ?? '>'} ${t.threshold} (every ${t.intervalSeconds ?? 60} s)`;
  return 'manual trigger';
}

export function RunbooksPage() {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const load = async () => {
    try {
      setList((await api('/api/v1/runbooks')).runbooks);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    document.title = 'Runbooks — Fireline';
    load();
  }, []);
  return html`<h1>Runbooks</h1>
    ${error && html`<${LoadError} error=${error} retry=${load} />`}
    ${!list && !error && html`<p>Loading runbooks…</p>`}
    ${list?.length === 0 && html`<p class="panel empty">No runbooks are loaded. Add YAML files and reload.</p>`}
    <ul class="runbook-list">
      ${(list ?? []).map(
        (r) => html`<li key=${r.id} class="panel">
          <h2><${Link} href=${`/runbooks/${encodeURIComponent(r.id)}`}>${r.name}<//></h2>
          <p>
            <${Badge} meta=${{ symbol: '◆', tone: SEVERITY_TONE[r.severity] ?? 'neutral' }} label=${r.severity} />
            <span> ${r.service}</span> <code class="muted">${r.id}</code>
          </p>
          ${r.description && html`<p>${r.description}</p>`}
          <p><span class="muted">Starts on: </span>${r.triggers.map(triggerText).join('; ')}</p>
          <p><span class="muted">Checks: </span>${r.diagnostics.map((d) => d.name).join(', ') || 'nothing'}</p>
          <p><span class="muted">Can do: </span>${
            r.remediations
              .map((m) => `${m.name}${m.requiresApproval ? ' (needs approval)' : ''}`)
              .join(', ') || 'nothing'
          }</p>
        </li>`,
      )}
    </ul>`;
}
