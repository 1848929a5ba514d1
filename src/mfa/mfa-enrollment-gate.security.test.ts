// The enrolment gate is deny-by-default: with an enrolment-only (mfa_pending) session, EVERY
// registered route answers 403 mfa_enrollment_required except the few this file names. A new
// route, or a new path for an old one (the source documents' /agents and /analytics aliases),
// is refused until someone opens it where it is declared — and adds it here.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import {
  bearer,
  cookieHeader,
  cookiesFrom,
  loginUser,
  registerUser,
} from '../test/auth-helpers.ts';
import { capturingMailer, claimsOf, registerUnderMfaPolicy } from '../test/mfa-helpers.ts';

/** What an enrolment-only session may reach, as `METHOD url` of the router. */
const OPEN = new Set([
  // Enrol, see who it is, refresh, leave, or move to an org that does not require MFA.
  'POST /api/auth/mfa/setup',
  'POST /api/auth/mfa/enable',
  'GET /auth/me',
  'HEAD /auth/me',
  'GET /api/users/me',
  'HEAD /api/users/me',
  'POST /api/auth/refresh',
  'POST /api/auth/logout',
  'POST /auth/logout',
  'POST /api/auth/logout-all',
  'POST /api/auth/switch-org',
  // Credential-free: signing in again or recovering an account with a stale cookie along.
  'POST /api/auth/register',
  'POST /api/auth/login',
  'POST /auth/jwt/login',
  'POST /auth/cookie/login',
  'POST /api/auth/mfa/verify',
  'POST /api/auth/email/verify',
  'POST /api/auth/password/forgot',
  'POST /api/auth/password/reset',
  // Also taken without a credential: a pending session sent along must not refuse them (a new
  // verification link for the address; joining another org by its link).
  'POST /api/auth/email/resend',
  'POST /api/invitations/accept',
  // Their aliases (src/routes.ts COMPAT_ALIASES): the same routes, so the same declaration.
  'POST /auth/register',
  'POST /auth/login',
  'POST /api/auth/verify-mfa',
  // No tenant data: probes, keys, docs, error descriptions, the dashboard's files and pages.
  ...['/health', '/ready', '/.well-known/jwks.json', '/openapi.json', '/problems/:code'].flatMap(
    (u) => [`GET ${u}`, `HEAD ${u}`],
  ),
  ...[
    '/docs',
    '/docs/json',
    '/docs/yaml',
    '/docs/static/*',
    '/docs/static/index.html',
    '/docs/static/swagger-initializer.js',
  ].flatMap((u) => [`GET ${u}`, `HEAD ${u}`]),
  ...['/', '/*', '/assets/*', '/favicon.svg'].flatMap((u) => [`GET ${u}`, `HEAD ${u}`]),
  // Device sockets: the upgrade passes this gate so that the socket gate can refuse the pending
  // session itself, with a close frame (1008 `mfa pending`) that devices understand
  // (src/realtime/realtime.security.test.ts). Without an upgrade they answer 404.
  ...['/ws', '/ws_pcm'].flatMap((u) => [`GET ${u}`, `HEAD ${u}`]),
]);

/** Routes that end the session: walked last, so the token stays good for the others. */
const ENDS_SESSION = new Set([
  'POST /api/auth/logout',
  'POST /auth/logout',
  'POST /api/auth/logout-all',
]);

const ID = '01900000-0000-7000-8000-000000000001';
const PARAMS: Record<string, string> = {
  id: ID,
  user_id: ID,
  identity: ID,
  call_sid: `CA${'0'.repeat(32)}`,
  code: 'not_found',
  client_id: '000001-device',
};

/** A concrete URL for a route pattern, with plausible values for its parameters. */
function concrete(url: string): string {
  return url
    .replace(/:([A-Za-z_]+)/g, (_m, name: string) => {
      const v = PARAMS[name];
      if (!v) throw new Error(`no test value for :${name} in ${url}; add one to PARAMS`);
      return v;
    })
    .replace(/\*$/, 'x');
}

