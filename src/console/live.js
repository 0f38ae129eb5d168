import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken } from './api.js';
// Served from the engine's list (src/engine/types.ts): EventSource only delivers named listeners.
import { EVENT_TYPES } from './event-types.js';

/**
 * Live events over Server-Sent Events. The browser's EventSource resumes by itself with
 * `Last-Event-ID` after a dropped connection; when the server answered with an error instead
 * (EventSource then gives up), this opens a new one after a backoff, resuming with `?lastEventId=`.
 */

const MAX_BACKOFF_MS = 30_000;

/**
 * Follows `path` (null: nothing) and calls `onEvent(event, id)` for each event, `onOpen()` each
 * time the stream (re)connects, so the caller can refresh what it shows, and `onRefused()` when
 * the server answered with an error (the caller's next request shows which: a 401 brings the
 * token prompt, a 503 its detail). Returns the state: `connecting`, `live` or `reconnecting`.
 */
export function useEventStream(path, { onEvent, onOpen, onRefused }) {
  const [state, setState] = useState('connecting');
  const handlers = useRef({ onEvent, onOpen, onRefused });
  handlers.current = { onEvent, onOpen, onRefused };

  useEffect(() => {
    if (!path) return undefined;
    let source;
    let timer;
    let lastId = '';
    let failures = 0;
    const open = () => {
      const url = new URL(path, location.origin);
      const token = getToken();
      if (token) url.searchParams.set('access_token', token);
      if (lastId) url.searchParams.set('lastEventId', lastId);
      source = new EventSource(url);
      source.onopen = () => {
        failures = 0;
        setState('live');
        handlers.current.onOpen?.();
      };
      source.onerror = () => {
        setState('reconnecting');
        if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
        source.close();
        failures += 1;
        handlers.current.onRefused?.();
        timer = setTimeout(open, Math.min(MAX_BACKOFF_MS, 2000 * 2 ** (failures - 1)));
      };
      for (const type of EVENT_TYPES)
        source.addEventListener(type, (message) => {
          if (message.lastEventId) lastId = message.lastEventId;
          handlers.current.onEvent(JSON.parse(message.data), message.lastEventId);
        });
    };
    setState('connecting');
    open();
    return () => {
      clearTimeout(timer);
      source?.close();
    };
  }, [path]);

  return state;
}

/** Re-renders every `ms` and returns the current time (countdowns, running durations). */
export function useNow(ms = 1000) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

/** Coalesces calls: `fn` runs once, `ms` after the first call of a burst (many events → one reload). */
export function useDebounced(fn, ms) {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return () => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  };
}
