import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, Router } from 'express';
import { EVENT_TYPES } from '../../engine/types.ts';
import type { Logger } from '../../logger.ts';
import { authEnabled, requireScope } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';

/**
 * The responder console: a Preact + htm page served as ES modules, with no build step. The
 * browser gets Preact (and uPlot, for the charts) from `node_modules` through an import map (an
 * inline script, allowed by its sha256 in the Content-Security-Policy), uPlot's style sheet
 * through a `<link>`, and the console's own modules from `src/console/`.
 * Every HTML route of the page (`/`, `/incidents/:id`, `/runbooks`, …) answers the same
 * index.html; the page routes itself.
 */

const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console');
const require = createRequire(import.meta.url);

/** Paths that belong to the API or operations, never to the page. */
const RESERVED = /^\/(api|admin|metrics|healthz|readyz|console|vendor)(\/|$)/;

/**
 * The third-party files the page loads, each with its file in the package: modules by their
 * import-map name, style sheets linked from the page's head (where index.html says `<!--vendorcss-->`).
 */
const VENDOR = [
  { name: 'preact', file: 'preact.module.js', pkg: 'preact', path: 'dist/preact.mjs' },
  { name: 'preact/hooks', file: 'hooks.module.js', pkg: 'preact', path: 'hooks/dist/hooks.mjs' },
  { name: 'htm', file: 'htm.module.js', pkg: 'htm', path: 'dist/htm.module.js' },
  { name: 'uplot', file: 'uplot.module.js', pkg: 'uplot', path: 'dist/uPlot.esm.js' },
  { name: null, file: 'uplot.css', pkg: 'uplot', path: 'dist/uPlot.min.css' },
] as const;

type VendorFile = (typeof VENDOR)[number];

const CONTENT_TYPE = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
const contentType = (v: VendorFile) => (v.file.endsWith('.css') ? CONTENT_TYPE.css : CONTENT_TYPE.js);

/**
 * The installed package's folder and version. Found from its main entry, because not every
 * package exports `./package.json`.
 */
function installed(pkg: string): { dir: string; version: string } {
  let dir = dirname(require.resolve(pkg));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (manifest.name === pkg) return { dir, version: manifest.version };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package.json of '${pkg}'`);
    dir = parent;
  }
}

/** The page, its import map and the CSP that admits exactly that inline script. */
function buildIndex(): { html: string; csp: string } {
  const imports: Record<string, string> = {};
  const links: string[] = [];
  for (const v of VENDOR) {
    // The version in the URL lets the browser cache vendor files for a year and still get new ones.
    const src = `/vendor/${v.file}?v=${installed(v.pkg).version}`;
    if (v.name) imports[v.name] = src;
    else links.push(`<link rel="stylesheet" href="${src}">`);
  }
  const importMap = JSON.stringify({ imports });
  const hash = createHash('sha256').update(importMap).digest('base64');
  const template = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
  const html = template
    .replace('<!--vendorcss-->', links.join('\n    '))
    .replace('<!--importmap-->', `<script type="importmap">${importMap}</script>`);
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

function securityHeaders(csp: string): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    next();
  };
}

/** Sends one vendor file from its installed package, cached for a year. */
function vendorFile(logger: Logger, v: VendorFile): RequestHandler {
  const path = join(installed(v.pkg).dir, v.path);
  return (_req, res, next) => {
    res.sendFile(
      path,
      {
        headers: { 'Content-Type': contentType(v) },
        maxAge: '365d',
        immutable: true,
      },
      (err) => {
        if (!err) return;
        // A client that went away mid-file: nothing left to answer.
        if (res.headersSent) logger.debug({ err, file: v.file }, 'vendor file not sent in full');
        else next(err);
      },
    );
  };
}

/**
 * Routes of the console: `/vendor/*` (Preact, htm and uPlot, cached for a year), `/console/*` (the
 * page's modules and styles, revalidated by ETag), `GET /api/v1/whoami` (the caller's scopes, so
 * the page can disable actions a viewer token may not take), and index.html for any other GET of
 * an HTML page outside the API. Mount it last, before the 404.
 */
export function consoleRoutes(deps: ApiDeps): Router {
  const router = Router();
  const { html, csp } = buildIndex();
  const headers = securityHeaders(csp);

  router.get('/api/v1/whoami', requireScope(deps.auth, 'viewer'), (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ scopes: res.locals.scopes ?? [], authEnabled: authEnabled(deps.auth) });
  });

  for (const v of VENDOR) router.get(`/vendor/${v.file}`, headers, vendorFile(deps.logger, v));

  // The timeline event types, from the engine's one list (EventSource only delivers named events).
  const eventTypesModule = `export const EVENT_TYPES = ${JSON.stringify(EVENT_TYPES)};\n`;
  router.get('/console/event-types.js', headers, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('text/javascript').send(eventTypesModule);
  });

  router.use(
    '/console',
    headers,
    express.static(CONSOLE_DIR, {
      index: false,
      dotfiles: 'ignore',
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );

  router.get(/.*/, (req, res, next) => {
    if (RESERVED.test(req.path) || /\.[a-z0-9]+$/i.test(req.path) || !req.accepts('html')) return next();
    headers(req, res, () => {
      res.setHeader('Cache-Control', 'no-cache');
      res.type('html').send(html);
    });
  });

  return router;
}
