import { clock } from './format.js';
import { html, LiveState } from './ui.js';

/** The complete timeline, oldest first, as it arrives. */

const SYMBOL = {
  incident: '●',
  alert: '⚡',
  diagnostic: '◎',
  decision: '⎇',
  remediation: '⚙',
  step: '☑',
  notification: '✉',
  escalation: '↑',
  note: '✎',
};

export function Timeline({ events, live }) {
  return html`<section class="panel timeline-panel" aria-labelledby="timeline-title">
    <div class="page-head">
      <h2 id="timeline-title">Timeline <span class="count">${events.length} events</span></h2>
      <${LiveState} state=${live} announce=${false} />
    </div>
    ${events.length === 0 && html`<p>Loading the timeline…</p>`}
    <ol class="timeline" data-testid="timeline">
      ${events.map(
        (e) => html`<li key=${e.id} data-event-id=${e.id} class=${`ev ev-${e.type.split('.')[0]}`}>
          <time datetime=${e.at}>${clock(e.at)}</time>
          <span class="ev-body">
            <span aria-hidden="true" class="ev-sym">${SYMBOL[e.type.split('.')[0]] ?? '•'} </span>${e.message}
            <span class="muted"> · ${e.actor}</span>
          </span>
        </li>`,
      )}
    </ol>
  </section>`;
}
