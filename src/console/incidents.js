import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { ago, SEVERITY_TONE, STATUS, VERDICT } from './format.js';
import { useDebounced, useEventStream, useNow } from './live.js';
import { Link, replaceQuery } from './router.js';
import { Badge, html, LiveState, LoadError } from './ui.js';

/**
 * The incidents list: open ones by default, most severe and newest first, updated live. Above it,
 * a search of the incident history (`GET /api/v1/history?q=`): while it holds words, the page
 * lists the past incidents that match them, newest first, instead of the live list.
 */

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

/** The words searched for, from the address (`/?q=…`): back from an incident returns to the results. */
const readSearch = () => new URLSearchParams(location.search).get('q') ?? '';

const writeSearch = (q) => replaceQuery(q ? `q=${encodeURIComponent(q)}` : '');

function SearchBox({ query, onSearch }) {
  const [text, setText] = useState(query);
  const submit = (e) => {
    e.preventDefault();
    onSearch(text.trim());
  };
  const input = (e) => {
    const value = e.currentTarget.value;
    setText(value);
    // An emptied box (typed away, or its own clear button) brings the live list back at once.
    if (value.trim() === '' && query) onSearch('');
  };
  const clear = () => {
    setText('');
    onSearch('');
  };
  return html`<form class="search" role="search" aria-label="Past incidents" onSubmit=${submit}>
    <label for="history-q">Search past incidents</label>
    <div class="search-row">
      <input id="history-q" type="search" value=${text} onInput=${input} autocomplete="off"
        aria-describedby="history-q-hint" />
      <button type="submit" class="btn small">Search</button>
      ${query && html`<button type="button" class="btn small" onClick=${clear}>Clear</button>`}
    </div>
    <p class="hint" id="history-q-hint">Words of the runbook, the service or the alert, or a label value
      ${' '}such as a pod's name; every word must match. Clear the box to see the live list again.</p>
  </form>`;
}

/** The past incidents that match `query`, newest first, in pages (`nextCursor`). */
function SearchResults({ query, now }) {
  const [state, setState] = useState({ status: 'loading' });
  const [more, setMore] = useState({ busy: false, error: null });
  const path = `/api/v1/history?q=${encodeURIComponent(query)}&limit=50`;
  const load = async () => {
    setState({ status: 'loading' });
    try {
      setState({ status: 'ok', page: await api(path) });
    } catch (err) {
      setState(err.status === 409 ? { status: 'off', detail: err.detail } : { status: 'error', error: err });
    }
  };
  useEffect(() => {
    load();
  }, [path]);

  const page = state.page;
  const loadMore = async () => {
    setMore({ busy: true, error: null });
    try {
      const next = await api(`${path}&cursor=${encodeURIComponent(page.nextCursor)}`);
      setState({
        status: 'ok',
        page: { items: [...page.items, ...next.items], nextCursor: next.nextCursor },
      });
      setMore({ busy: false, error: null });
    } catch (err) {
      setMore({ busy: false, error: err });
    }
  };

  const count = page?.items.length ?? 0;
  const found =
    count === 0
      ? `No past incident matches “${query}”.`
      : `${page.nextCursor ? `The newest ${count}` : count} past ${count === 1 ? 'incident matches' : 'incidents match'} “${query}”.`;
  return html`<section class="search-results" aria-labelledby="search-results-h">
    <h2 id="search-results-h" class="visually-hidden">Search results</h2>
    <div role="status">
      ${state.status === 'loading' && html`<p>Searching the history…</p>`}
      ${state.status === 'ok' && html`<p class=${count === 0 ? 'panel empty' : ''}>${found}</p>`}
    </div>
    ${
      state.status === 'off' &&
      html`<div class="panel notice" data-testid="history-off"><p><strong>Past incidents cannot be searched.</strong>
        ${' '}${state.detail}</p></div>`
    }
    ${state.status === 'error' && html`<${LoadError} error=${state.error} retry=${load} />`}
    ${
      count > 0 &&
      html`<ul class="incident-list" aria-label="Past incidents found">
      ${page.items.map((i) => html`<${Row} key=${i.id} incident=${i} now=${now} />`)}
    </ul>`
    }
    ${
      page?.nextCursor &&
      html`<button type="button" class="btn" disabled=${more.busy} onClick=${loadMore}>
      ${more.busy ? 'Loading…' : 'Show more results'}</button>`
    }
    ${more.error && html`<p class="result fail" role="alert">Failed: ${more.error.text}</p>`}
  </section>`;
}

export function IncidentsPage() {
  const [search, setSearch] = useState(readSearch);
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

  const onSearch = (q) => {
    writeSearch(q);
    setSearch(q);
  };

  const items = page ? [...page.items].sort(bySeverityThenNewest) : [];
  const head = html`<div class="page-head">
      <h1>Incidents</h1>
      <${LiveState} state=${live} />
    </div>
    <${SearchBox} query=${search} onSearch=${onSearch} />`;
  if (search) return html`${head}<${SearchResults} key=${search} query=${search} now=${now} />`;
  return html`${head}
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
