import { useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { clock, STEP_KIND, STEP_STATE } from './format.js';
import { ActionResult, Badge, html, READ_ONLY_REASON, useAction, useSession } from './ui.js';

/** The plan: automated steps with their state, approvals to give, manual steps to tick off. */

function Approval({ incident, step, onDone }) {
  const { canAct } = useSession();
  const [comment, setComment] = useState('');
  const action = useAction();
  const decide = async (decision) => {
    const ok = await action.run(
      () =>
        api(`/api/v1/incidents/${seg(incident.id)}/approvals/${seg(step.stepId)}`, {
          method: 'POST',
          // The hash names the rendering shown below: an approval approves exactly that.
          body: {
            decision,
            ...(comment ? { comment } : {}),
            ...(step.action ? { hash: step.action.hash } : {}),
          },
        }),
      decision === 'approve'
        ? `Approved “${step.name}”: it is queued to run.`
        : `Rejected “${step.name}”: it will not run.`,
    );
    if (ok) onDone();
  };
  const waiting = step.state === 'awaiting_approval' && incident.status !== 'resolved';
  const disabled = !canAct || action.busy;
  const why = `why-${step.stepId}`;
  return html`${
    waiting &&
    html`<div class="approval">
      ${
        incident.alertResolved &&
        html`<p class="alert-resolved" role="status"><strong>The alert has resolved at the source.</strong> Approving now will skip this step unless its runbook says <code>runWhenResolved</code>.</p>`
      }
      ${
        canAct &&
        html`<label for=${`comment-${step.stepId}`}>Comment (optional)</label>
        <textarea id=${`comment-${step.stepId}`} rows="2" value=${comment}
          onInput=${(e) => setComment(e.currentTarget.value)}></textarea>`
      }
      <div class="buttons">
        <button type="button" class="btn primary" disabled=${disabled} aria-describedby=${canAct ? undefined : why}
          onClick=${() => decide('approve')}><span aria-hidden="true">✓ </span>Approve</button>
        <button type="button" class="btn danger" disabled=${disabled} aria-describedby=${canAct ? undefined : why}
          onClick=${() => decide('reject')}><span aria-hidden="true">✗ </span>Reject</button>
      </div>
      ${!canAct && html`<p class="readonly" id=${why}>${READ_ONLY_REASON}</p>`}
    </div>`
  }
    <${ActionResult} result=${action.result} />`;
}

/** Exactly what will run once approved: the action as rendered for this incident. */
function WhatRuns({ action }) {
  return html`<details class="what-runs" open>
    <summary>What will run (${action.type} on ${action.target})</summary>
    <pre tabindex="0" aria-label="The rendered action"><code>${JSON.stringify(action.config, null, 2)}</code></pre>
  </details>`;
}

function Manual({ incident, step, onDone }) {
  const { canAct } = useSession();
  const action = useAction();
  // Stays ticked from the API's answer until the reloaded incident says `done` (no flicker).
  const [ticked, setTicked] = useState(false);
  const done = step.state === 'done' || ticked;
  const complete = async () => {
    const path = `/api/v1/incidents/${seg(incident.id)}/steps/${seg(step.stepId)}/complete`;
    const ok = await action.run(async () => {
      const answer = await api(path, { method: 'POST', body: {} });
      setTicked(true);
      return answer;
    }, `Marked “${step.name}” done.`);
    if (ok) onDone();
  };
  const id = `done-${step.stepId}`;
  const blocked = !canAct || incident.status === 'resolved';
  return html`<div class="manual">
      ${step.instructions && html`<p class="instructions">${step.instructions}</p>`}
      <label class="check" for=${id}>
        <input id=${id} type="checkbox" checked=${done || action.busy} disabled=${done || blocked || action.busy}
          aria-describedby=${canAct ? undefined : `why-${step.stepId}`} onChange=${complete} />
        <span>Done${done && step.by ? ` — ticked by ${step.by}` : ''}</span>
      </label>
      ${!canAct && !done && html`<p class="readonly" id=${`why-${step.stepId}`}>${READ_ONLY_REASON}</p>`}
    </div>
    <${ActionResult} result=${action.result} />`;
}

function Step({ incident, step, index, onDone }) {
  const meta = STEP_STATE[step.state] ?? { symbol: '?', word: step.state, tone: 'neutral' };
  return html`<li class=${`step tone-edge-${meta.tone}`} id=${`step-${step.stepId}`} data-step=${step.stepId}>
    <div class="step-head">
      <span><span class="muted">${index + 1}. ${STEP_KIND[step.kind] ?? step.kind}</span><br /><strong>${step.name}</strong></span>
      <${Badge} meta=${meta} big />
    </div>
    ${step.actionType && html`<p class="muted">Action <code>${step.actionType}</code> · <code>${step.stepId}</code>${step.action ? html` · rendering <code class="hash">${step.action.hash}</code>` : ''}</p>`}
    ${step.action && step.kind === 'approval' && html`<${WhatRuns} action=${step.action} />`}
    ${step.by && step.state !== 'done' && html`<p>${STEP_STATE[step.state]?.word ?? step.state} by ${step.by}${step.at ? ` at ${clock(step.at)}` : ''}${step.comment ? `: “${step.comment}”` : ''}</p>`}
    ${step.detail && html`<p class="detail"><code>${step.detail}</code></p>`}
    ${step.kind === 'approval' && html`<${Approval} incident=${incident} step=${step} onDone=${onDone} />`}
    ${step.kind === 'manual' && html`<${Manual} incident=${incident} step=${step} onDone=${onDone} />`}
  </li>`;
}

export function PlanPanel({ incident, onDone }) {
  const plan = incident.plan ?? [];
  return html`<section class="panel plan" aria-labelledby="plan-title" id="plan">
    <h2 id="plan-title">Plan</h2>
    ${
      plan.length === 0 &&
      html`<p>${incident.decision ? 'The decision called for no remediation.' : 'The plan appears once the diagnostics are in.'}</p>`
    }
    <ol class="steps">
      ${plan.map((s, i) => html`<${Step} key=${s.stepId} incident=${incident} step=${s} index=${i} onDone=${onDone} />`)}
    </ol>
  </section>`;
}
