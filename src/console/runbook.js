import { useEffect, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { SEVERITY_TONE } from './format.js';
import { Link } from './router.js';
import { triggerText } from './runbooks.js';
import { Badge, html, LoadError } from './ui.js';

/** One runbook as a diagram: trigger → diagnostics in parallel → rules in order → steps → escalation. */

const LEVELS = [
  ['critical', '✗', 'bad'],
  ['warning', '⚠', 'warn'],
  ['healthy', '✓', 'good'],
];

const Arrow = ({ label }) =>
  html`<div class="arrow" aria-hidden="true"><span>↓</span>${label && html` ${label}`}</div>`;

function Stage({ title, note, children }) {
  return html`<section class="stage" aria-label=${title}>
    <h2>${title}${note && html` <span class="count">${note}</span>`}</h2>
    ${children}
  </section>`;
}

function DiagnosticBox({ d }) {
  return html`<li class="box">
    <strong>${d.name}</strong> <code class="muted">${d.id}</code>
    <p class="muted">${d.type} · timeout ${d.timeout} s</p>
    ${d.description && html`<p>${d.description}</p>`}
    <ul class="levels">
      ${LEVELS.filter(([level]) => d.interpret[level]).map(
        ([
          level,
          symbol,
          tone,
        ]) => html`<li><span class=${`badge tone-${tone}`}><span aria-hidden="true">${symbol}</span> ${level}</span>
          ${' '}when <code>${d.interpret[level]}</code></li>`,
      )}
      <li class="muted">none true → unknown; failure → error</li>
    </ul>
  </li>`;
}

function RuleRow({ rule, index, names }) {
  return html`<li class="rule-row">
    <div class="box">
      <span class="muted">Rule ${index + 1}</span> ${rule.description && html`<strong>${rule.description}</strong>`}
      <p>${rule.otherwise ? html`<strong>Otherwise</strong> (no rule above held)` : html`When <code>${rule.condition}</code>`}</p>
      ${rule.stop && html`<p class="muted">Stop here when it holds.</p>`}
    </div>
    <div class="then" aria-hidden="true">→</div>
    <div class="box steps-box">
      <span class="muted">then</span>
      <ul>${rule.then.map((id) => html`<li><a href=${`#rem-${id}`}>${names[id] ?? id}</a></li>`)}</ul>
    </div>
  </li>`;
}

function RemediationBox({ r }) {
  return html`<li class="box" id=${`rem-${r.id}`}>
    <strong>${r.name}</strong> <code class="muted">${r.id}</code>
    <p>
      <${Badge} meta=${{ symbol: r.type === 'manual' ? '☐' : r.type === 'escalate' ? '↑' : '⚙', tone: 'info' }} label=${r.type} />
      ${r.requiresApproval && html` <${Badge} meta=${{ symbol: '⚑', tone: 'warn' }} label="needs approval" />`}
      ${r.action && html` action <code>${r.action.type}</code>`}
    </p>
    ${r.description && html`<p>${r.description}</p>`}
    ${r.instructions && html`<p class="instructions">${r.instructions}</p>`}
    ${r.verify && html`<p class="muted">Verifies after ${r.verify.afterSeconds} s with ${r.verify.diagnostics.join(', ')}.</p>`}
  </li>`;
}

export function RunbookPage({ id }) {
  const [runbook, setRunbook] = useState(null);
  const [error, setError] = useState(null);
  const load = async () => {
    try {
      setRunbook((await api(`/api/v1/runbooks/${seg(id)}`)).runbook);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    load();
  }, [id]);
  useEffect(() => {
    if (runbook) document.title = `${runbook.name} — Runbooks — Fireline`;
  }, [runbook]);
  if (error) return html`<${LoadError} error=${error} retry=${load} />`;
  if (!runbook) return html`<p>Loading the runbook…</p>`;
  const names = Object.fromEntries(runbook.remediations.map((r) => [r.id, r.name]));
  const esc = runbook.escalation;
  return html`<p class="crumbs"><${Link} href="/runbooks" class="crumb"><span aria-hidden="true">← </span>All runbooks<//></p>
    <h1>${runbook.name}</h1>
    <p><${Badge} meta=${{ symbol: '◆', tone: SEVERITY_TONE[runbook.severity] ?? 'neutral' }} label=${runbook.severity} />
      ${' '}${runbook.service} <code class="muted">${runbook.id}</code>${runbook.dryRun ? ' · dry run' : ''}</p>
    ${runbook.description && html`<p>${runbook.description}</p>`}
    <p><${Link} href=${`/stats?runbook=${encodeURIComponent(runbook.id)}`}>Effectiveness: how well this runbook works<//></p>
    <div class="diagram">
      <${Stage} title="1. Starts on">
        <ul class="boxes">${runbook.triggers.map((t) => html`<li class="box">${triggerText(t)}</li>`)}</ul>
      <//>
      <${Arrow} label="runs, all at once" />
      <${Stage} title="2. Diagnostics" note="in parallel; first true of critical, warning, healthy wins">
        <ul class="boxes">${runbook.diagnostics.map((d) => html`<${DiagnosticBox} key=${d.id} d=${d} />`)}</ul>
      <//>
      <${Arrow} label="verdicts feed" />
      <${Stage} title="3. Decision" note="rules in order; every rule that holds adds its steps">
        <ol class="rule-rows">${runbook.decisionTree.map((r, i) => html`<${RuleRow} rule=${r} index=${i} names=${names} />`)}</ol>
      <//>
      <${Arrow} label="plan" />
      <${Stage} title="4. Remediations">
        <ul class="boxes">${runbook.remediations.map((r) => html`<${RemediationBox} key=${r.id} r=${r} />`)}</ul>
      <//>
      <${Arrow} label="unless acknowledged" />
      <${Stage} title="5. Escalation">
        <p class="box">Tells <strong>${esc.primary}</strong> at once; escalates to <strong>${esc.secondary ?? esc.primary}</strong>
          ${' '}after ${esc.escalateAfterMinutes} min unless someone acknowledges.</p>
      <//>
    </div>`;
}
