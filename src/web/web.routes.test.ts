// Serving the dashboard: the app's HTML for browser navigations (with its CSP), never for API
// paths or non-HTML requests; hashed assets cached for good; a clear page when not built.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { DASHBOARD_CSP, isDashboardPath } from './web.routes.ts';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="root"></div></body></html>';

let dist: string;
let t: TestApp;

beforeAll(async () => {
  // A stand-in build, so these tests do not depend on (or wait for) the real Vite build.
  dist = mkdtempSync(join(tmpdir(), 'sb-dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log("app")');
  writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dist, '.build-info.json'), '{}');
  t = await buildTestApp({ deps: { webDistDir: dist } });
});

afterAll(async () => {
  await t.close();
  rmSync(dist, { recursive: true, force: true });
});

describe('dashboard pages', () => {
  it.each([
    '/',
    '/login',
    '/app',
    '/app/org/members',
    '/accept-invite?token=abc',
    '/reset-password?token=x',
  ])('GET %s from a browser is the app, with a strict CSP and no caching', async (url) => {
    const res = await t.app.inject({ url, headers: HTML });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toBe(INDEX);
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toBe(DASHBOARD_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('HEAD of a page answers like GET without a body', async () => {
    const res = await t.app.inject({ method: 'HEAD', url: '/app', headers: HTML });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
  });

  it.each([
    '/api/nope',
    '/api/prompts/extra/segments',
    '/auth/nope',
    '/health/x',
    '/docs/nope/x',
    '/.well-known/nope',
    '/problems/x/y',
    '/webhooks/twilio/nope',
    '/ws/nope',
    '/assets/missing.js',
    '/logo.png',
  ])('GET %s is a 404 problem document even from a browser', async (url) => {
    const res = await t.app.inject({ url, headers: HTML });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'route_not_found' });
  });

  it('a non-browser request for an unknown path is a 404 problem document', async () => {
    for (const accept of [undefined, 'application/json', '*/*']) {
      const res = await t.app.inject({ url: '/app', headers: accept ? { accept } : {} });
      expect(res.statusCode, String(accept)).toBe(404);
      expect(res.json()).toMatchObject({ code: 'route_not_found' });
    }
  });

  // `/` is a route of its own (the fallback `/*` does not match it): declining a non-browser, it
  // must read as the missing page it is, not as a path segment over the router's limit (414).
  it.each([
    ['GET', undefined],
    ['GET', '*/*'],
    ['GET', 'application/json'],
    ['HEAD', '*/*'],
  ] as const)(
    '%s / from a non-browser (Accept %s) is a 404 problem document',
    async (method, accept) => {
      const res = await t.app.inject({ method, url: '/', headers: accept ? { accept } : {} });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      if (method === 'GET') expect(res.json()).toMatchObject({ code: 'route_not_found' });
    },
  );

  it('an API path segment over the router limit is a 414 even from a browser', async () => {
    const res = await t.app.inject({ url: `/api/prompts/${'a'.repeat(101)}`, headers: HTML });
    expect(res.statusCode).toBe(414);
    expect(res.json()).toMatchObject({ code: 'uri_too_long' });
    // At the limit the router takes it: the route's own answer (not an id: 400), not a 414.
    const atLimit = await t.app.inject({ url: `/api/prompts/${'a'.repeat(100)}` });
    expect(atLimit.statusCode).toBe(400);
    expect(atLimit.json().code).not.toBe('uri_too_long');
  });

  it('API routes keep answering JSON to browsers', async () => {
    const me = await t.app.inject({ url: '/auth/me', headers: HTML });
    expect(me.statusCode).toBe(401);
    expect(me.headers['content-type']).toMatch(/problem\+json/);
    const health = await t.app.inject({ url: '/health', headers: HTML });
    expect(health.json()).toEqual({ status: 'ok' });
  });

  it('writes to a page path are not the app', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/login', headers: HTML, payload: {} });
    expect(res.statusCode).toBe(404);
  });

  it('hashed assets are served with a year-long immutable cache', async () => {
    const res = await t.app.inject({ url: '/assets/app-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toMatch(/max-age=31536000/);
    expect(res.headers['cache-control']).toMatch(/immutable/);
  });

  it('top-level build files are served; dotfiles and traversal are not', async () => {
    expect((await t.app.inject({ url: '/favicon.svg' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/.build-info.json', headers: HTML })).statusCode).toBe(404);
    for (const url of [
      '/assets/../index.html',
      '/assets/%2e%2e/index.html',
      '/assets/..%2f..%2fpackage.json',
    ]) {
      const res = await t.app.inject({ url });
      expect([403, 404], url).toContain(res.statusCode);
      expect(res.body).not.toContain('<!doctype html>');
    }
  });

  it('dashboard routes are hidden from the OpenAPI document', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).not.toContain('/');
    expect(Object.keys(doc.paths)).not.toContain('/*');
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/assets'))).toBe(false);
  });
});

describe('isDashboardPath', () => {
  it('tells app pages from API, docs, probes, sockets and files', () => {
    for (const p of [
      '/',
      '/login',
      '/app/prompts',
      '/verify-email?token=a.b',
      '/login?next=//evil.example',
      '/login?next=/app/x?v=1.5',
      '/apple',
      '/authors',
    ]) {
      expect(isDashboardPath(p), p).toBe(true);
    }
    for (const p of [
      '/api',
      '/api/x',
      '/auth/me',
      '/docs',
      '/docs/json',
      '/openapi.json',
      '/health',
      '/ready',
      '/.well-known/jwks.json',
      '/problems/x',
      '/webhooks/x',
      '/ws',
      '/ws_pcm',
      '/assets/x.js',
      '/robots.txt',
      '/logo.png?v=2',
    ]) {
      expect(isDashboardPath(p), p).toBe(false);
    }
  });
});

describe('without a build', () => {
  it('a page request says how to build the dashboard (503), the API is unaffected', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sb-nodist-'));
    const app = await buildTestApp({
      database: t.database,
      deps: { webDistDir: join(empty, 'dist') },
    });
    try {
      const res = await app.app.inject({ url: '/app', headers: HTML });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build:web');
      expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
      expect((await app.app.inject({ url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
