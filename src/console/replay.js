import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from './api.js';
import { html } from './ui.js';

/**
 * "Save as runbook test": the incident's recorded facts and decision as a runbook test case
 * (`GET /api/v1/incidents/:id/replay`), shown as YAML to copy under `cases:`, with the CLI command
 * that appends it, and how the runbook loaded now decides otherwise, if it does.
 */

/** Copies `text`; when the browser refuses, selects `element`'s text so that Ctrl+C copies it. */
async function copy(text, element) {
  try {
    await navigator.clipboard.writeText(text);
    return 'Copied.';
  } catch {
    if (element) getSelection()?.selectAllChildren(element);
    return 'The browser did not allow copying: the text is selected, press Ctrl+C (⌘C) to copy it.';
  }
}

function CopyButton({ label, text, target }) {
  const [said, setSaid] = useState('');
  return html`<span class="action">
    <button type="button" class="btn small" onClick=${async () => setSaid(await copy(text, target.current))}>
      ${label}
    </button>
    <span class="muted" role="status">${said}</span>
  </span>`;
}

function Differences({ differences }) {
  if (differences.length === 0)
    return html`<p><span aria-hidden="true">✓ </span>The runbook as loaded now decides the same: the case passes.</p>`;
  return html`<div class="replay-differences">
    <p><strong>The runbook as loaded now decides otherwise</strong>, so this case fails until the runbook, or
      what the case expects, is changed:</p>
    <ul>
      ${differences.map((d) => html`<li><strong>${d.what}</strong>: it was ${d.recorded}; now ${d.current}</li>`)}
    </ul>
  </div>`;
}

// A long case (a kubectl document in the facts) scrolls inside its box; set through the DOM, so
// the page's style-src 'self' allows it.
const YAML_BOX = { maxHeight: '28rem', overflow: 'auto' };

function TestCase({ replay, headingRef }) {
  const yamlRef = useRef(null);
  const commandRef = useRef(null);
  const command = `fireline test --from-incident ${replay.incidentId}`;
  return html`<div id="replay-case" class="replay-case">
    <h3 id="replay-case-title" tabindex="-1" ref=${headingRef}>Test case for runbook ${replay.runbookId}</h3>
    <p>Let the CLI append it to <code>${replay.runbookId}.test.yaml</code> in your runbooks directory:</p>
    <p><code ref=${commandRef} data-testid="replay-command">${command}</code>
      <${CopyButton} label="Copy command" text=${command} target=${commandRef} /></p>
    <p>Or paste it under <code>cases:</code> yourself; <code>fireline test</code> runs it.</p>
    <pre tabindex="0" aria-label="The test case as YAML" ref=${yamlRef} style=${YAML_BOX}>${replay.testCaseYaml}</pre>
    <${CopyButton} label="Copy" text=${replay.testCaseYaml} target=${yamlRef} />
    <${Differences} differences=${replay.differences} />
  </div>`;
}

/** The panel: a disclosure button that loads the case the first time it is opened. */
export function SaveAsTest({ incident }) {
  const [open, setOpen] = useState(false);
  const [replay, setReplay] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const headingRef = useRef(null);
  const decided = Boolean(incident.decision);

  useEffect(() => {
    // The case appears after a request: take the reader to it, as a dialog would.
    if (open && replay) headingRef.current?.focus();
  }, [open, replay]);

  const toggle = async () => {
    if (open) return setOpen(false);
    setOpen(true);
    if (replay || busy) return;
    setBusy(true);
    setError(null);
    try {
      setReplay(await api(`/api/v1/incidents/${seg(incident.id)}/replay`));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="panel replay" aria-labelledby="replay-title">
    <h2 id="replay-title">Runbook test</h2>
    <p>Keep this incident as a test of its runbook: what the checks found, and what was decided.</p>
    <button type="button" class="btn" aria-expanded=${open ? 'true' : 'false'} aria-controls="replay-body"
      disabled=${!decided} aria-describedby=${decided ? undefined : 'replay-why'} onClick=${toggle}>
      <span aria-hidden="true">${open ? '▾ ' : '▸ '}</span>Save as runbook test
    </button>
    ${!decided && html`<p class="hint" id="replay-why">Available once the diagnostics are in and the decision is made.</p>`}
    <div id="replay-body" hidden=${!open}>
      ${busy && html`<p role="status">Loading the test case…</p>`}
      ${error && html`<p class="result fail" role="alert"><span aria-hidden="true">✗ </span>Could not load the test case: ${error.text ?? String(error.message ?? error)}</p>`}
      ${replay && html`<${TestCase} replay=${replay} headingRef=${headingRef} />`}
    </div>
  </section>`;
}
