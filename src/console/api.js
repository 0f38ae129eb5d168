/**
 * Talking to the Fireline API: the access token (kept for this tab only), JSON requests, and
 * errors that carry the API's own `detail`, so the page can always say what went wrong.
 */

const TOKEN_KEY = 'fireline.token';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A failed request: `status` 0 when Fireline could not be reached at all. */
export class ApiError extends Error {
  constructor(status, title, detail, fields = []) {
    super(detail);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.fields = fields;
  }

  /** One line a responder can act on: the API's detail, and the fields it named. */
  get text() {
    const fields = this.fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    const status = this.status ? ` (HTTP ${this.status})` : '';
    return `${this.detail}${fields ? ` — ${fields}` : ''}${status}`;
  }
}

const unauthorizedListeners = new Set();

/** Called with the error whenever the API answers 401 (no token, or a token it does not know). */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

function authHeaders() {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function send(path, init) {
  try {
    return await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'Unreachable', `Fireline could not be reached (${err.message}); is it running?`);
  }
}

async function failure(res) {
  const type = res.headers.get('content-type') ?? '';
  let problem = {};
  if (type.includes('json')) problem = await res.json();
  const detail = problem.detail ?? (`${res.statusText} ${await res.text()}`.trim() || 'the request failed');
  const error = new ApiError(res.status, problem.title ?? res.statusText, detail, problem.errors ?? []);
  if (res.status === 401) for (const listener of unauthorizedListeners) listener(error);
  return error;
}

/**
 * A JSON request to the API; resolves with the parsed answer or throws an ApiError. Every request
 * that changes something says it is Fireline's own (`X-Fireline-Request`): the API refuses those
 * that could come from a plain form on another site.
 */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json', ...authHeaders() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-fireline-request'] = '1';
  const res = await send(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** Fetches a file with the token and hands it to the browser as a download. */
export async function download(path, filename) {
  const res = await send(path, { headers: authHeaders() });
  if (!res.ok) throw await failure(res);
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** `encodeURIComponent` for path segments. */
export const seg = (s) => encodeURIComponent(s);
