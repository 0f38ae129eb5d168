import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendProblem } from './problem.ts';

/** `ingest` for alert webhooks, `operator` for actions (and reads), `viewer` for reads. */
export type Scope = 'ingest' | 'operator' | 'viewer';

export interface AuthConfig {
  ingestToken?: string;
  operatorToken?: string;
  viewerToken?: string;
}

export function authEnabled(cfg: AuthConfig): boolean {
  return Boolean(cfg.ingestToken || cfg.operatorToken || cfg.viewerToken);
}

/** Which scopes a token grants: operator can also read. */
function scopesOf(cfg: AuthConfig, token: string): Scope[] {
  const scopes: Scope[] = [];
  if (cfg.ingestToken && safeEqual(token, cfg.ingestToken)) scopes.push('ingest');
  if (cfg.operatorToken && safeEqual(token, cfg.operatorToken)) scopes.push('operator', 'viewer');
  if (cfg.viewerToken && safeEqual(token, cfg.viewerToken)) scopes.push('viewer');
  return scopes;
}

/** Constant-time comparison of two secrets of any length (hash first, so lengths leak nothing). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * The token of a request: `Authorization: Bearer <token>`; `Basic` with the token as password (so
 * a browser can open Bull Board); or `?access_token=` (EventSource cannot set headers).
 */
export function tokenOf(authorization: string | undefined, queryToken: unknown): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (bearer?.[1]) return bearer[1];
  const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    if (password) return password;
  }
  return typeof queryToken === 'string' && queryToken ? queryToken : undefined;
}

/** Who made the request, for the timeline (`token:operator`, or `anonymous` with auth off). */
export function actorOf(res: { locals: Record<string, unknown> }): string {
  return (res.locals.actor as string | undefined) ?? 'anonymous';
}

/**
 * Requires a bearer token with `scope`: missing or unknown token → 401, known token without the
 * scope → 403. With no token configured at all, auth is off (start-up binds to loopback then).
 */
export function requireScope(cfg: AuthConfig, scope: Scope): RequestHandler {
  const enabled = authEnabled(cfg);
  return (req, res, next) => {
    if (!enabled) {
      res.locals.actor = 'anonymous';
      res.locals.scopes = ['ingest', 'operator', 'viewer'];
      return next();
    }
    const token = tokenOf(req.headers.authorization, req.query.access_token);
    if (!token) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="fireline", Basic realm="fireline"');
      return sendProblem(
        res,
        401,
        'Unauthorized',
        'a bearer token is required (Authorization: Bearer <token>)',
      );
    }
    const scopes = scopesOf(cfg, token);
    if (scopes.length === 0) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="fireline", error="invalid_token"');
      return sendProblem(res, 401, 'Unauthorized', 'the bearer token is not valid');
    }
    if (!scopes.includes(scope))
      return sendProblem(res, 403, 'Forbidden', `this token lacks the '${scope}' scope`);
    res.locals.scopes = scopes;
    res.locals.actor = `token:${scopes.includes('operator') ? 'operator' : scopes[0]}`;
    next();
  };
}
