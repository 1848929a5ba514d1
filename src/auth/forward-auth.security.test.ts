// Forward-auth (`GET /api/auth/verify`) must tell a proxy what KIND of credential it saw and what
// it may do: an API key answers for its creator but only within its scopes, so a proxy that
// trusted the role header alone would admit a `prompts:read` key as an owner. `?permission=`
// lets the proxy demand a permission per location and get a 403 otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission } from '../access/permissions.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { cookieHeader, cookiesFrom } from '../test/auth-helpers.ts';
import { createKey, logIn, setRole, superuserApp, type Team, team } from '../test/org-helpers.ts';

let t: TestApp;
let a: Team;
beforeAll(async () => {
  t = await buildTestApp();
  a = await team(t);
});
afterAll(() => t.close());

const verify = (headers: Record<string, string>, query = '') =>
  t.app.inject({ url: `/api/auth/verify${query}`, headers });

describe('what forward-auth tells a proxy', () => {
  it('an API key is named as one, with its scopes, not as its creator’s session', async () => {
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    const res = await verify(key.headers);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-switchboard-credential']).toBe('api_key');
    expect(res.headers['x-switchboard-scopes']).toBe('prompts:read');
    expect(res.headers['x-switchboard-role']).toBe('owner');
    expect(res.headers['x-switchboard-session']).toBeUndefined();
    expect(res.json()).toMatchObject({
      credential: 'api_key',
      scopes: ['prompts:read'],
      session_id: null,
    });
  });

  it('a write scope is reported with the read scope it includes; the key list shows what was stored', async () => {
    const key = await createKey(t.app, a.owner, ['prompts:write', 'calls:read']);
    const res = await verify(key.headers, '?permission=prompts:read');
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-switchboard-scopes']).toBe('prompts:write prompts:read calls:read');
    expect(res.json().scopes).toEqual(['prompts:write', 'prompts:read', 'calls:read']);
    const keys = await t.app.inject({ url: '/api/api-keys', headers: a.owner.headers });
    const listed = keys.json().items.find((k: { id: string }) => k.id === key.id);
    expect(listed.scopes).toEqual(['prompts:write', 'calls:read']);
  });

  it('a session is named as one; it has no scopes (its role governs)', async () => {
    const res = await verify(a.manager.headers);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-switchboard-credential']).toBe('session');
    expect(res.headers['x-switchboard-scopes']).toBe('');
    expect(res.json()).toMatchObject({ credential: 'session', scopes: null, role: 'manager' });
  });

  it('a proxy cannot be fed X-Switchboard-* by the caller', async () => {
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    const res = await verify({
      ...key.headers,
      'x-switchboard-credential': 'session',
      'x-switchboard-scopes': 'prompts:write',
    });
    expect(res.headers['x-switchboard-credential']).toBe('api_key');
    expect(res.headers['x-switchboard-scopes']).toBe('prompts:read');
  });
});

describe('?permission= — a proxy demands a permission per location', () => {
  it('a prompts:read key of an owner passes prompts:read and nothing it was not scoped for', async () => {
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    expect((await verify(key.headers, '?permission=prompts:read')).statusCode).toBe(200);
    for (const p of ['prompts:create', 'prompts:manage_any', 'members:manage', 'agents:read']) {
      const res = await verify(key.headers, `?permission=${p}`);
      expect(res.statusCode, p).toBe(403);
      expect(res.json().code, p).toBe('forbidden');
      expect(res.headers['x-switchboard-user'], p).toBeUndefined();
    }
  });

  it('a key never holds more than its creator’s current role, whatever its scopes', async () => {
    const b = await team(t, 'Demoted Co');
    const key = await createKey(t.app, b.admin, ['prompts:write']);
    expect((await verify(key.headers, '?permission=prompts:manage_any')).statusCode).toBe(200);
    const demote = await setRole(t.app, b.owner, b.admin, 'member');
    expect(demote.statusCode).toBe(200);
    expect((await verify(key.headers, '?permission=prompts:manage_own')).statusCode).toBe(200);
    expect((await verify(key.headers, '?permission=prompts:manage_any')).statusCode).toBe(403);
  });

  it('a session holds exactly its role’s permissions', async () => {
    for (const role of ['owner', 'admin', 'manager', 'member'] as const) {
      for (const [permission, roles] of Object.entries(PERMISSIONS) as [
        Permission,
        readonly string[],
      ][]) {
        const res = await verify(a[role].headers, `?permission=${permission}`);
        expect(res.statusCode, `${role} ${permission}`).toBe(roles.includes(role) ? 200 : 403);
      }
    }
  });

  it('every permission asked for must be held (repeatable)', async () => {
    const ok = await verify(a.member.headers, '?permission=prompts:read&permission=agents:create');
    expect(ok.statusCode).toBe(200);
    const one = await verify(a.member.headers, '?permission=prompts:read&permission=audit:read');
    expect(one.statusCode).toBe(403);
    expect(one.json().detail).toContain('audit:read');
  });

  it('the same holds through the cookie', async () => {
    const { res } = await logIn(t.app, a.member.email);
    const headers = { cookie: cookieHeader(cookiesFrom(res)) };
    expect((await verify(headers, '?permission=prompts:read')).statusCode).toBe(200);
    expect((await verify(headers, '?permission=members:manage')).statusCode).toBe(403);
  });

  it('an unknown or malformed permission is a 400, never a silent pass', async () => {
    for (const q of [
      '?permission=prompts:delete_everything',
      '?permission=',
      '?permission=PROMPTS:READ',
      '?permission=prompts:read&permission=nope',
      // A misspelt parameter must not turn the demand into no demand at all.
      '?permissions=members:manage',
    ]) {
      const res = await verify(a.owner.headers, q);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().code, q).toBe('validation_failed');
    }
  });

  it('an X-Switchboard-Org the caller may not use is a 403, never a 400 or 404 a proxy turns into 500', async () => {
    // nginx's auth_request relays only 2xx, 401 and 403; the header here is the proxy's client's.
    const { su, t: sut } = await superuserApp();
    try {
      const c = await team(sut, 'Elsewhere');
      for (const [who, headers, org] of [
        ['member, another org', a.member.headers, c.org.id],
        ['member, no org id', a.member.headers, 'not-an-org'],
        ['superuser, no org id', su.headers, 'not-an-org'],
        ['superuser, no such org', su.headers, '01936b2e-0000-7000-8000-000000000000'],
      ] as const) {
        const app = who.startsWith('superuser') ? sut.app : t.app;
        const res = await app.inject({
          url: '/api/auth/verify',
          headers: { ...headers, 'x-switchboard-org': org },
        });
        expect(res.statusCode, who).toBe(403);
        expect(res.json().code, who).toBe('forbidden');
        expect(res.headers['x-switchboard-user'], who).toBeUndefined();
      }
      // Elsewhere the same header keeps its answers (src/admin/admin.security.test.ts).
      const bad = await sut.app.inject({
        url: '/api/orgs/current',
        headers: { ...su.headers, 'x-switchboard-org': 'not-an-org' },
      });
      expect(bad.statusCode).toBe(400);
    } finally {
      await sut.close();
    }
  });

  it('without a credential it stays 401, whatever is asked', async () => {
    const res = await verify({}, '?permission=prompts:read');
    expect(res.statusCode).toBe(401);
  });
});
