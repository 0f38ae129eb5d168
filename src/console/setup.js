import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Link } from './router.js';
import { Badge, html, LoadError } from './ui.js';

/**
 * The Setup page: the `fireline doctor` report of the running Fireline (GET /api/v1/setup), and
 * the incident page's banner naming what the incident's runbook needs but nobody configured, so
 * that an "error" reads as "not wired", not "broken".
 */

export const CHECK = {
  ok: { symbol: '✓', word: 'OK', tone: 'good' },
  warn: { symbol: '⚠', word: 'Warning', tone: 'warn' },
  fail: { symbol: '✗', word: 'Failed', tone: 'bad' },
  skip: { symbol: '–', word: 'Skipped', tone: 'neutral' },
};

const GROUPS = [
  ['redis', 'Redis'],
  ['history', 'Incident history'],
  ['runbooks', 'Runbooks'],
  ['connections', 'Connections the runbooks use'],
  ['diagnostics', 'Diagnostics, run once read-only'],
  ['settings', 'Settings'],
];

function useSetupReport() {
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const load = async (fresh = false) => {
    setBusy(true);
    try {
      setReport(await api(`/api/v1/setup${fresh ? '?fresh=true' : ''}`));
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    load();
  }, []);
  return { report, error, busy, load };
}

function CheckRow({ check }) {
  return html`<li class="check" data-check=${check.id}>
    <${Badge} meta=${CHECK[check.status]} />
    <div>
      <p class="check-title"><strong>${check.title}</strong></p>
      <p>${check.detail}</p>
      ${check.fix && html`<p class="fix"><span class="muted">Fix: </span><code>${check.fix}</code></p>`}
      ${
        check.runbooks.length > 0 &&
        check.group === 'connections' &&
        html`<p class="muted">Used by ${check.runbooks.join(', ')}</p>`
      }
    </div>
  </li>`;
}

export function SetupPage() {
  const { report, error, busy, load } = useSetupReport();
  useEffect(() => {
    document.title = 'Setup — Fireline';
  }, []);
  const counts = report?.counts;
  return html`<div class="page-head">
      <h1>Setup</h1>
      <button type="button" class="btn" disabled=${busy} onClick=${() => load(true)}>
        ${busy ? 'Checking…' : 'Check again'}
      </button>
    </div>
    <p class="muted">
      What this Fireline can reach, checked the way <code>fireline doctor</code> does: nothing is sent, nothing
      changes.
    </p>
    ${error && html`<${LoadError} error=${error} retry=${() => load(true)} />`}
    ${!report && !error && html`<p role="status">Running the checks…</p>`}
    ${
      report &&
      html`<p class="summary" role="status">
        ${['fail', 'warn', 'ok', 'skip'].map(
          (s) =>
            html`<${Badge} key=${s} meta=${CHECK[s]} label=${`${counts[s]} ${CHECK[s].word.toLowerCase()}`} /> `,
        )}
        <span class="muted">checked ${new Date(report.generatedAt).toLocaleTimeString()}</span>
      </p>`
    }
    ${
      report &&
      GROUPS.map(([group, title]) => {
        const checks = report.checks.filter((c) => c.group === group);
        if (checks.length === 0) return null;
        return html`<section key=${group} class="panel setup-group" aria-labelledby=${`setup-${group}`}>
          <h2 id=${`setup-${group}`}>${title}</h2>
          <ul class="checks">
            ${checks.map((c) => html`<${CheckRow} key=${c.id} check=${c} />`)}
          </ul>
        </section>`;
      })
    }`;
}

/**
 * On an incident: what its runbook needs that is not configured at all. Nothing when all is wired,
 * or when the report cannot be read (the page itself works without it).
 */
export function NotWiredBanner({ runbookId }) {
  const [missing, setMissing] = useState([]);
  useEffect(() => {
    let gone = false;
    api('/api/v1/setup').then(
      (report) => {
        if (!gone)
          setMissing(
            report.checks.filter(
              (c) => c.group === 'connections' && c.missing && c.runbooks.includes(runbookId),
            ),
          );
      },
      // The banner is an aid: without the report, the page shows what it always showed.
      () => setMissing([]),
    );
    return () => {
      gone = true;
    };
  }, [runbookId]);
  if (missing.length === 0) return null;
  return html`<div class="panel not-wired" role="note" aria-labelledby="not-wired-title">
    <h2 id="not-wired-title"><span aria-hidden="true">⚠ </span>Not wired: this runbook needs what is not configured</h2>
    <p>Checks and notifications that use these report “error” on every incident: that means not set up, not broken.</p>
    <ul>
      ${missing.map(
        (c) => html`<li key=${c.id}><strong>${c.title}</strong> — set <code>${c.fix}</code></li>`,
      )}
    </ul>
    <p><${Link} href="/setup">See the whole setup<//></p>
  </div>`;
}
