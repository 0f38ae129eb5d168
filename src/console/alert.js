import { clock } from './format.js';
import { Link } from './router.js';
import { html } from './ui.js';

/** Why the runbook ran: the alert that opened the incident, and the runbook's own description. */

const SOURCE = {
  alertmanager: 'Alertmanager',
  grafana: 'Grafana',
  manual: 'a manual trigger',
  metric_threshold: 'a metric threshold Fireline watches',
};

export function AlertPanel({ incident, runbook }) {
  const alert = incident.alert ?? { labels: {}, annotations: {} };
  const { alertname, ...labels } = alert.labels ?? {};
  const { summary, description, ...annotations } = alert.annotations ?? {};
  const rows = [...Object.entries(labels), ...Object.entries(annotations)].sort(([a], [b]) =>
    a.localeCompare(b),
  );
  return html`<section class="panel why" aria-labelledby="why-title">
    <h2 id="why-title">Why this ran</h2>
    <p>
      Runbook <${Link} href=${`/runbooks/${encodeURIComponent(incident.runbookId)}`}><strong>${incident.runbookName}</strong><//>
      ${' '}ran because ${alertname ? html`alert <code>${alertname}</code>` : 'an alert'}
      ${' '}${alert.status === 'resolved' ? 'resolved' : 'fired'} (from ${SOURCE[alert.source] ?? alert.source})
      ${' '}at ${clock(alert.startsAt ?? incident.createdAt)}.
    </p>
    ${summary && html`<p class="alert-summary">${summary}</p>`}
    ${description && html`<p>${description}</p>`}
    ${runbook?.description && html`<p class="muted">Runbook: ${runbook.description}</p>`}
    ${
      rows.length > 0 &&
      html`<dl class="kv">
      ${rows.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}
    </dl>`
    }
    ${
      alert.generatorURL &&
      /^https?:\/\//.test(alert.generatorURL) &&
      html`<p><a href=${alert.generatorURL} rel="noreferrer noopener" target="_blank">Open the alert's source</a></p>`
    }
  </section>`;
}
