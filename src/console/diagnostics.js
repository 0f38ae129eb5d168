import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { ChartKey, MetricChart, useTheme } from './chart.js';
import { explainVerdict, keyFacts } from './explain.js';
import { duration, VERDICT } from './format.js';
import { Badge, html } from './ui.js';

/**
 * Each diagnostic: waiting, running (with time so far), or its verdict with the facts behind it,
 * and the chart of its series around the alert (with the chart of its verify re-run beside it).
 */

/** Events after which the API may have a new chart. */
const CHART_EVENTS = new Set(['diagnostic.finished', 'diagnostic.charted']);

/**
 * The incident's charts by step: `{ [stepId]: { diagnosis, verify } }`. Read once, then again
 * (coalesced) whenever a diagnostic finished (its chart is stored beside its verdict) or a chart
 * came later from its own job (`diagnostic.charted`); `error` when the read failed.
 */
function useCharts(incidentId, events) {
  const [state, setState] = useState({ byStep: {}, error: null });
  let last = '';
  for (const e of events) if (CHART_EVENTS.has(e.type)) last = e.id;
  const first = useRef(true);
  useEffect(() => {
    let stale = false;
    const read = async () => {
      try {
        const { charts } = await api(`/api/v1/incidents/${seg(incidentId)}/charts`);
        const byStep = {};
        for (const view of charts) byStep[view.stepId] = { ...byStep[view.stepId], [view.phase]: view };
        if (!stale) setState({ byStep, error: null });
      } catch (err) {
        // The incident page says it when the incident is gone; the charts need not say it twice.
        if (!stale) setState((s) => ({ ...s, error: err.status === 404 ? null : err }));
      }
    };
    // The event replay of a page load brings many events at once: one read for all of them.
    const timer = setTimeout(read, first.current ? 0 : 300);
    first.current = false;
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [incidentId, last]);
  return state;
}

/** The name of the remediation whose verify re-ran each diagnostic (the latest one), by step id. */
function verifiedBy(events, plan) {
  const names = {};
  for (const e of events) {
    if (e.type !== 'remediation.verified') continue;
    const name = plan?.find((s) => s.stepId === e.data?.stepId)?.name ?? e.data?.stepId;
    for (const v of e.data?.verdicts ?? []) names[v.stepId] = name;
  }
  return names;
}

/**
 * The chart of a step, and after a verify the chart of the re-run beside it. A lone chart is
 * captioned with its title only when that says more than the card's heading.
 */
function StepCharts({ step, charts, remediation, theme }) {
  const { diagnosis, verify } = charts;
  if (!diagnosis && !verify) return null;
  const figure = (view, caption, withKey) =>
    html`<figure class="chart-figure">
      ${caption && html`<figcaption>${caption}</figcaption>`}
      <${MetricChart} view=${view} theme=${theme} withKey=${withKey} />
    </figure>`;
  if (!verify)
    return html`<div class="charts">
      ${figure(diagnosis, diagnosis.title !== step.name && diagnosis.title, true)}
    </div>`;
  return html`<div class="charts pair">
      ${diagnosis && figure(diagnosis, 'At diagnosis', false)}
      ${figure(verify, `After ${remediation ?? 'the remediation'} (verify)`, false)}
    </div>
    <${ChartKey} views=${[diagnosis, verify]} />`;
}

function startedAt(events) {
  const started = {};
  for (const e of events)
    if (e.type === 'diagnostic.started' && e.data?.stepId) started[e.data.stepId] = e.at;
  return started;
}

function Diagnostic({ step, verdict, started, now, charts, remediation, theme }) {
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
    ${charts && html`<${StepCharts} step=${step} charts=${charts} remediation=${remediation} theme=${theme} />`}
  </li>`;
}

export function DiagnosticsPanel({ incident, runbook, events, now }) {
  const started = startedAt(events);
  const verdicts = incident.verdicts ?? {};
  const steps = runbook?.diagnostics?.length
    ? runbook.diagnostics
    : Object.keys(verdicts).map((id) => ({ id, name: id }));
  const done = steps.filter((s) => verdicts[s.id]).length;
  const charts = useCharts(incident.id, events);
  const remediations = verifiedBy(events, incident.plan);
  const theme = useTheme();
  return html`<section class="panel diagnostics" aria-labelledby="diag-title">
    <h2 id="diag-title">Diagnostics <span class="count">${done} of ${steps.length} done</span></h2>
    ${incident.overall && html`<p>Overall: <${Badge} meta=${VERDICT[incident.overall]} /></p>`}
    ${charts.error && html`<p class="muted">The charts could not be loaded: ${charts.error.text}</p>`}
    <ul class="diag-list">
      ${steps.map(
        (s) =>
          html`<${Diagnostic}
            key=${s.id}
            step=${s}
            verdict=${verdicts[s.id]}
            started=${started[s.id]}
            now=${now}
            charts=${charts.byStep[s.id]}
            remediation=${remediations[s.id]}
            theme=${theme}
          />`,
      )}
    </ul>
  </section>`;
}
