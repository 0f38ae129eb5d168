/**
 * Words, symbols and tones for what the console shows. A state is never told by colour alone:
 * each has a word and a symbol too (the symbols match the post-incident report).
 */

/** Diagnostic verdicts, plus the two states before one exists. */
export const VERDICT = {
  healthy: { symbol: '✓', word: 'Healthy', tone: 'good' },
  warning: { symbol: '⚠', word: 'Warning', tone: 'warn' },
  critical: { symbol: '✗', word: 'Critical', tone: 'bad' },
  unknown: { symbol: '?', word: 'Unknown', tone: 'neutral' },
  error: { symbol: '!', word: 'Error', tone: 'error' },
  running: { symbol: '⟳', word: 'Running', tone: 'info' },
  pending: { symbol: '○', word: 'Waiting to start', tone: 'neutral' },
};

/** Plan step states. */
export const STEP_STATE = {
  pending: { symbol: '○', word: 'Pending', tone: 'neutral' },
  awaiting_approval: { symbol: '⚑', word: 'Needs approval', tone: 'warn' },
  approved: { symbol: '✓', word: 'Approved', tone: 'info' },
  rejected: { symbol: '⊘', word: 'Rejected', tone: 'neutral' },
  queued: { symbol: '◔', word: 'Queued', tone: 'info' },
  running: { symbol: '⟳', word: 'Running', tone: 'info' },
  succeeded: { symbol: '✓', word: 'Succeeded', tone: 'good' },
  failed: { symbol: '✗', word: 'Failed', tone: 'bad' },
  outcome_unknown: { symbol: '?', word: 'Outcome unknown', tone: 'bad' },
  dry_run: { symbol: '◌', word: 'Dry run (not executed)', tone: 'neutral' },
  skipped: { symbol: '↷', word: 'Skipped', tone: 'neutral' },
  done: { symbol: '✓', word: 'Done', tone: 'good' },
  escalated: { symbol: '↑', word: 'Escalated', tone: 'warn' },
};

export const STEP_KIND = {
  automated: 'Automated',
  approval: 'Needs approval',
  manual: 'Manual',
  escalate: 'Escalation',
};

export const STATUS = {
  triggered: { symbol: '●', word: 'Triggered', tone: 'bad' },
  diagnosing: { symbol: '⟳', word: 'Diagnosing', tone: 'info' },
  diagnosed: { symbol: '●', word: 'Diagnosed', tone: 'info' },
  awaiting_approval: { symbol: '⚑', word: 'Awaiting approval', tone: 'warn' },
  remediating: { symbol: '⟳', word: 'Remediating', tone: 'info' },
  awaiting_responder: { symbol: '⚑', word: 'Needs a responder', tone: 'warn' },
  resolved: { symbol: '✓', word: 'Resolved', tone: 'good' },
};

export const SEVERITY_TONE = { P1: 'bad', P2: 'warn', P3: 'info', P4: 'neutral' };

/** `1.2 s`, `340 ms`, `3m 05s`; `—` when unknown. */
export function duration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}h ${m}m ${s}s` : `${m}m ${s}s`;
}

/** `14:05` style countdown (or `1:02:03`) for a number of milliseconds left. */
export function countdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Local wall-clock time, with the date when it is not today. */
export function clock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const time = d.toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/** `just now`, `4 min ago`, `2 h ago`, `3 d ago`. */
export function ago(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** A value as a short literal: strings quoted, long ones cut. */
export function literal(value, max = 120) {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? 'undefined');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Orders Redis stream ids (`<ms>-<seq>`). */
export function compareIds(a, b) {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || (as ?? 0) - (bs ?? 0);
}
