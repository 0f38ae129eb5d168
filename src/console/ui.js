import htm from 'htm';
import { createContext, h } from 'preact';
import { useContext, useState } from 'preact/hooks';

/** Shared pieces: `html`, the session (who may act), badges, and actions that always report back. */

export const html = htm.bind(h);

/** `{ scopes, authEnabled, canAct }` of the current token. */
export const Session = createContext({ scopes: [], authEnabled: false, canAct: false });
export const useSession = () => useContext(Session);

export const READ_ONLY_REASON =
  'Your token can view but not act: ask for an operator token to approve, acknowledge or resolve.';

/** A state shown as colour, symbol and word together. */
export function Badge({ meta, label, big = false }) {
  const m = meta ?? { symbol: '?', word: label ?? 'Unknown', tone: 'neutral' };
  return html`<span class=${`badge tone-${m.tone}${big ? ' big' : ''}`}
    ><span class="sym" aria-hidden="true">${m.symbol}</span> ${label ?? m.word}</span
  >`;
}

/**
 * Runs API actions and keeps the outcome to show: what was done, or the API's detail. `run`
 * never throws, so no failure goes unseen.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const run = async (fn, success) => {
    setBusy(true);
    setResult(null);
    try {
      const answer = await fn();
      setResult({ ok: true, text: typeof success === 'function' ? success(answer) : success });
      return true;
    } catch (err) {
      setResult({ ok: false, text: err.text ?? String(err.message ?? err) });
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, result, run, clear: () => setResult(null) };
}

/** The outcome of an action, announced to screen readers. */
export function ActionResult({ result }) {
  if (!result) return null;
  return result.ok
    ? html`<p class="result ok" role="status"><span aria-hidden="true">✓ </span>${result.text}</p>`
    : html`<p class="result fail" role="alert"><span aria-hidden="true">✗ </span>Failed: ${result.text}</p>`;
}

/** Shown beside disabled actions when the token may only read. */
export function ReadOnlyNote({ id }) {
  return html`<p class="readonly" id=${id}>${READ_ONLY_REASON}</p>`;
}

/** A load error with the API's detail and a retry. */
export function LoadError({ error, retry }) {
  return html`<div class="panel fail" role="alert">
    <p><strong>Could not load this page.</strong> ${error.text ?? String(error)}</p>
    ${retry && html`<button type="button" class="btn" onClick=${retry}>Try again</button>`}
  </div>`;
}

/** The live-connection state of a page; `announce` makes screen readers hear the changes. */
export function LiveState({ state, announce = true }) {
  const role = announce ? 'status' : undefined;
  if (state === 'live')
    return html`<span class="live on" role=${role}><span aria-hidden="true">● </span>Live</span>`;
  if (state === 'reconnecting')
    return html`<span class="live off" role=${role} data-testid="reconnecting"
      ><span aria-hidden="true">⟳ </span>Connection lost — reconnecting…</span
    >`;
  return html`<span class="live" role=${role}>Connecting…</span>`;
}
