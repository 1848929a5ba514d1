// Browser security headers: helmet's own set on every answer (a page, an API answer, a refusal,
// a 404), computed once, with Cache-Control: no-store unless the route chose its own; none on
// forward-auth, whose answers go to proxies.
import helmet from 'helmet';
import { describe, expect, it } from 'vitest';
import { appForFile } from '../test/app.ts';
import { bearer, loginUser, registerUser } from '../test/auth-helpers.ts';
import { answerHeaders, HELMET_OPTIONS, helmetHeaders } from './security-headers.ts';

const t = appForFile();

/** What helmet's middleware sets on a real response object, observed independently. */
function helmetOnARealResponse(): Record<string, string> {
  const set: Record<string, string> = {};
  helmet(HELMET_OPTIONS)(
    {} as never,
    {
      setHeader: (name: string, value: string) => {
        set[name.toLowerCase()] = value;
      },
      removeHeader: () => {},
    } as never,
    () => {},
  );
  return set;
}

describe('security headers', () => {
  it('are exactly helmet’s for these options, the well-known ones among them', () => {
    const headers = helmetHeaders(HELMET_OPTIONS);
    expect(headers).toEqual(helmetOnARealResponse());
    expect(headers).toMatchObject({
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    });
    // The dashboard's routes set their own policy; helmet's default would break the docs UI.
    expect(headers).not.toHaveProperty('content-security-policy');
  });

  it.each([
    ['an API answer', 'GET', '/health', 200],
    ['a 404', 'GET', '/api/no-such-route', 404],
    ['a refused login from another site', 'POST', '/api/auth/login', 403],
    ['an unauthenticated API call', 'GET', '/api/prompts', 401],
  ] as const)('are on %s', async (_label, method, url, status) => {
    const res = await t.app.inject({
      method,
      url,
      headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      ...(method === 'POST'
        ? { payload: { email: 'a@example.com', password: 'x'.repeat(12) } }
        : {}),
    });
    expect(res.statusCode).toBe(status);
    for (const [name, value] of Object.entries(answerHeaders())) {
      expect(res.headers[name], name).toBe(value);
    }
  });

  it('keep token answers, secrets and tenant data out of every cache', async () => {
    const r = await registerUser(t.app);
    const login = await loginUser(t.app, r.email, r.password);
    expect(login.json()).toHaveProperty('refresh_token');
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: login.json().refresh_token },
    });
    expect(refresh.json()).toHaveProperty('access_token');
    const me = await t.app.inject({ url: '/auth/me', headers: bearer(r.access) });
    const key = await t.app.inject({
      method: 'POST',
      url: '/api/api-keys',
      headers: bearer(r.access),
      payload: { name: 'ci', scopes: ['prompts:read'] },
    });
    expect(key.statusCode).toBe(201);
    for (const [label, res] of [
      ['login', login],
      ['refresh', refresh],
      ['me', me],
      ['new API key', key],
    ] as const) {
      expect(res.headers['cache-control'], label).toBe('no-store');
    }
  });

  it('leave a route its own caching (the JWKS is meant to be cached)', async () => {
    const res = await t.app.inject({ url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
  });

  it('are not on forward-auth answers, which only proxies read', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/verify' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-frame-options']).toBeUndefined();
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});
