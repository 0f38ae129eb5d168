import { useState } from 'preact/hooks';
import { api, download, seg } from './api.js';
import { clock, countdown } from './format.js';
import { ActionResult, html, ReadOnlyNote, useAction, useSession } from './ui.js';

/** The incident's one-click actions (acknowledge, resolve, report) and its escalation countdown. */

function Escalation({ incident, escalation, runbook, now }) {
  // The channels the notification policy pages (GET /api/v1/incidents/:id); none: nobody is paged.
  const to = escalation?.channels
    ? escalation.channels.join(', ') || 'no channel (the notification policy names none)'
    : (runbook?.escalation?.secondary ?? runbook?.escalation?.primary ?? 'the escalation channel');
  let text;
  let tone = 'neutral';
  if (incident.escalated) {
    text = `Escalated to ${to}.`;
    tone = 'warn';
  } else if (incident.status === 'resolved') text = 'No escalation: the incident is resolved.';
  else if (incident.acknowledged) text = 'Escalation cancelled: the incident is acknowledged.';
  else if (escalation?.dueAt) {
    const left = Date.parse(escalation.dueAt) - now;
    text =
      left > 0
        ? `Escalates to ${to} in ${countdown(left)} (at ${clock(escalation.dueAt)}) unless acknowledged.`
        : `Escalating to ${to} now.`;
    tone = left > 0 && left < 5 * 60_000 ? 'bad' : 'warn';
  } else text = 'No escalation is scheduled.';
  return html`<p class=${`escalation tone-${tone}`} data-testid="escalation">
    <span aria-hidden="true">↑ </span>${text}
  </p>`;
}

function ResolveButton({ incident, disabled, onDone }) {
  const [confirming, setConfirming] = useState(false);
  const [comment, setComment] = useState('');
  const action = useAction();
  const resolve = async () => {
    const ok = await action.run(
      () =>
        api(`/api/v1/incidents/${seg(incident.id)}/resolve`, {
          method: 'POST',
          body: comment ? { comment } : {},
        }),
      'Incident resolved.',
    );
    if (ok) {
      setConfirming(false);
      onDone();
    }
  };
  if (!confirming)
    return html`<span class="action">
      <button type="button" class="btn" disabled=${disabled} aria-describedby=${disabled ? 'readonly-why' : undefined}
        onClick=${() => setConfirming(true)}>
        <span aria-hidden="true">✓ </span>${incident.status === 'resolved' ? 'Resolved' : 'Resolve…'}
      </button>
      <${ActionResult} result=${action.result} />
    </span>`;
  return html`<div class="confirm panel" role="group" aria-labelledby="resolve-q">
    <p id="resolve-q"><strong>Resolve this incident?</strong> Pending steps will not run and escalation stops.</p>
    <label for="resolve-comment">What fixed it? (optional, goes in the report)</label>
    <textarea id="resolve-comment" rows="2" value=${comment} onInput=${(e) => setComment(e.currentTarget.value)}></textarea>
    <div class="buttons">
      <button type="button" class="btn primary" disabled=${action.busy} onClick=${resolve}>Yes, resolve</button>
      <button type="button" class="btn" onClick=${() => setConfirming(false)}>Cancel</button>
    </div>
    <${ActionResult} result=${action.result} />
  </div>`;
}

export function Actions({ incident, escalation, runbook, now, onDone }) {
  const { canAct } = useSession();
  const ack = useAction();
  const report = useAction();
  const resolved = incident.status === 'resolved';
  const acknowledge = async () => {
    if (
      await ack.run(
        () => api(`/api/v1/incidents/${seg(incident.id)}/ack`, { method: 'POST', body: {} }),
        (r) => (r.changed ? 'Acknowledged: escalation is cancelled.' : 'It was already acknowledged.'),
      )
    )
      onDone();
  };
  const getReport = () =>
    report.run(
      () => download(`/api/v1/incidents/${seg(incident.id)}/report.md`, `${incident.id}.md`),
      `Report downloaded as ${incident.id}.md.`,
    );
  return html`<section class="actions panel" aria-label="Incident actions">
    <div class="buttons">
      <span class="action">
        <button type="button" class="btn primary" onClick=${acknowledge}
          disabled=${!canAct || incident.acknowledged || resolved || ack.busy}
          aria-describedby=${canAct ? undefined : 'readonly-why'}>
          <span aria-hidden="true">${incident.acknowledged ? '✓ ' : ''}</span>${incident.acknowledged ? 'Acknowledged' : 'Acknowledge'}
        </button>
        <${ActionResult} result=${ack.result} />
      </span>
      <${ResolveButton} incident=${incident} disabled=${!canAct || resolved} onDone=${onDone} />
      <span class="action">
        <button type="button" class="btn" onClick=${getReport} disabled=${report.busy}>
          <span aria-hidden="true">⬇ </span>Post-incident report
        </button>
        <${ActionResult} result=${report.result} />
      </span>
    </div>
    ${!canAct && html`<${ReadOnlyNote} id="readonly-why" />`}
    <${Escalation} incident=${incident} escalation=${escalation} runbook=${runbook} now=${now} />
  </section>`;
}
