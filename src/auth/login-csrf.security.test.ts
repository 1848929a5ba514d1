// Login CSRF: a page on another site auto-submits a form (or a fetch) to a public route and logs
// the victim's browser into the attacker's account, or spends a token on their behalf. Every
// public state-changing route refuses cross-site browser requests (Sec-Fetch-Site / Origin), and
// form bodies are parsed only where a route documents them.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import {
  cookieHeader,
  cookiesFrom,
  loginUser,
  logOut,
  registerUser,
} from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import {
  awayFromStepEdge,
  enrolMfa,
  mfaVerify,
  passwordStep,
  totpNow,
} from '../test/mfa-helpers.ts';

let t: TestApp;
let origin: string;
beforeAll(async () => {
  t = await buildTestApp();
  origin = new URL(t.config.publicUrl).origin;
});
afterAll(() => t.close());

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** What a browser sends for a request that another site started. */
const HOSTILE: Record<string, Record<string, string>> = {
  'Sec-Fetch-Site: cross-site': { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
  // A sibling subdomain is the same site but not the same origin: still refused.
  'Sec-Fetch-Site: same-site': {
    'sec-fetch-site': 'same-site',
    origin: 'https://evil.localhost',
  },
  'a foreign Origin (no Sec-Fetch-Site)': { origin: 'https://evil.example' },
  'Origin: null (sandboxed frame, cross-origin redirect)': { origin: 'null' },
  'an Origin on another port': { origin: 'http://localhost:1' },
  'an unknown Sec-Fetch-Site value': { 'sec-fetch-site': 'cross-site, same-origin' },
};

function expectRefused(res: LightMyRequestResponse, label: string) {
  expect(res.statusCode, `${label}: ${res.body}`).toBe(403);
  expect(res.headers['content-type'], label).toMatch(/^application\/problem\+json/);
  expect(res.json().code, label).toBe('cross_site_request');
  expect(res.headers['set-cookie'], label).toBeUndefined();
}

// Routes a stranger may call (no credential required) that change state. Twilio's and LiveKit's
// webhooks are not here: they are authenticated by their signature, which a cross-site form
// cannot produce.
function publicWrites() {
  return t.app.routeTable
    .filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))
    .filter((r) => !r.url.startsWith('/webhooks/twilio/') && r.url !== '/webhooks/livekit')
    .filter((r) => {
      const security = (r.schema as { security?: object[] } | undefined)?.security;
      // Public: no security, `security: []`, or an optional credential (an empty alternative).
      return (
        !security || security.length === 0 || security.some((s) => Object.keys(s).length === 0)
      );
    })
    .map((r) => ({ method: r.method, url: r.url.replace(/:(\w+)/g, 'x') }));
}

describe('public state-changing routes refuse cross-site browser requests', () => {
  it('finds every such route (the ones the issue names among them)', () => {
    const found = publicWrites().map((r) => `${r.method} ${r.url}`);
    for (const route of [
      'POST /api/auth/register',
      'POST /api/auth/login',
      'POST /auth/jwt/login',
      'POST /auth/cookie/login',
      'POST /api/auth/refresh',
      'POST /api/auth/mfa/verify',
      'POST /api/auth/password/forgot',
      'POST /api/auth/password/reset',
      'POST /api/auth/email/verify',
      'POST /api/auth/email/resend',
      'POST /api/invitations/accept',
      // The source documents' aliases of the sign-in routes (src/routes.ts COMPAT_ALIASES).
      'POST /auth/register',
      'POST /auth/login',
      'POST /api/auth/verify-mfa',
    ]) {
      expect(found).toContain(route);
    }
  });

  it('answers 403 cross_site_request on every one, whatever the body, and sets no cookie', async () => {
    for (const route of publicWrites()) {
      for (const [label, headers] of Object.entries(HOSTILE)) {
        for (const body of [
          { headers: {}, payload: { email: 'a@b.example' } },
          { headers: FORM, payload: 'username=a%40b.example&password=x' },
        ]) {
          const res = await t.app.inject({
            method: route.method as 'POST',
            url: route.url,
            headers: { ...headers, ...body.headers },
            payload: body.payload,
          });
          expectRefused(res, `${route.method} ${route.url} with ${label}`);
        }
      }
    }
  });

  it('a cross-site login with the right password logs nobody in (JSON and both form logins)', async () => {
    const r = await registerUser(t.app);
    for (const headers of Object.values(HOSTILE)) {
      expectRefused(await loginUser(t.app, r.email, r.password, headers), '/api/auth/login');
      for (const url of ['/auth/cookie/login', '/auth/jwt/login']) {
        const res = await t.app.inject({
          method: 'POST',
          url,
          headers: { ...headers, ...FORM },
          payload: form({ username: r.email, password: r.password }),
        });
        expectRefused(res, url);
        expect(res.body).not.toContain('access_token');
      }
    }
  });

  it('a cross-site sign-up creates no account', async () => {
    const email = uniqueEmail('xsite');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: HOSTILE['Sec-Fetch-Site: cross-site'],
      payload: { email, password: 'correct horse battery staple 42' },
    });
    expectRefused(res, 'register');
    expect((await loginUser(t.app, email, 'correct horse battery staple 42')).statusCode).toBe(401);
  });

  it("a cross-site refresh with the attacker's refresh token rotates nothing and plants nothing", async () => {
    const attacker = await registerUser(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      headers: HOSTILE['a foreign Origin (no Sec-Fetch-Site)'],
      payload: { refresh_token: attacker.refresh },
    });
    expectRefused(res, 'refresh');
    // Not spent: the token still rotates once for its owner.
    const own = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: attacker.refresh },
    });
    expect(own.statusCode).toBe(200);
  });

  it("a cross-site MFA step with the attacker's mfa_token spends nothing", async () => {
    await awayFromStepEdge();
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    expectRefused(
      await mfaVerify(
        t.app,
        { mfa_token: token, code: totpNow(secret, 1) },
        HOSTILE['Sec-Fetch-Site: cross-site'],
      ),
      'mfa verify',
    );
    const ok = await mfaVerify(t.app, { mfa_token: token, code: totpNow(secret, 1) });
    expect(ok.statusCode).toBe(200);
  });
});

