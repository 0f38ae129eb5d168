import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { ago, SEVERITY_TONE, STATUS, VERDICT } from './format.js';
import { useDebounced, useEventStream, useNow } from './live.js';
import { Link } from './router.js';
import { Badge, html, LiveState, LoadError } from './ui.js';

/** The incidents list: open ones by default, most severe and newest first, updated live. */

const FILTERS = [
  { id: 'open', label: 'Open', query: 'open=true' },
  { id: 'resolved', label: 'Resolved', query: 'open=false' },
  { id: 'all', label: 'All', query: '' },
];

/** P1 before P2 …; within a severity, newest first. */
export function bySeverityThenNewest(a, b) {
  return a.severity.localeCompare(b.severity) || b.createdAt.localeCompare(a.createdAt);
}

function Flags({ incident }) {
  const waiting = incident.plan.filter((s) => s.state === 'awaiting_approval').length;
  const manual = incident.plan.filter((s) => s.kind === 'manual' && s.state === 'pending').length;
  return html`<span class="flags">
    ${waiting > 0 && html`<${Badge} meta=${{ symbol: '⚑', tone: 'warn' }} label=${`${waiting} to approve`} />`}
    ${manual > 0 && html`<${Badge} meta=${{ symbol: '☐', tone: 'warn' }} label=${`${manual} manual`} />`}
    ${
      incident.acknowledged
        ? html`<${Badge} meta=${{ symbol: '✓', tone: 'good' }} label="Acknowledged" />`
        : incident.status !== 'resolved' &&
          html`<${Badge} meta=${{ symbol: '!', tone: 'bad' }} label="Not acknowledged" />`
    }
    ${incident.escalated && html`<${Badge} meta=${{ symbol: '↑', tone: 'warn' }} label="Escalated" />`}
  </span>`;
}

function Row({ incident, now }) {
  const labels = incident.alert?.labels ?? {};
  return html`<li class="incident-row">
    <${Link} href=${`/incidents/${encodeURIComponent(incident.id)}`} class="row-link">
      <span class="row-head">
        <${Badge} meta=${{ symbol: '◆', tone: SEVERITY_TONE[incident.severity] ?? 'neutral' }} label=${incident.severity} />
        <strong class="row-title">${incident.runbookName}</strong>
      </span>
      <span class="row-meta">
        <${Badge} meta=${STATUS[incident.status]} />
        ${incident.overall && html`<${Badge} meta=${VERDICT[incident.overall]} />`}
        <span>${incident.service}</span>
        ${labels.alertname && html`<span>alert <code>${labels.alertname}</code></span>`}
        <span title=${incident.createdAt}>opened ${ago(incident.createdAt, now)}</span>
        <span class="muted">${incident.id}</span>
      </span>
      <${Flags} incident=${incident} />
    <//>
  </li>`;
}

export function IncidentsPage() {
  const [filter, setFilter] = useState('open');
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [more, setMore] = useState({ busy: false, error: null });
  const now = useNow(30_000);
  const query = FILTERS.find((f) => f.id === filter).query;

  const load = async () => {
    try {
      setPage(await api(`/api/v1/incidents?limit=100&${query}`));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  const reload = useDebounced(load, 300);
  useEffect(() => {
    document.title = 'Incidents — Fireline';
    setPage(null);
    load();
  }, [query]);
  const live = useEventStream('/api/v1/events', { onEvent: reload, onOpen: reload, onRefused: reload });

  const loadMore = async () => {
    setMore({ busy: true, error: null });
    try {
      const next = await api(
        `/api/v1/incidents?limit=100&${query}&cursor=${encodeURIComponent(page.nextCursor)}`,
      );
      setPage({ items: [...page.items, ...next.items], nextCursor: next.nextCursor });
      setMore({ busy: false, error: null });
    } catch (err) {
      setMore({ busy: false, error: err });
    }
  };

  const items = page ? [...page.items].sort(bySeverityThenNewest) : [];
  return html`<div class="page-head">
      <h1>Incidents</h1>
      <${LiveState} state=${live} />
    </div>
    <div class="filters" role="group" aria-label="Show">
      ${FILTERS.map(
        (f) => html`<button type="button" class="btn small" aria-pressed=${filter === f.id}
          onClick=${() => setFilter(f.id)}>${f.label}</button>`,
      )}
    </div>
    ${error && html`<${LoadError} error=${error} retry=${load} />`}
    ${!page && !error && html`<p>Loading incidents…</p>`}
    ${
      page &&
      items.length === 0 &&
      html`<p class="panel empty">${filter === 'open' ? 'No open incidents.' : 'No incidents here.'}
      ${' '}New incidents appear here by themselves.</p>`
    }
    ${
      items.length > 0 &&
      html`<ul class="incident-list" aria-label="Incidents">
      ${items.map((i) => html`<${Row} key=${i.id} incident=${i} now=${now} />`)}
    </ul>`
    }
    ${
      page?.nextCursor &&
      html`<button type="button" class="btn" disabled=${more.busy} onClick=${loadMore}>
      ${more.busy ? 'Loading…' : 'Show older incidents'}</button>`
    }
    ${more.error && html`<p class="result fail" role="alert">Failed: ${more.error.text}</p>`}`;
}
