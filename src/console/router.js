import { useEffect, useState } from 'preact/hooks';
import { html } from './ui.js';

/** A small history router: real links that also work opened in a new tab. */

const listeners = new Set();

const here = () => location.pathname + location.search;

/** The address (path and query) as the router last saw it, and how many visits so far. */
let current = here();
let visits = 0;

/** A new visit: every page under the App opens anew, even at the same address. */
function visit() {
  current = here();
  visits += 1;
  for (const listener of listeners) listener();
}

// Back and forward: a new visit when the address changed (not for a #fragment of the same page).
addEventListener('popstate', () => {
  if (here() !== current) visit();
});

export function navigate(to) {
  history.pushState(null, '', to);
  visit();
  window.scrollTo(0, 0);
}

/**
 * Puts a page's own state (its filters, its search) in the query of the address, so it can be
 * shared and comes back with Back; no new visit, nothing re-renders.
 */
export function replaceQuery(search) {
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}`);
  current = here();
}

/**
 * `{ path, visit }`: the current path with its query (`/stats?runbook=x`), and a number that
 * changes with each navigation and each back/forward to another address, re-rendering then.
 */
export function useLocation() {
  const read = () => ({ path: current, visit: visits });
  const [where, setWhere] = useState(read);
  useEffect(() => {
    const update = () => setWhere(read());
    listeners.add(update);
    return () => listeners.delete(update);
  }, []);
  return where;
}

/** An `<a>` that navigates in place on a plain click. */
export function Link({ href, children, ...rest }) {
  const onClick = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

/** `{ page, params }` for a path (its query aside). */
export function route(pathAndQuery) {
  const path = pathAndQuery.replace(/[?#].*$/, '');
  let m = /^\/incidents\/([^/]+)\/?$/.exec(path);
  if (m) return { page: 'incident', id: decodeURIComponent(m[1]) };
  m = /^\/runbooks\/([^/]+)\/?$/.exec(path);
  if (m) return { page: 'runbook', id: decodeURIComponent(m[1]) };
  if (/^\/runbooks\/?$/.test(path)) return { page: 'runbooks' };
  if (/^\/stats\/?$/.test(path)) return { page: 'stats' };
  if (/^\/setup\/?$/.test(path)) return { page: 'setup' };
  if (/^\/(incidents\/?)?$/.test(path)) return { page: 'incidents' };
  return { page: 'not-found' };
}