describe('same-origin browsers and non-browser clients still work', () => {
  const FRIENDLY: Record<string, () => Record<string, string>> = {
    'no Sec-Fetch-Site and no Origin (curl, SDKs)': () => ({}),
    'Sec-Fetch-Site: same-origin with our Origin (the dashboard)': () => ({
      'sec-fetch-site': 'same-origin',
      origin,
    }),
    'our Origin alone (a browser without Fetch Metadata)': () => ({ origin }),
    'Sec-Fetch-Site: none (typed by the user)': () => ({ 'sec-fetch-site': 'none' }),
  };

  for (const [label, headers] of Object.entries(FRIENDLY)) {
    it(`logs in with ${label}`, async () => {
      const r = await registerUser(t.app, {}, headers());
      const json = await loginUser(t.app, r.email, r.password, headers());
      expect(json.statusCode, json.body).toBe(200);
      expect(cookiesFrom(json).sb_access).toBeTruthy();
      const cookie = await t.app.inject({
        method: 'POST',
        url: '/auth/cookie/login',
        headers: { ...headers(), ...FORM },
        payload: form({ username: r.email, password: r.password }),
      });
      expect(cookie.statusCode, cookie.body).toBe(204);
      expect(cookiesFrom(cookie).sb_access).toBeTruthy();
      const jwt = await t.app.inject({
        method: 'POST',
        url: '/auth/jwt/login',
        headers: { ...headers(), ...FORM },
        payload: form({ username: r.email, password: r.password, grant_type: 'password' }),
      });
      expect(jwt.statusCode, jwt.body).toBe(200);
      expect(jwt.json().access_token).toEqual(expect.any(String));
    });
  }

  it('the cookie-CSRF defence of authenticated writes still holds for same-origin requests', async () => {
    const r = await registerUser(t.app);
    const sameOrigin = { 'sec-fetch-site': 'same-origin', origin, cookie: cookieHeader(r.cookies) };
    const noToken = await logOut(t.app, sameOrigin);
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().code).toBe('csrf_failed');
    const withToken = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { ...sameOrigin, 'x-csrf-token': r.cookies.sb_csrf! },
    });
    expect(withToken.statusCode).toBe(204);
  });
});

describe('form bodies are accepted only where a route documents them', () => {
  it('a JSON-only route answers 415 unsupported_media_type to a form body', async () => {
    const r = await registerUser(t.app);
    for (const [url, fields] of [
      ['/api/auth/login', { email: r.email, password: r.password }],
      ['/api/auth/register', { email: uniqueEmail('form'), password: r.password }],
      ['/api/auth/refresh', { refresh_token: r.refresh }],
      ['/api/auth/password/forgot', { email: r.email }],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url, headers: FORM, payload: form(fields) });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(415);
      expect(res.json().code, url).toBe('unsupported_media_type');
      expect(res.headers['set-cookie'], url).toBeUndefined();
    }
    // The refresh token sent as a form was not spent.
    const own = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: r.refresh },
    });
    expect(own.statusCode).toBe(200);
  });

  it('an authenticated JSON route answers 415 to a form body as well', async () => {
    const r = await registerUser(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/prompts',
      headers: { ...FORM, authorization: `Bearer ${r.access}` },
      payload: form({ name: 'p', content: 'hello' }),
    });
    expect(res.statusCode, res.body).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
  });

  it('the form routes document their form body in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    for (const path of ['/auth/jwt/login', '/auth/cookie/login']) {
      expect(Object.keys(doc.paths[path].post.requestBody.content)).toEqual([
        'application/x-www-form-urlencoded',
      ]);
    }
  });
});
