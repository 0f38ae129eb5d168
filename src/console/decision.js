import { diagnosticsRead, explainRule, explainVerdict } from './explain.js';
import { literal } from './format.js';
import { Badge, html } from './ui.js';

/** The decision and its reasoning: every rule in order, whether it held, and the values it read. */

const HELD = { symbol: '✓', word: 'Held', tone: 'good' };
const NOT_HELD = { symbol: '–', word: 'Did not hold', tone: 'neutral' };
const FAILED = { symbol: '!', word: 'Could not evaluate', tone: 'error' };

function Rule({ rule, incident, stepNames }) {
  const meta = rule.error ? FAILED : rule.matched ? HELD : NOT_HELD;
  const values = Object.entries(rule.values ?? {});
  const reasons = diagnosticsRead(rule)
    .map((id) => incident.verdicts?.[id] && explainVerdict(id, incident.verdicts[id]))
    .filter(Boolean);
  return html`<li class=${`rule${rule.matched ? ' held' : ''}`}>
    <div class="rule-head">
      <span><span class="muted">Rule ${rule.index + 1}</span> <strong>${rule.description || 'Rule'}</strong></span>
      <${Badge} meta=${meta} />
    </div>
    <p class="cond"><span class="muted">When </span><code>${rule.condition}</code></p>
    ${rule.condition !== 'otherwise' && html`<p class="explain">${explainRule(rule)}</p>`}
    ${reasons.map((r) => html`<p class="explain">${r}</p>`)}
    ${
      values.length > 0 &&
      html`<details>
      <summary>Values it read (${values.length})</summary>
      <dl class="kv">${values.map(([k, v]) => html`<div><dt>${k}</dt><dd><code>${literal(v)}</code></dd></div>`)}</dl>
    </details>`
    }
    ${rule.error && html`<p class="result fail">${rule.error}</p>`}
    ${rule.matched && rule.then.length > 0 && html`<p>Then: ${rule.then.map((id, i) => html`${i ? ', ' : ''}<strong>${stepNames[id] ?? id}</strong>`)}</p>`}
    ${rule.stopped && html`<p class="muted">Stop: later rules were not evaluated.</p>`}
  </li>`;
}

export function DecisionPanel({ incident }) {
  const decision = incident.decision;
  const stepNames = Object.fromEntries((incident.plan ?? []).map((s) => [s.stepId, s.name]));
  return html`<section class="panel decision" aria-labelledby="decision-title">
    <h2 id="decision-title">Decision</h2>
    ${!decision && html`<p>Waiting for the diagnostics to finish.</p>`}
    ${
      decision &&
      html`<p class="decision-summary">
      ${
        decision.remediations.length
          ? html`Plan: ${decision.remediations.map((id, i) => html`${i ? ' → ' : ''}<strong>${stepNames[id] ?? id}</strong>`)}`
          : 'No rule called for a remediation.'
      }
      ${decision.otherwiseApplied && html` (the otherwise rule applied)`}
    </p>
    <ol class="rules">
      ${decision.rationale.map((r) => html`<${Rule} key=${r.index} rule=${r} incident=${incident} stepNames=${stepNames} />`)}
    </ol>`
    }
  </section>`;
}
