import { explainVerdict, keyFacts } from './explain.js';
import { duration, VERDICT } from './format.js';
import { Badge, html } from './ui.js';

/** Each diagnostic: waiting, running (with time so far), or its verdict with the facts behind it. */

function startedAt(events) {
  const started = {};
  for (const e of events)
    if (e.type === 'diagnostic.started' && e.data?.stepId) started[e.data.stepId] = e.at;
  return started;
}

function Diagnostic({ step, verdict, started, now }) {
  let state;
  if (verdict) state = VERDICT[verdict.status] ?? VERDICT.unknown;
  else if (started) state = VERDICT.running;
  else state = VERDICT.pending;
  const facts = verdict ? keyFacts(verdict.facts) : [];
  return html`<li class=${`diag tone-edge-${state.tone}`} data-step=${step.id}>
    <div class="diag-head">
      <span><strong>${step.name}</strong> <code class="muted">${step.id}</code></span>
      <${Badge} meta=${state} big />
    </div>
    ${step.description && html`<p class="muted">${step.description}</p>`}
    ${!verdict && started && html`<p>Running for ${duration(now - Date.parse(started))}…</p>`}
    ${verdict && html`<p class="explain">${explainVerdict(step.id, verdict)}</p>`}
    ${verdict?.matched && verdict.message && html`<p>${verdict.message}</p>`}
    ${
      facts.length > 0 &&
      html`<dl class="kv facts">
      ${facts.map(([k, v]) => html`<div><dt>${k}</dt><dd><code>${v}</code></dd></div>`)}
    </dl>`
    }
    ${verdict && html`<p class="muted">Took ${duration(verdict.durationMs)} · ${step.type ?? ''}</p>`}
  </li>`;
}

export function DiagnosticsPanel({ incident, runbook, events, now }) {
  const started = startedAt(events);
  const verdicts = incident.verdicts ?? {};
  const steps = runbook?.diagnostics?.length
    ? runbook.diagnostics
    : Object.keys(verdicts).map((id) => ({ id, name: id }));
  const done = steps.filter((s) => verdicts[s.id]).length;
  return html`<section class="panel diagnostics" aria-labelledby="diag-title">
    <h2 id="diag-title">Diagnostics <span class="count">${done} of ${steps.length} done</span></h2>
    ${incident.overall && html`<p>Overall: <${Badge} meta=${VERDICT[incident.overall]} /></p>`}
    <ul class="diag-list">
      ${steps.map(
        (s) =>
          html`<${Diagnostic} key=${s.id} step=${s} verdict=${verdicts[s.id]} started=${started[s.id]} now=${now} />`,
      )}
    </ul>
  </section>`;
}
