import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from './api.js';
import { useTheme } from './chart.js';
import { themeColours } from './chart-plot.js';
import { clock, STEP_STATE } from './format.js';
import { Link, replaceQuery } from './router.js';
import { Badge, html, LoadError } from './ui.js';

/**
 * Effectiveness (`/stats`, `/stats?runbook=<id>`): how each runbook did over a time range, from the
 * incident history (`GET /api/v1/stats`). Per runbook: how many incidents, how fast evidence,
 * acknowledgement and resolution came (p50 and p90), how many were resolved without a human, what
 * its actions, rules and manual steps did, and two week-by-week charts, each with its summary in
 * words and its numbers as a table. Then the coverage: alerts no runbook handles, and runbooks
 * that never fired. The filters live in the address (`range`, `from`, `to`, `service`,
 * `runbook`), so a view can be shared. With the history off the API answers 409: its detail is
 * shown as a notice.
 */

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

const RANGES = [
  { id: '7d', label: 'Last 7 days', days: 7 },
  { id: '4w', label: 'Last 4 weeks', days: 28 },
  { id: '12w', label: 'Last 12 weeks', days: 84 },
  { id: 'custom', label: 'Custom' },
];

const CHART_HEIGHT = 180;

/** `45 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h` for a number of seconds; `—` when unknown. */
export function humanSeconds(s) {
  if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return '—';
  if (s < 10) return `${Math.round(s * 10) / 10} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const total = Math.round(s);
  if (total < 3600) {
    const sec = total % 60;
    return `${Math.floor(total / 60)} min${sec ? ` ${sec} s` : ''}`;
  }
  const minutes = Math.round(total / 60);
  if (minutes < 24 * 60) {
    const min = minutes % 60;
    return `${Math.floor(minutes / 60)} h${min ? ` ${min} min` : ''}`;
  }
  const hours = Math.round(total / 3600);
  const h = hours % 24;
  return `${Math.floor(hours / 24)} d${h ? ` ${h} h` : ''}`;
}

/** A share (0..1) as `83 %`; `—` when unknown. */
export function percent(share) {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  return `${Math.round(share * 100)} %`;
}

/** A week (`YYYY-MM-DD`, the day it starts) as `May 6`. */
function weekLabel(week) {
  return new Date(`${week}T00:00:00Z`).toLocaleDateString([], {
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  });
}

const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

/**
 * The weeks of the range, aligned on the API's weeks: a week without incidents is a zero (and no
 * time to resolve), not a gap the eye skips over.
 */
export function fillWeeks(weeks, fromIso, toIso) {
  if (weeks.length === 0) return [];
  const byWeek = new Map(weeks.map((w) => [w.week, w]));
  const known = weeks.map((w) => Date.parse(`${w.week}T00:00:00Z`)).filter(Number.isFinite);
  const from = Date.parse(fromIso);
  const to = Date.parse(toIso);
  // From the week holding `from` to the week holding `to` (a year and a half at most).
  let start = Math.min(...known);
  for (let i = 0; i < 80 && Number.isFinite(from) && start > from; i++) start -= WEEK_MS;
  let end = Math.max(...known);
  for (let i = 0; i < 80 && Number.isFinite(to) && end + WEEK_MS < to; i++) end += WEEK_MS;
  const out = [];
  for (let t = start; t <= end; t += WEEK_MS) {
    const week = isoDay(t);
    out.push(
      byWeek.get(week) ?? {
        week,
        incidents: 0,
        timeToResolveP50: null,
        resolvedUnattendedShare: null,
        escalations: 0,
      },
    );
  }
  return out;
}

/** The filters, from the address. */
function readFilters() {
  const p = new URLSearchParams(location.search);
  const range = RANGES.some((r) => r.id === p.get('range')) ? p.get('range') : '12w';
  return {
    range,
    from: p.get('from') ?? '',
    to: p.get('to') ?? '',
    service: p.get('service') ?? '',
    runbook: p.get('runbook') ?? '',
  };
}

/** The filters, into the address (replacing it: a filter change is not a page to go back to). */
function writeFilters(f) {
  const p = new URLSearchParams();
  if (f.runbook) p.set('runbook', f.runbook);
  if (f.service) p.set('service', f.service);
  if (f.range !== '12w') p.set('range', f.range);
  if (f.range === 'custom') {
    if (f.from) p.set('from', f.from);
    if (f.to) p.set('to', f.to);
  }
  replaceQuery(p.toString());
}

/** The request for the filters, or `{ invalid }` naming what is wrong with a custom range. */
function statsQuery(f, now = Date.now()) {
  const p = new URLSearchParams();
  if (f.range === 'custom') {
    if (!f.from || !f.to) return { invalid: 'Choose both days of the custom range.' };
    const from = new Date(`${f.from}T00:00:00`);
    const to = new Date(new Date(`${f.to}T00:00:00`).getTime() + DAY_MS);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()))
      return { invalid: 'Those days are not dates.' };
    if (from >= to) return { invalid: 'The first day must not be after the last.' };
    p.set('from', from.toISOString());
    p.set('to', to.toISOString());
  } else {
    const days = RANGES.find((r) => r.id === f.range)?.days ?? 84;
    p.set('from', new Date(now - days * DAY_MS).toISOString());
    p.set('to', new Date(now).toISOString());
  }
  if (f.service) p.set('service', f.service);
  if (f.runbook) p.set('runbook', f.runbook);
  return { path: `/api/v1/stats?${p}` };
}

function Filters({ filters, set, runbooks }) {
  const services = [...new Set((runbooks ?? []).map((r) => r.service))].sort();
  if (filters.service && !services.includes(filters.service)) services.push(filters.service);
  const ids = (runbooks ?? []).map((r) => r.id);
  return html`<div class="stats-filters">
    <div class="filters" role="group" aria-label="Time range">
      ${RANGES.map(
        (r) => html`<button type="button" class="btn small" aria-pressed=${filters.range === r.id}
          onClick=${() => set({ range: r.id })}>${r.label}</button>`,
      )}
    </div>
    ${
      filters.range === 'custom' &&
      html`<div class="stats-dates">
        <div><label for="stats-from">From (first day)</label>
          <input id="stats-from" type="date" value=${filters.from} max=${filters.to || undefined}
            onChange=${(e) => set({ from: e.currentTarget.value })} /></div>
        <div><label for="stats-to">To (last day)</label>
          <input id="stats-to" type="date" value=${filters.to} min=${filters.from || undefined}
            onChange=${(e) => set({ to: e.currentTarget.value })} /></div>
      </div>`
    }
    <div class="stats-selects">
      <div><label for="stats-service">Service</label>
        <select id="stats-service" value=${filters.service} onChange=${(e) => set({ service: e.currentTarget.value })}>
          <option value="">All services</option>
          ${services.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></div>
      <div><label for="stats-runbook">Runbook</label>
        <select id="stats-runbook" value=${filters.runbook} onChange=${(e) => set({ runbook: e.currentTarget.value })}>
          <option value="">All runbooks</option>
          ${(runbooks ?? []).map((r) => html`<option value=${r.id}>${r.name}</option>`)}
          ${filters.runbook && !ids.includes(filters.runbook) && html`<option value=${filters.runbook}>${filters.runbook}</option>`}
        </select></div>
    </div>
  </div>`;
}

/** `p50 · p90` of a duration pair (seconds). */
function Percentiles({ p }) {
  if (!p || (p.p50 === null && p.p90 === null)) return html`<span class="muted">no data</span>`;
  return html`<span class="big-figure">${humanSeconds(p.p50)}</span><span class="muted"> median</span>
    <span class="figure-note">${humanSeconds(p.p90)} at p90</span>`;
}

function Figures({ r }) {
  const figure = (term, value) => html`<div class="figure"><dt>${term}</dt><dd>${value}</dd></div>`;
  return html`<dl class="figures">
    ${figure(
      'Incidents',
      html`<span class="big-figure">${r.incidents}</span><span class="muted"> · ${r.resolved} resolved</span>`,
    )}
    ${figure('Time to evidence', html`<${Percentiles} p=${r.timeToEvidence} />`)}
    ${figure('Time to acknowledge', html`<${Percentiles} p=${r.timeToAcknowledge} />`)}
    ${figure('Time to resolve', html`<${Percentiles} p=${r.timeToResolve} />`)}
    ${figure(
      'Resolved without a human',
      html`<span class="big-figure">${percent(r.resolvedUnattendedShare)}</span>`,
    )}
    ${figure('Escalations', html`<span class="big-figure">${r.escalations}</span>`)}
  </dl>`;
}

/** A table that scrolls sideways on its own on a narrow screen (and can be scrolled by keyboard). */
function TableBox({ label, children }) {
  return html`<div class="table-box" role="region" aria-label=${label} tabindex="0">${children}</div>`;
}

function Actions({ actions, names }) {
  if (!actions?.length) return html`<p class="muted">No action ran in this range.</p>`;
  return html`<${TableBox} label="Actions">
    <table class="stats-table">
      <thead><tr><th scope="col">Step</th><th scope="col">Action</th><th scope="col" class="num">Runs</th>
        <th scope="col">Outcomes</th><th scope="col">Verify passed</th></tr></thead>
      <tbody>
        ${actions.map(
          (a) => html`<tr key=${a.stepId}>
            <th scope="row">${names[a.stepId] ?? a.stepId}${names[a.stepId] && html` <code class="muted">${a.stepId}</code>`}</th>
            <td>${a.actionType ? html`<code>${a.actionType}</code>` : html`<span class="muted">—</span>`}</td>
            <td class="num">${a.runs}</td>
            <td><span class="outcomes">${Object.entries(a.outcomes ?? {})
              .sort((x, y) => y[1] - x[1])
              .map(([state, count]) => {
                const meta = STEP_STATE[state];
                return html`<${Badge} meta=${meta} label=${`${meta?.word ?? state} ${count}`} />`;
              })}</span></td>
            <td>${
              a.verifySuccessRate === null || a.verifySuccessRate === undefined
                ? html`<span class="muted">not verified</span>`
                : html`<strong>${percent(a.verifySuccessRate)}</strong>
                  <span class="muted"> · ${a.verified} passed, ${a.verifyFailed} failed</span>`
            }</td>
          </tr>`,
        )}
      </tbody>
    </table>
  <//>`;
}

/** A rule's place in the decision tree, from 0. */
const ruleIndex = (r) => r.ruleIndex ?? r.index;

function Rules({ rules }) {
  if (!rules?.length) return html`<p class="muted">No rule was evaluated in this range.</p>`;
  return html`<${TableBox} label="Rules">
    <table class="stats-table">
      <thead><tr><th scope="col">Rule</th><th scope="col" class="num">Evaluated</th><th scope="col" class="num">Held</th>
        <th scope="col">How often it held</th></tr></thead>
      <tbody>
        ${rules.map(
          (r) => html`<tr key=${ruleIndex(r)}>
            <th scope="row"><span class="muted">Rule ${ruleIndex(r) + 1}</span> ${r.description}</th>
            <td class="num">${r.evaluated}</td>
            <td class="num">${r.held}</td>
            <td><span class="share"><span class="share-bar" aria-hidden="true"
              ><span style=${{ width: `${Math.round((r.heldShare ?? 0) * 100)}%` }}></span></span>${percent(r.heldShare)}</span></td>
          </tr>`,
        )}
      </tbody>
    </table>
  <//>`;
}

function ManualSteps({ steps, names }) {
  if (!steps?.length) return html`<p class="muted">No manual step was completed in this range.</p>`;
  return html`<${TableBox} label="Manual steps">
    <table class="stats-table">
      <thead><tr><th scope="col">Step</th><th scope="col" class="num">Completed</th>
        <th scope="col">Median time</th><th scope="col">p90</th></tr></thead>
      <tbody>
        ${steps.map(
          (m) => html`<tr key=${m.stepId}>
            <th scope="row">${names[m.stepId] ?? m.stepId}</th>
            <td class="num">${m.completed}</td>
            <td>${humanSeconds(m.duration?.p50)}</td>
            <td>${humanSeconds(m.duration?.p90)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  <//>`;
}

/** Ticks `space` CSS pixels apart at least: every week, or every other, … */
function tickIndices(n, plotWidth, space) {
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotWidth / space))));
  const out = [];
  for (let i = 0; i < n; i += every) out.push(i);
  return out;
}

