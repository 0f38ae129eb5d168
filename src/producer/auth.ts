import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { sendProblem } from './problem.ts';

/** `ingest` for alert webhooks, `operator` for actions (and reads), `viewer` for reads. */
export const SCOPES = ['ingest', 'operator', 'viewer'] as const;
export type Scope = (typeof SCOPES)[number];

/** One person's (or one sender's) token from FIRELINE_TOKENS_FILE: only its SHA-256 is kept. */
export interface NamedToken {
  /** Who acts with it, as the timeline shows it (`[A-Za-z0-9._@-]`, at most 64). */
  name: string;
  scope: Scope;
  /** SHA-256 of the token, 64 lowercase hex digits. */
  sha256: string;
}

export interface AuthConfig {
  ingestToken?: string;
  operatorToken?: string;
  viewerToken?: string;
  /** Tokens of people: a request with one acts as its `name`, not as `token:<scope>`. */
  namedTokens?: readonly NamedToken[];
}

/**
 * Where Bull Board is mounted (src/producer/routes/bull-board.ts): the one place that takes
 * `Basic`, since a browser can only log in to a page that way.
 */
export const BULL_BOARD_PATH = '/admin/queues';

/** Whether a path (as express routes it, without regard to case) is Bull Board's. */
export function underBullBoard(path: string): boolean {
  const p = path.toLowerCase();
  return p === BULL_BOARD_PATH || p.startsWith(`${BULL_BOARD_PATH}/`);
}

export function authEnabled(cfg: AuthConfig): boolean {
  return Boolean(cfg.ingestToken || cfg.operatorToken || cfg.viewerToken || cfg.namedTokens?.length);
}

/** Who a token is and what it may do; scopes empty for an unknown token. */
function identify(cfg: AuthConfig, token: string): { scopes: Scope[]; actor?: string } {
  const granted = new Set<Scope>();
  const grant = (scope: Scope) => {
    granted.add(scope);
    if (scope === 'operator') granted.add('viewer');
  };
  let actor: string | undefined;
  const digest = createHash('sha256').update(token).digest('hex');
  // Every entry is compared (no early exit), each in constant time.
  for (const named of cfg.namedTokens ?? [])
    if (safeEqual(digest, named.sha256)) {
      grant(named.scope);
      actor ??= named.name;
    }
  if (cfg.ingestToken && safeEqual(token, cfg.ingestToken)) grant('ingest');
  if (cfg.operatorToken && safeEqual(token, cfg.operatorToken)) grant('operator');
  if (cfg.viewerToken && safeEqual(token, cfg.viewerToken)) grant('viewer');
  const scopes = SCOPES.filter((s) => granted.has(s));
  actor ??= scopes.length ? `token:${granted.has('operator') ? 'operator' : scopes[0]}` : undefined;
  return actor ? { scopes, actor } : { scopes };
}

/** Constant-time comparison of two secrets of any length (hash first, so lengths leak nothing). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** How a route takes tokens beyond `Authorization: Bearer`. */
export interface TokenOptions {
  /** Also `?access_token=`: for the event streams only, since EventSource cannot set headers. */
  queryToken?: boolean;
}

/** Whether the request's path (before any query) is Bull Board's. */
function underBasicPath(req: Request): boolean {
  return underBullBoard(req.originalUrl.split('?')[0] ?? '');
}

/**
 * The token of a request: `Authorization: Bearer <token>`; under Bull Board's path also `Basic`
 * with the token as password; with `queryToken`, also `?access_token=`. A token sent a way this
 * route does not take is `refused` (401), never silently ignored.
 */
const BEARER = /^Bearer\s+(\S+)$/i;

function credentialOf(req: Request, opts: TokenOptions): { token: string } | { refused: string } | null {
  const authorization = req.headers.authorization ?? '';
  const bearer = BEARER.exec(authorization);
  if (bearer?.[1]) return { token: bearer[1] };
  const basic = /^Basic\s+(\S+)$/i.exec(authorization);
  if (basic?.[1]) {
    if (!underBasicPath(req))
      return {
        refused: `Basic authentication is accepted only under ${BULL_BOARD_PATH} (Bull Board); send Authorization: Bearer <token>`,
      };
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    if (password) return { token: password };
  }
  const query = req.query.access_token;
  if (query === undefined) return null;
  if (!opts.queryToken)
    return {
      refused:
        '?access_token= is accepted only on the event streams (/api/v1/events, /api/v1/incidents/:id/events); send Authorization: Bearer <token>',
    };
  return typeof query === 'string' && query ? { token: query } : null;
}

/**
 * Whether `requireScope(cfg, scope)` lets a request with these headers through without a word:
 * auth is off, or its `Authorization: Bearer` token has the scope. False for anything else, which
 * `requireScope` itself answers (for a route taken before express, src/producer/pre-route.ts).
 */
export function bearerGrants(cfg: AuthConfig, headers: IncomingHttpHeaders, scope: Scope): boolean {
  if (!authEnabled(cfg)) return true;
  const token = BEARER.exec(headers.authorization ?? '')?.[1];
  return token !== undefined && identify(cfg, token).scopes.includes(scope);
}

/** Who made the request, for the timeline (`alice`, `token:operator`, or `anonymous` with auth off). */
export function actorOf(res: { locals: Record<string, unknown> }): string {
  return (res.locals.actor as string | undefined) ?? 'anonymous';
}

/**
 * Requires a token with `scope`: missing, unknown or sent the wrong way → 401, known token without
 * the scope → 403. With no token configured at all, auth is off (start-up binds to loopback then,
 * and the app answers loopback requests only).
 */
export function requireScope(cfg: AuthConfig, scope: Scope, opts: TokenOptions = {}): RequestHandler {
  const enabled = authEnabled(cfg);
  return (req, res, next) => {
    if (!enabled) {
      res.locals.actor = 'anonymous';
      res.locals.scopes = [...SCOPES];
      return next();
    }
    const challenge = underBasicPath(req)
      ? 'Bearer realm="fireline", Basic realm="fireline"'
      : 'Bearer realm="fireline"';
    const credential = credentialOf(req, opts);
    if (!credential || 'refused' in credential) {
      res.setHeader('WWW-Authenticate', challenge);
      return sendProblem(
        res,
        401,
        'Unauthorized',
        credential?.refused ?? 'a bearer token is required (Authorization: Bearer <token>)',
      );
    }
    const { scopes, actor } = identify(cfg, credential.token);
    if (scopes.length === 0) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="fireline", error="invalid_token"');
      return sendProblem(res, 401, 'Unauthorized', 'the bearer token is not valid');
    }
    if (!scopes.includes(scope))
      return sendProblem(res, 403, 'Forbidden', `this token lacks the '${scope}' scope`);
    res.locals.scopes = scopes;
    res.locals.actor = actor;
    next();
  };
}
