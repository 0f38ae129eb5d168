import { useEffect, useRef, useState } from 'preact/hooks';
import { Actions } from './actions.js';
import { AlertPanel } from './alert.js';
import { api, seg } from './api.js';
import { DecisionPanel } from './decision.js';
import { DiagnosticsPanel } from './diagnostics.js';
import { compareIds, SEVERITY_TONE, STATUS } from './format.js';
import { useDebounced, useEventStream, useNow } from './live.js';
import { NextSteps } from './next-steps.js';
import { PlanPanel } from './plan.js';
import { SaveAsTest } from './replay.js';
import { Link } from './router.js';
import { NotWiredBanner } from './setup.js';
import { Timeline } from './timeline.js';
import { Badge, html, LiveState, LoadError } from './ui.js';

/**
 * One incident as it happens. The incident document is re-read after each burst of live events;
 * the timeline is the event stream itself (replayed from the start, then live), deduplicated by
 * event id so a reconnect that replays an event never shows it twice.
 */

function useTimeline() {
  const seen = useRef(new Set());
  const pending = useRef([]);
  const [events, setEvents] = useState([]);
  // A replay delivers hundreds of events at once: merge them in one render, not one each.
  const flush = () => {
    const batch = pending.current;
    pending.current = [];
    setEvents((list) => [...list, ...batch].sort((a, b) => compareIds(a.id, b.id)));
  };
  const add = (event, id) => {
    const key = id || event.id;
    if (seen.current.has(key)) return;
    seen.current.add(key);
    if (pending.current.length === 0) setTimeout(flush, 0);
    pending.current.push({ ...event, id: key });
  };
  return { events, add };
}

export function IncidentPage({ id }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const timeline = useTimeline();
  const now = useNow(1000);

  const load = async () => {
    try {
      setData(await api(`/api/v1/incidents/${seg(id)}`));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  const reload = useDebounced(load, 150);
  useEffect(() => {
    load();
  }, [id]);
  const gone = error?.status === 404;
  const live = useEventStream(gone ? null : `/api/v1/incidents/${seg(id)}/events`, {
    onEvent: (event, eventId) => {
      timeline.add(event, eventId);
      reload();
    },
    onOpen: reload,
    onRefused: reload,
  });

  const incident = data?.incident;
  useEffect(() => {
    if (incident)
      document.title = `${STATUS[incident.status]?.word ?? ''} · ${incident.runbookName} — Fireline`;
  }, [incident?.status, incident?.runbookName]);

  if (gone)
    return html`<h1>Incident not found</h1>
      <p>${error.text}</p>
      <p><${Link} href="/">Back to the incidents<//></p>`;
  if (!data)
    return error ? html`<${LoadError} error=${error} retry=${load} />` : html`<p>Loading the incident…</p>`;

  return html`<div class="incident">
    <p class="crumbs"><${Link} href="/" class="crumb"><span aria-hidden="true">← </span>All incidents<//></p>
    <div class="page-head">
      <h1>${incident.runbookName}</h1>
      <${LiveState} state=${live} />
    </div>
    <p class="summary">
      <${Badge} meta=${{ symbol: '◆', tone: SEVERITY_TONE[incident.severity] ?? 'neutral' }} label=${incident.severity} big />
      <${Badge} meta=${STATUS[incident.status]} big />
      <span>${incident.service}</span>
      <span class="muted">${incident.id}</span>
      ${incident.dryRun && html`<${Badge} meta=${{ symbol: '◌', tone: 'neutral' }} label="Dry run: actions are recorded, not run" />`}
    </p>
    ${error && html`<${LoadError} error=${error} retry=${load} />`}
    <${NotWiredBanner} runbookId=${incident.runbookId} />
    <${Actions} incident=${incident} escalation=${data.escalation} runbook=${data.runbook} now=${now} onDone=${load} />
    <${NextSteps} incident=${incident} events=${timeline.events} />
    <div class="columns">
      <${AlertPanel} incident=${incident} runbook=${data.runbook} />
      <${PlanPanel} incident=${incident} onDone=${load} />
      <${DiagnosticsPanel} incident=${incident} runbook=${data.runbook} events=${timeline.events} now=${now} />
      <${DecisionPanel} incident=${incident} />
      <${Timeline} events=${timeline.events} live=${live} />
    </div>
    <${SaveAsTest} key=${incident.id} incident=${incident} />
  </div>`;
}