/** Short y-axis labels for durations: `30 s`, `5 min`, `2 h`, `1.5 d`. */
function shortSeconds(s) {
  if (s === 0) return '0';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round((s / 60) * 10) / 10} min`;
  if (s < 86_400) return `${Math.round((s / 3600) * 10) / 10} h`;
  return `${Math.round((s / 86_400) * 10) / 10} d`;
}

const DURATION_INCRS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800,
  432_000, 864_000,
];
const COUNT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000];

/** uPlot's options for one week chart: a series over week indices, labelled by the week's start. */
function weekOptions({ labels, name, bars, formatAxis, formatValue, colours, width, legendEl }) {
  const n = labels.length;
  const axis = {
    stroke: colours.text,
    font: `12px ${colours.family}`,
    grid: { stroke: colours.grid, width: 1 },
    ticks: { stroke: colours.grid, width: 1, size: 4 },
  };
  const stroke = colours.series[0];
  return {
    width,
    height: CHART_HEIGHT,
    padding: [12, 12, null, null],
    legend: {
      mount: (_u, table) => legendEl.append(table),
      markers: { fill: () => stroke },
    },
    cursor: { drag: { x: false, y: false }, points: { size: 8 } },
    scales: {
      x: { time: false, range: () => [-0.5, n - 0.5] },
      y: {
        range: (_u, _min, max) => {
          const top = Number.isFinite(max) && max > 0 ? max : 1;
          return [0, top * 1.15];
        },
      },
    },
    axes: [
      {
        ...axis,
        size: 30,
        splits: (u) => tickIndices(n, u.width - 60, 64),
        values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
      },
      {
        ...axis,
        size: 64,
        incrs: bars ? COUNT_INCRS : DURATION_INCRS,
        values: (_u, splits) => splits.map(formatAxis),
      },
    ],
    series: [
      {
        label: 'Week of',
        value: (_u, v) => (v === null || v === undefined ? '—' : (labels[Math.round(v)] ?? '—')),
      },
      {
        label: name,
        stroke,
        width: 2,
        spanGaps: false,
        value: (_u, v, _s, idx) => (idx === null || idx === undefined ? '—' : formatValue(v)),
        ...(bars
          ? { fill: `${stroke}99`, paths: uPlot.paths.bars({ size: [0.7, 48] }), points: { show: false } }
          : { points: { show: true, size: 7, fill: stroke } }),
      },
    ],
  };
}

/** One week-by-week chart, drawn by uPlot; a screen reader reads `summary`. */
function WeekPlot({ labels, values, name, bars, formatAxis, formatValue, summary, theme }) {
  const box = useRef(null);
  const legend = useRef(null);
  const signature = JSON.stringify([labels, values, name]);
  useEffect(() => {
    const el = box.current;
    const legendEl = legend.current;
    const colours = themeColours(el, theme);
    const data = [labels.map((_, i) => i), values];
    let plot = null;
    const observer = new ResizeObserver(([entry]) => {
      const width = Math.floor(entry.contentRect.width);
      if (width <= 0) return;
      if (!plot)
        plot = new uPlot(
          weekOptions({ labels, name, bars, formatAxis, formatValue, colours, width, legendEl }),
          data,
          el,
        );
      else if (width !== plot.width) plot.setSize({ width, height: CHART_HEIGHT });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot?.destroy();
      legendEl.replaceChildren();
    };
  }, [signature, theme]);
  return html`<div class="chart">
    <div class="chart-plot week-plot" ref=${box} role="img" aria-label=${summary}></div>
    <div class="chart-legend" ref=${legend} aria-hidden="true"></div>
    <p class="chart-summary">${summary}</p>
  </div>`;
}

/** The incidents-per-week chart's words. */
function incidentsSummary(weeks) {
  const total = weeks.reduce((sum, w) => sum + w.incidents, 0);
  const busiest = weeks.reduce((a, b) => (b.incidents > a.incidents ? b : a), weeks[0]);
  const quiet = weeks.filter((w) => w.incidents === 0).length;
  const first = weekLabel(weeks[0].week);
  const last = weekLabel(weeks.at(-1).week);
  const span = weeks.length === 1 ? `the week of ${first}` : `${weeks.length} weeks from ${first} to ${last}`;
  return `Incidents per week over ${span}: ${total} in all; most in the week of ${weekLabel(busiest.week)} (${busiest.incidents})${quiet ? `; ${quiet} ${quiet === 1 ? 'week' : 'weeks'} without any` : ''}.`;
}

/** The time-to-resolve chart's words. */
function resolveSummary(weeks) {
  const known = weeks.filter((w) => w.timeToResolveP50 !== null && w.timeToResolveP50 !== undefined);
  if (known.length === 0) return 'Median time to resolve per week: no incident was resolved.';
  const fastest = known.reduce((a, b) => (b.timeToResolveP50 < a.timeToResolveP50 ? b : a));
  const slowest = known.reduce((a, b) => (b.timeToResolveP50 > a.timeToResolveP50 ? b : a));
  const latest = known.at(-1);
  if (known.length === 1)
    return `Median time to resolve per week: ${humanSeconds(latest.timeToResolveP50)} in the week of ${weekLabel(latest.week)}, the only week with a resolved incident.`;
  return `Median time to resolve per week: fastest ${humanSeconds(fastest.timeToResolveP50)} (week of ${weekLabel(fastest.week)}), slowest ${humanSeconds(slowest.timeToResolveP50)} (week of ${weekLabel(slowest.week)}), latest ${humanSeconds(latest.timeToResolveP50)} (week of ${weekLabel(latest.week)}).`;
}

function WeekCharts({ r, from, to, theme }) {
  const weeks = fillWeeks(r.weeks ?? [], from, to);
  if (weeks.length === 0) return null;
  const labels = weeks.map((w) => weekLabel(w.week));
  return html`<h3>Week by week</h3>
    <div class="charts pair">
      <figure class="chart-figure" data-chart="incidents">
        <figcaption>Incidents per week</figcaption>
        <${WeekPlot} labels=${labels} values=${weeks.map((w) => w.incidents)} name="Incidents" bars
          formatAxis=${(v) => String(v)} formatValue=${(v) => (v === null ? '—' : String(v))}
          summary=${incidentsSummary(weeks)} theme=${theme} />
      </figure>
      <figure class="chart-figure" data-chart="resolve">
        <figcaption>Median time to resolve per week</figcaption>
        <${WeekPlot} labels=${labels} values=${weeks.map((w) => w.timeToResolveP50 ?? null)} name="Time to resolve (p50)"
          formatAxis=${shortSeconds} formatValue=${(v) => (v === null ? 'none resolved' : humanSeconds(v))}
          summary=${resolveSummary(weeks)} theme=${theme} />
      </figure>
    </div>
    <details class="week-table">
      <summary>The weeks as a table</summary>
      <${TableBox} label="Week by week">
        <table class="stats-table">
          <thead><tr><th scope="col">Week of</th><th scope="col" class="num">Incidents</th>
            <th scope="col">Median time to resolve</th><th scope="col">Resolved without a human</th>
            <th scope="col" class="num">Escalations</th></tr></thead>
          <tbody>
            ${weeks.map(
              (w) => html`<tr key=${w.week}>
                <th scope="row"><time datetime=${w.week}>${weekLabel(w.week)}</time></th>
                <td class="num">${w.incidents}</td>
                <td>${humanSeconds(w.timeToResolveP50)}</td>
                <td>${percent(w.resolvedUnattendedShare)}</td>
                <td class="num">${w.escalations}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      <//>
    </details>`;
}

function RunbookCard({ r, index, from, to, names, theme }) {
  const headingId = `stats-runbook-${index}`;
  return html`<section class="panel stats-card" aria-labelledby=${headingId} data-runbook=${r.runbookId}>
    <h2 id=${headingId}>${r.runbookName}</h2>
    <p class="muted">
      <code>${r.runbookId}</code>${' · '}<${Link} href=${`/runbooks/${encodeURIComponent(r.runbookId)}`}>The runbook<//>
    </p>
    ${
      r.incidents === 0
        ? html`<p class="empty">No incident in this range.</p>`
        : html`<${Figures} r=${r} />
      <${WeekCharts} r=${r} from=${from} to=${to} theme=${theme} />
      <div class="stats-parts">
        <div><h3>Actions</h3><${Actions} actions=${r.actions} names=${names} /></div>
        <div><h3>Rules</h3><${Rules} rules=${r.rules} /></div>
        <div><h3>Manual steps</h3><${ManualSteps} steps=${r.manualSteps} names=${names} /></div>
      </div>`
    }
  </section>`;
}

/** `alertname` aside, the labels an alert carried, as `key=value`. */
function ExampleLabels({ labels }) {
  const entries = Object.entries(labels ?? {}).filter(([k]) => k !== 'alertname');
  if (entries.length === 0) return html`<span class="muted">none</span>`;
  const shown = entries.slice(0, 8);
  return html`<span class="labels">${shown.map(([k, v]) => html`<code>${k}=${v}</code>`)}${
    entries.length > shown.length && html`<span class="muted"> +${entries.length - shown.length} more</span>`
  }</span>`;
}

function Coverage({ coverage, runbookNames }) {
  const unmatched = [...(coverage?.unmatched ?? [])].sort((a, b) => b.firings - a.firings);
  const never = coverage?.neverFired ?? [];
  return html`<section class="panel coverage" aria-labelledby="stats-coverage">
    <h2 id="stats-coverage">Coverage</h2>
    <h3>Alerts no runbook handles</h3>
    ${
      unmatched.length === 0
        ? html`<p class="empty">Every alert that fired in this range started a runbook.</p>`
        : html`<p class="coverage-note"><strong>No runbook handles these:</strong> they fired and Fireline did nothing.
          Most firings first.</p>
        <${TableBox} label="Alerts no runbook handles">
          <table class="stats-table unmatched">
            <thead><tr><th scope="col">Alert</th><th scope="col" class="num">Firings</th>
              <th scope="col">Last seen</th><th scope="col">Example labels</th></tr></thead>
            <tbody>
              ${unmatched.map(
                (u) => html`<tr key=${u.alertname}>
                  <th scope="row"><code>${u.alertname}</code></th>
                  <td class="num">${u.firings}${
                    u.deliveries !== undefined &&
                    u.deliveries !== u.firings &&
                    html`<span class="muted"> (${u.deliveries} deliveries)</span>`
                  }</td>
                  <td><time datetime=${u.lastSeen} title=${u.lastSeen}>${clock(u.lastSeen)}</time></td>
                  <td><${ExampleLabels} labels=${u.labels} /></td>
                </tr>`,
              )}
            </tbody>
          </table>
        <//>`
    }
    <h3>Runbooks that never fired</h3>
    ${
      never.length === 0
        ? html`<p class="empty">Every runbook fired at least once in this range.</p>`
        : html`<p>Loaded, but not started once in this range: check their triggers still match your alerts.</p>
        <ul class="never-fired">
          ${never.map(
            (
              id,
            ) => html`<li key=${id}><${Link} href=${`/runbooks/${encodeURIComponent(id)}`}>${runbookNames[id] ?? id}<//>
              ${runbookNames[id] && html` <code class="muted">${id}</code>`}</li>`,
          )}
        </ul>`
    }
  </section>`;
}

/** When the stats are about, in words. */
function RangeLine({ from, to }) {
  if (!from || !to) return null;
  const day = (ms) =>
    new Date(ms).toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' });
  // `to` is the end of the range, not in it: a custom range's last day ends at the next midnight.
  return html`<p class="muted stats-range">
    Incidents opened from <time datetime=${from}>${day(Date.parse(from))}</time>
    ${' '}to <time datetime=${to}>${day(Date.parse(to) - 1)}</time>.
  </p>`;
}

export function StatsPage() {
  const [filters, setFilters] = useState(readFilters);
  const [state, setState] = useState({ status: 'loading' });
  const [runbooks, setRunbooks] = useState(null);
  const theme = useTheme();
  const request = useRef(0);

  const set = (change) => {
    const next = { ...filters, ...change };
    if (change.range === 'custom' && !next.from && !next.to) {
      // Start the custom range where the chosen one was: the last 12 weeks, say.
      const days = RANGES.find((r) => r.id === filters.range)?.days ?? 84;
      next.from = isoDay(Date.now() - days * DAY_MS);
      next.to = isoDay(Date.now());
    }
    writeFilters(next);
    setFilters(next);
  };

  const query = statsQuery(filters);
  const load = async () => {
    if (query.invalid) return;
    const mine = ++request.current;
    setState((s) => ({ ...s, status: s.data ? 'updating' : 'loading' }));
    try {
      const data = await api(query.path);
      if (mine === request.current) setState({ status: 'ok', data });
    } catch (err) {
      if (mine !== request.current) return;
      if (err.status === 409) setState({ status: 'off', detail: err.detail });
      else setState({ status: 'error', error: err });
    }
  };

  useEffect(() => {
    document.title = 'Effectiveness — Fireline';
    api('/api/v1/runbooks').then(
      (answer) => setRunbooks(answer.runbooks),
      () => setRunbooks([]),
    );
  }, []);
  // A preset range ends now: the request follows the filters, not the clock.
  useEffect(() => {
    load();
  }, [filters.range, filters.from, filters.to, filters.service, filters.runbook]);

  const names = {};
  const runbookNames = {};
  for (const r of runbooks ?? []) {
    runbookNames[r.id] = r.name;
    for (const m of r.remediations ?? []) names[m.id] = m.name;
  }
  const chosen = filters.runbook && (runbookNames[filters.runbook] ?? filters.runbook);
  const data = state.data;

  return html`<div class="stats">
    ${
      chosen &&
      html`<p class="crumbs"><${Link} href=${`/runbooks/${encodeURIComponent(filters.runbook)}`} class="crumb"
        ><span aria-hidden="true">← </span>${chosen}<//></p>`
    }
    <h1>Effectiveness${chosen ? html`<span class="muted">: ${chosen}</span>` : ''}</h1>
    <p>How each runbook did: how fast it brought evidence, who had to step in, what its actions and rules did.</p>
    <${Filters} filters=${filters} set=${set} runbooks=${runbooks} />
    ${query.invalid && html`<p class="result fail" role="alert">${query.invalid}</p>`}
    <div aria-live="polite" class="stats-status">
      ${state.status === 'loading' && html`<p>Loading the statistics…</p>`}
      ${state.status === 'updating' && html`<p class="muted">Updating…</p>`}
    </div>
    ${
      state.status === 'off' &&
      html`<div class="panel notice" role="status" data-testid="history-off">
        <p><strong>No history to measure.</strong> ${state.detail}</p>
        <p class="muted">Effectiveness is computed from the incident history; the live incidents are still on the
          ${' '}<${Link} href="/">Incidents<//> page.</p>
      </div>`
    }
    ${state.status === 'error' && html`<${LoadError} error=${state.error} retry=${load} />`}
    ${
      data &&
      state.status !== 'off' &&
      state.status !== 'error' &&
      html`<${RangeLine} from=${data.from} to=${data.to} />
      ${
        data.runbooks.length === 0
          ? html`<p class="panel empty">No runbook matches these filters.</p>`
          : data.runbooks.map(
              (r, i) =>
                html`<${RunbookCard} key=${r.runbookId} r=${r} index=${i} from=${data.from} to=${data.to}
                  names=${names} theme=${theme} />`,
            )
      }
      <${Coverage} coverage=${data.coverage} runbookNames=${runbookNames} />`
    }
  </div>`;
}
