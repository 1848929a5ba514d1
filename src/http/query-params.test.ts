// An API route refuses query parameters it does not declare (src/http/query-params.ts), as list
// routes always did: a parameter that changes nothing must not read as if it had been applied.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, registerUser } from '../test/auth-helpers.ts';

let t: TestApp;
let access: string;
beforeAll(async () => {
  t = await buildTestApp();
  access = (await registerUser(t.app)).access;
});
afterAll(() => t.close());

const NOT_ALLOWED = 'is not an allowed field';

describe('query parameters a route does not declare', () => {
  it.each([
    ['GET', '/api/auth/sessions?limit=1', 'limit'],
    ['GET', '/api/orgs?role=owner', 'role'],
    ['GET', '/api/users/me?fields=email', 'fields'],
    ['GET', '/auth/me?x=1', 'x'],
    ['HEAD', '/api/orgs?role=owner', 'role'],
  ] as const)('%s %s is a 400 naming the parameter', async (method, url, name) => {
    const res = await t.app.inject({ method, url, headers: bearer(access) });
    expect(res.statusCode).toBe(400);
    if (method === 'HEAD') return;
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      code: 'validation_failed',
      detail: 'The query string is not valid',
      errors: [{ field: name, message: NOT_ALLOWED }],
    });
  });

  it('the detail names the part of the request in words: path parameters', async () => {
    const res = await t.app.inject({ url: '/api/prompts/not-a-uuid', headers: bearer(access) });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe('The path parameters are not valid');
  });

  it('a write with an undeclared parameter does nothing: POST /api/auth/logout?all=true', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout?all=true',
      headers: bearer(access),
    });
    expect(res.statusCode).toBe(400);
    const me = await t.app.inject({ url: '/api/users/me', headers: bearer(access) });
    expect(me.statusCode).toBe(200);
  });

  it('the same routes answer without them, and declared parameters still work', async () => {
    for (const url of ['/api/auth/sessions', '/api/orgs', '/auth/me', '/api/prompts?limit=1']) {
      const res = await t.app.inject({ url, headers: bearer(access) });
      expect(res.statusCode, url).toBe(200);
    }
  });

  it('paths outside the API keep their query: probes and problem pages', async () => {
    for (const url of ['/health?probe=lb', '/problems/validation_failed?lang=en']) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
    }
  });
});
