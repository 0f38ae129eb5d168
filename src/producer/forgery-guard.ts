import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { authEnabled, underBullBoard } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { sendProblem } from './problem.ts';

/**
 * The header a client may send instead of a JSON body. A page of another origin cannot set it (nor
 * `Content-Type: application/json`) without a CORS preflight, which Fireline never grants.
 */
export const REQUEST_HEADER = 'X-Fireline-Request';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Routes that check their own bodies: Slack's signed form, and the alert webhooks (whose senders
 * post JSON, parsed by the route as before). Matched as express routes them (any case, one
 * trailing slash), so nothing else can pass for them.
 */
const OWN_BODY_CHECK = /^\/api\/v1\/(slack\/interactions|alerts\/(alertmanager|grafana))\/?$/i;

/** The names a loopback-only Fireline answers to, with the port it listens on. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const shown = (value: string) => JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);

const HOST_PORT = /^(\[[^\]]*\]|[^:]+)(?::(\d{1,5}))?$/;

/** True for `host[:port]` naming a loopback host with this server's port. */
function isLoopbackHost(host: string, port: number): boolean {
  const m = HOST_PORT.exec(host.toLowerCase());
  return Boolean(m?.[1] && LOOPBACK_HOSTS.has(m[1]) && Number(m[2] ?? 80) === port);
}

/** A header's value as express's `req.get` reads it (`name` in lower case). */
function header(req: IncomingMessage, name: string): string | string[] | undefined {
  return req.headers[name];
}

/** True for an `Origin` of a page of this loopback server. */
function isLoopbackOrigin(origin: string, port: number): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.origin !== origin.toLowerCase() || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    return false;
  const originPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return LOOPBACK_HOSTS.has(url.hostname) && originPort === port;
}

/**
 * With auth off the server listens on loopback only, yet a browser on the same machine can still
 * be made to reach it: by a page of another site (its `Origin`), or through a DNS name rebound to
 * 127.0.0.1 (its `Host`). Why such a request is refused, or null.
 */
function loopbackProblem(req: IncomingMessage): string | null {
  const port = req.socket.localPort ?? 0;
  const host = req.headers.host ?? '';
  if (!isLoopbackHost(host, port))
    return `with authentication off, Fireline answers only requests addressed to this machine: the Host header must be 127.0.0.1:${port}, localhost:${port} or [::1]:${port}, not ${shown(host)} (set FIRELINE_*_TOKEN or FIRELINE_TOKENS_FILE to serve other names)`;
  const origin = req.headers.origin;
  if (origin === undefined || isLoopbackOrigin(origin, port)) return null;
  // A page with `Referrer-Policy: no-referrer` (the console) sends `Origin: null` on its own POSTs;
  // the browser's Sec-Fetch-Site, which no page can forge, says whether it is this origin.
  if (origin === 'null' && header(req, 'sec-fetch-site') === 'same-origin') return null;
  return `with authentication off, Fireline answers only its own pages: the Origin ${shown(origin)} is not http://127.0.0.1:${port}, http://localhost:${port} or http://[::1]:${port}`;
}

function isJson(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/** A request the browser marks as sent by a page of this very origin. */
function sameOrigin(req: IncomingMessage): boolean {
  if (header(req, 'sec-fetch-site') === 'same-origin') return true;
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return false;
  try {
    return new URL(origin).host === req.headers.host?.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Refuses what another site can make a browser send. A state-changing request (POST, PUT, PATCH,
 * DELETE) must be JSON or carry X-Fireline-Request: an HTML form (urlencoded, multipart,
 * text/plain) can be neither, so a form on any page cannot pause, approve or resolve (415).
 * With auth off, every request must also name this loopback server as its Host and, when it has an
 * Origin, come from a page of it (403).
 */
export function forgeryGuard(deps: ApiDeps): RequestHandler {
  const refuse = forgeryCheck(deps);
  return (req, res, next) => {
    const refusal = refuse(req, req.path);
    if (!refusal) return next();
    sendProblem(res, refusal.status, refusal.title, refusal.detail);
  };
}

/** Why the guard refuses a request (its answer), or null. */
export interface Refusal {
  status: 403 | 415;
  title: string;
  detail: string;
}

/**
 * The guard's decision on a plain Node request and its path (as express routes it: without the
 * query), for the middleware above and for a route taken before express (src/producer/app.ts).
 */
export function forgeryCheck(deps: ApiDeps): (req: IncomingMessage, path: string) => Refusal | null {
  const authOff = !authEnabled(deps.auth);
  return (req, path) => {
    const problem = authOff ? loopbackProblem(req) : null;
    if (problem) return { status: 403, title: 'Forbidden', detail: problem };
    const method = req.method ?? '';
    if (
      SAFE_METHODS.has(method) ||
      OWN_BODY_CHECK.test(path) ||
      isJson(req) ||
      header(req, REQUEST_HEADER.toLowerCase())
    )
      return null;
    // Bull Board's page sends body-less PUTs it cannot add our header to.
    if (underBullBoard(path) && sameOrigin(req)) return null;
    return {
      status: 415,
      title: 'Unsupported Media Type',
      detail: `a ${method} must send Content-Type: application/json (with a JSON body) or the header ${REQUEST_HEADER}: 1; form posts are refused so that other sites cannot act on Fireline`,
    };
  };
}
