import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, getToken, onUnauthorized, setToken } from './api.js';
import { IncidentPage } from './incident.js';
import { IncidentsPage } from './incidents.js';
import { Link, route, useLocation } from './router.js';
import { RunbookPage } from './runbook.js';
import { RunbooksPage } from './runbooks.js';
import { SetupPage } from './setup.js';
import { StatsPage } from './stats.js';
import { TokenPrompt } from './token.js';
import { html, LoadError, Session } from './ui.js';

/** The console: finds out what the token may do, then shows the page the address names. */

function useSessionState() {
  const [state, setState] = useState({ status: 'checking' });
  const check = async () => {
    try {
      const who = await api('/api/v1/whoami');
      setState({
        status: 'ok',
        session: { ...who, canAct: who.scopes.includes('operator') },
      });
    } catch (err) {
      if (err.status === 401) setState({ status: 'token', message: getToken() ? err.detail : '' });
      else if (err.status === 403)
        setState({
          status: 'token',
          message: 'That token cannot read incidents (it may be an ingest token).',
        });
      else setState({ status: 'error', error: err });
    }
  };
  useEffect(() => {
    check();
    return onUnauthorized((err) => setState({ status: 'token', message: err.detail }));
  }, []);
  return { state, check };
}

function Nav({ page, session }) {
  const current = (name) => (page === name ? 'page' : undefined);
  const signOut = () => {
    setToken('');
    location.reload();
  };
  return html`<header class="top">
    <nav aria-label="Main">
      <${Link} href="/" class="brand"><img src="/console/icon.svg" alt="" width="24" height="24" /><span class="brand-text">Fireline</span><//>
      <${Link} href="/" aria-current=${current('incidents')}>Incidents<//>
      <${Link} href="/runbooks" aria-current=${current('runbooks')}>Runbooks<//>
      <${Link} href="/stats" aria-current=${current('stats')}>Effectiveness<//>
      <${Link} href="/setup" aria-current=${current('setup')}>Setup<//>
    </nav>
    ${
      session?.authEnabled &&
      html`<div class="who">
      <span>${session.canAct ? 'Operator' : 'Viewer (read-only)'}</span>
      <button type="button" class="btn small" onClick=${signOut}>Sign out</button>
    </div>`
    }
  </header>`;
}

function Page({ where }) {
  if (where.page === 'incident') return html`<${IncidentPage} id=${where.id} />`;
  if (where.page === 'runbooks') return html`<${RunbooksPage} />`;
  if (where.page === 'runbook') return html`<${RunbookPage} id=${where.id} />`;
  if (where.page === 'incidents') return html`<${IncidentsPage} />`;
  if (where.page === 'stats') return html`<${StatsPage} />`;
  if (where.page === 'setup') return html`<${SetupPage} />`;
  return html`<h1>Page not found</h1>
    <p>Nothing lives at this address. <${Link} href="/">Go to the open incidents<//>.</p>`;
}

function App() {
  const { path, visit } = useLocation();
  const where = route(path);
  const { state, check } = useSessionState();
  const main = useRef(null);
  const first = useRef(true);
  useEffect(() => {
    // After an in-page navigation, move focus to the new page (as a full load would).
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [visit]);

  let body;
  if (state.status === 'checking') body = html`<p>Connecting to Fireline…</p>`;
  else if (state.status === 'token')
    body = html`<${TokenPrompt} message=${state.message} onToken=${check} />`;
  else if (state.status === 'error') body = html`<${LoadError} error=${state.error} retry=${check} />`;
  else body = html`<${Page} key=${visit} where=${where} />`;

  return html`<${Session.Provider} value=${state.session ?? { scopes: [], canAct: false }}>
    <a class="skip" href="#main">Skip to content</a>
    <${Nav} page=${{ incident: 'incidents', runbook: 'runbooks' }[where.page] ?? where.page} session=${state.session} />
    <main id="main" tabindex="-1" ref=${main}>${body}</main>
  <//>`;
}

const root = document.getElementById('app');
root.replaceChildren();
render(html`<${App} />`, root);
