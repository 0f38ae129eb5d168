import { useEffect, useState } from 'preact/hooks';
import { html } from './ui.js';

/** A small history router: real links that also work opened in a new tab. */

const listeners = new Set();

export function navigate(to) {
  history.pushState(null, '', to);
  for (const listener of listeners) listener();
  window.scrollTo(0, 0);
}

/** The current path, re-rendering on navigation and on back/forward. */
export function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
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

/** `{ page, params }` for a path. */
export function route(path) {
  let m = /^\/incidents\/([^/]+)\/?$/.exec(path);
  if (m) return { page: 'incident', id: decodeURIComponent(m[1]) };
  m = /^\/runbooks\/([^/]+)\/?$/.exec(path);
  if (m) return { page: 'runbook', id: decodeURIComponent(m[1]) };
  if (/^\/runbooks\/?$/.test(path)) return { page: 'runbooks' };
  if (/^\/(incidents\/?)?$/.test(path)) return { page: 'incidents' };
  return { page: 'not-found' };
}
