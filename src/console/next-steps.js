import { html, useSession } from './ui.js';

/** The one box a responder reads first: what to do now, in order, with links to where to do it. */

function stepsFor(incident) {
  if (incident.status === 'resolved')
    return [{ text: 'This incident is resolved. Download the post-incident report for the review.' }];
  const todo = [];
  if (!incident.acknowledged)
    todo.push({
      text: 'Acknowledge the incident so the team knows you are on it (this stops the escalation).',
    });
  if (!incident.decision) {
    todo.push({
      text: 'Wait for the diagnostics: their verdicts appear below as they finish.',
      href: '#diag-title',
    });
    return todo;
  }
  for (const s of incident.plan.filter((p) => p.state === 'awaiting_approval'))
    todo.push({ text: `Approve or reject “${s.name}”.`, href: `#step-${s.stepId}` });
  for (const s of incident.plan.filter((p) => p.kind === 'manual' && p.state === 'pending'))
    todo.push({ text: `Do the manual step “${s.name}”, then tick Done.`, href: `#step-${s.stepId}` });
  const running = incident.plan.filter((p) => ['approved', 'queued', 'running'].includes(p.state));
  if (running.length)
    todo.push({ text: `Wait for ${running.map((s) => `“${s.name}”`).join(', ')} to finish.`, href: '#plan' });
  const failed = incident.plan.filter((p) => ['failed', 'outcome_unknown'].includes(p.state));
  for (const s of failed)
    todo.push({
      text: `“${s.name}” ${s.state === 'failed' ? 'failed' : 'may or may not have run'}: check it by hand.`,
      href: `#step-${s.stepId}`,
    });
  if (todo.length === (incident.acknowledged ? 0 : 1))
    todo.push({ text: 'The plan is done. Check that the service is healthy, then Resolve.' });
  return todo;
}

export function NextSteps({ incident }) {
  const { canAct } = useSession();
  const todo = stepsFor(incident);
  return html`<section class="next panel" aria-labelledby="next-title">
    <h2 id="next-title">What to do now</h2>
    ${!canAct && incident.status !== 'resolved' && html`<p class="readonly">You are watching with a viewer token: these steps are for an operator.</p>`}
    <ol>
      ${todo.map((t) => html`<li>${t.href ? html`<a href=${t.href}>${t.text}</a>` : t.text}</li>`)}
    </ol>
  </section>`;
}