let t: TestApp;
let dist: string;
beforeAll(async () => {
  // A stand-in dashboard build with one top-level file, so its routes are part of the walk.
  dist = mkdtempSync(join(tmpdir(), 'sb-dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  t = await buildTestApp({ deps: { mailer: capturingMailer(), webDistDir: dist } });
});
afterAll(async () => {
  await t.close();
  rmSync(dist, { recursive: true, force: true });
});

async function pendingSession() {
  const u = await registerUnderMfaPolicy(t);
  const res = await loginUser(t.app, u.email, u.password);
  expect(res.statusCode).toBe(200);
  const access = res.json().access_token as string;
  expect(claimsOf(access).mfa_pending).toBe(true);
  return { access, cookies: cookiesFrom(res) };
}

describe('enrolment gate: every registered route', () => {
  it('refuses an mfa_pending session everywhere but the declared enrolment and public routes', async () => {
    const { access } = await pendingSession();
    const routes = [...new Set(t.app.routeTable.map((r) => `${r.method} ${r.url}`))];
    // The walk must cover the aliases the gate used to miss.
    for (const alias of ['PATCH /agents/:id', 'GET /analytics/calls-by-date', 'GET /agents']) {
      expect(routes).toContain(alias);
    }
    routes.sort((a, b) => Number(ENDS_SESSION.has(a)) - Number(ENDS_SESSION.has(b)));

    const wronglyOpen: string[] = [];
    const wronglyClosed: string[] = [];
    for (const route of routes) {
      const [method, url] = route.split(' ') as [string, string];
      const res = await t.app.inject({
        method: method as 'GET',
        url: concrete(url),
        headers: { ...bearer(access), accept: 'application/json' },
        payload: method === 'GET' || method === 'HEAD' ? undefined : {},
      });
      // HEAD answers carry no body: the status is the whole answer.
      const refused =
        res.statusCode === 403 &&
        (method === 'HEAD' || res.json().code === 'mfa_enrollment_required');
      if (OPEN.has(route) && refused) wronglyClosed.push(route);
      if (!OPEN.has(route) && !refused) wronglyOpen.push(`${route} → ${res.statusCode}`);
    }
    expect(wronglyOpen).toEqual([]);
    expect(wronglyClosed).toEqual([]);
    // Nothing in the allow-list is stale: each entry is a real route.
    expect([...OPEN].filter((r) => !routes.includes(r))).toEqual([]);
  });

  it('a pending session cannot repoint an agent through the /agents alias, by bearer or cookie', async () => {
    const { access, cookies } = await pendingSession();
    const viaBearer = await t.app.inject({
      method: 'PATCH',
      url: `/agents/${ID}`,
      headers: bearer(access),
      payload: { media_stream_url: 'wss://attacker.example/stream' },
    });
    expect(viaBearer.statusCode).toBe(403);
    expect(viaBearer.json().code).toBe('mfa_enrollment_required');
    const viaCookie = await t.app.inject({
      url: '/analytics/agent-summary',
      headers: { cookie: cookieHeader(cookies) },
    });
    expect(viaCookie.statusCode).toBe(403);
    expect(viaCookie.json().code).toBe('mfa_enrollment_required');
  });

  it('the dashboard pages still load for a pending session', async () => {
    const { cookies } = await pendingSession();
    for (const url of ['/', '/app/security', '/favicon.svg']) {
      const res = await t.app.inject({
        url,
        headers: { cookie: cookieHeader(cookies), accept: 'text/html' },
      });
      expect(res.statusCode, url).toBe(200);
    }
  });

  it('a full session is not affected by the gate', async () => {
    const u = await registerUser(t.app);
    const res = await t.app.inject({ url: '/analytics/calls-by-date', headers: bearer(u.access) });
    expect(res.statusCode).not.toBe(403);
  });
});
