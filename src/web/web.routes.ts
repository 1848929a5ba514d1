// The dashboard: the built single-page app (web/dist) served by the API's own server, same
// origin, so its session lives in the HttpOnly cookies and no CORS is ever needed. Hashed assets
// are cached for a year; index.html is never cached and carries a strict Content-Security-Policy
// (no inline script, no third-party origin), so an injected string can neither run nor call out.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { allowWhileMfaPending } from '../http/route-config.ts';

/** The project folder: the nearest one above this module (src/web or dist/src/web) with a package.json. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const DEFAULT_DIST_DIR = join(projectRoot(), 'web', 'dist');

/** Script and style only from this origin; images also from data: URLs (the MFA QR code). */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // The conversation player's <audio> loads /api/conversations/{id}/audio from this origin.
  "media-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Paths that belong to the API (and its docs, probes, webhooks and sockets): an unknown one is a
 * 404 problem document even for a browser, never the dashboard's HTML.
 */
const RESERVED =
  /^\/(?:api|auth|docs|openapi\.json|health|ready|\.well-known|problems|webhooks|ws|ws_pcm|assets|livekit|twilio)(?:[/?.]|$)/;
/** A missing file (…/logo.png) is a 404, not the app. Judged on the path: a query such as
 * `?next=/app/x?v=1.5` or `?next=//evil.example` must not turn a page into a 404. */
const FILE_LIKE = /\/[^/]*\.[A-Za-z0-9]{1,8}$/;

export function isDashboardPath(url: string): boolean {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return !RESERVED.test(path) && !FILE_LIKE.test(path);
}

function acceptsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Switchboard</title></head>
<body><h1>The dashboard is not built</h1><p>Run <code>npm run build:web</code> (npm start does it for you) and reload.</p></body></html>`;

export interface WebRouteOptions {
  /** The Vite build output; defaults to web/dist of this checkout. */
  distDir?: string;
}

export const webRoutes: FastifyPluginAsync<WebRouteOptions> = async (app, opts) => {
  const dist = opts.distDir ?? DEFAULT_DIST_DIR;
  const indexFile = join(dist, 'index.html');
  const hide = { hide: true };
  // The dashboard's files and pages hold no tenant data, and an enrolment-only session needs
  // them to reach the MFA setup page. This plugin is encapsulated: the mark stays inside it.
  allowWhileMfaPending(app);

  // Hashed file names (Vite): a new build gets new names, so these may be cached for good.
  await app.register(fastifyStatic, {
    root: join(dist, 'assets'),
    prefix: '/assets/',
    index: false,
    wildcard: true,
    immutable: true,
    maxAge: '365d',
  });

  // Top-level files of the build (favicon…), known at start; they are small and change rarely.
  if (existsSync(dist)) {
    for (const name of readdirSync(dist)) {
      if (name === 'index.html' || name.startsWith('.') || !statSync(join(dist, name)).isFile()) {
        continue;
      }
      app.get(`/${name}`, { schema: hide }, (_request, reply) =>
        reply.header('cache-control', 'public, max-age=3600').sendFile(name, dist),
      );
    }
  }

  let cached: { mtimeMs: number; html: string } | undefined;
  function indexHtml(): string | undefined {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(indexFile).mtimeMs;
    } catch {
      return undefined;
    }
    // A rebuild while the server runs is picked up on the next page load.
    if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, html: readFileSync(indexFile, 'utf8') };
    return cached.html;
  }

  const sendApp = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!acceptsHtml(request) || !isDashboardPath(request.url)) return reply.callNotFound();
    const html = indexHtml();
    return reply
      .code(html === undefined ? 503 : 200)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', DASHBOARD_CSP)
      .send(html ?? NOT_BUILT);
  };
  app.get('/', { schema: hide }, sendApp);
  // Lowest priority in the router: any route the API declares wins over this one.
  app.get('/*', { schema: hide }, sendApp);
};
