import { useState } from 'preact/hooks';
import { setToken } from './api.js';
import { html } from './ui.js';

/** Asks for an access token; it is kept in this tab's sessionStorage only. */
export function TokenPrompt({ message, onToken }) {
  const [value, setValue] = useState('');
  const submit = (e) => {
    e.preventDefault();
    setToken(value.trim());
    onToken();
  };
  return html`<section class="panel narrow" aria-labelledby="token-title">
    <h1 id="token-title">Sign in to Fireline</h1>
    <p>This Fireline needs an access token. Ask your team for an <strong>operator</strong> token (to act) or a${' '}
      <strong>viewer</strong> token (to watch).</p>
    ${message && html`<p class="result fail" role="alert"><span aria-hidden="true">✗ </span>${message}</p>`}
    <form onSubmit=${submit}>
      <label for="token">Access token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required
        value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      <p class="hint">Kept in this browser tab only; closing the tab forgets it.</p>
      <button type="submit" class="btn primary">Sign in</button>
    </form>
  </section>`;
}
