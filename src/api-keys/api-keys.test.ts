// API keys: the format and the closed list of scopes, created once and stored hashed, rate
// limited, last use recorded. Hostile cases (scopes, tenants, revoked, expired and forged keys)
// are in api-keys.security.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_SCOPES, PERMISSIONS, type Permission, scopeFor } from '../access/permissions.ts';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer } from '../test/auth-helpers.ts';
import { auditOf, createKey, listPrompts, team } from '../test/org-helpers.ts';
import { apiKeyPrefix, newApiKey } from './api-key-format.ts';
import { apiKeyRefusedOn } from './authenticate-api-key.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('key format and scopes', () => {
  it('sb_<prefix>_<secret>, high-entropy, parsed strictly', () => {
    const a = newApiKey();
    const b = newApiKey();
    expect(a.key).toMatch(/^sb_[a-z2-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(apiKeyPrefix(a.key)).toBe(a.prefix);
    expect(a.hash).toBe(hashToken(a.key));
    for (const bad of ['sb_', `${a.key}x`, a.key.replace('sb_', 'sk_'), `sb_${a.prefix}`, '']) {
      expect(apiKeyPrefix(bad)).toBeNull();
    }
  });

  it('every scope a permission maps to is in the closed list', () => {
    for (const perm of Object.keys(PERMISSIONS) as Permission[]) {
      const scope = scopeFor(perm);
      if (scope !== null) expect(API_KEY_SCOPES, perm).toContain(scope);
    }
  });

  it('keys are refused on account and session routes, except forward-auth', () => {
    for (const [m, url] of [
      ['POST', '/api/auth/logout-all'],
      ['GET', '/api/auth/sessions'],
      ['DELETE', '/api/auth/sessions/:id'],
      ['POST', '/api/auth/password/change'],
      ['PATCH', '/api/users/me'],
      ['GET', '/auth/me'],
      ['POST', '/api/auth/mfa/setup'],
    ] as const) {
      expect(apiKeyRefusedOn(m, url), `${m} ${url}`).toBe(true);
    }
    for (const [m, url] of [
      ['GET', '/api/auth/verify'],
      ['GET', '/api/prompts'],
      ['GET', '/api/orgs/current'],
      ['GET', undefined],
    ] as const) {
      expect(apiKeyRefusedOn(m, url), `${m} ${url}`).toBe(false);
    }
  });
});

describe('lifecycle', () => {
  it('creates a key shown once, stored hashed, listed without its secret', async () => {
    const a = await team(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/api-keys',
      headers: a.admin.headers,
      payload: { name: 'agent worker', scopes: ['prompts:read', 'agent:context', 'prompts:read'] },
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const created = res.json();
    expect(created).toMatchObject({
      name: 'agent worker',
      scopes: ['prompts:read', 'agent:context'],
      status: 'active',
      created_by: a.admin.user.id,
      expires_at: null,
      last_used_at: null,
    });
    expect(created.key.startsWith(`sb_${created.prefix}_`)).toBe(true);
    const row = await withSystem(t.database, (tx) =>
      tx.selectFrom('api_keys').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow(),
    );
    expect(row.key_hash).toBe(hashToken(created.key));
    // The secret is everything after `sb_<prefix>_` (base64url, so it may itself contain '_').
    const secret = created.key.slice(`sb_${created.prefix}_`.length);
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(row)).not.toContain(secret);
    const list = await t.app.inject({ url: '/api/api-keys', headers: a.owner.headers });
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toEqual([
      expect.objectContaining({ id: created.id, prefix: created.prefix }),
    ]);
    expect(list.body).not.toContain(created.key);
    expect(list.json().items[0]).not.toHaveProperty('key');
    const trail = await auditOf(t.database, a.org.id);
    const entry = trail.find((e) => e.action === 'api_key.create');
    expect(entry).toMatchObject({ actor_user_id: a.admin.user.id, target_id: created.id });
    expect(JSON.stringify(trail)).not.toContain(created.key);
  });

  it("names the key in the audit entry of every act it does, and a revoke names the key's prefix", async () => {
    const a = await team(t);
    const one = await createKey(t.app, a.owner, ['phones:write']);
    const other = await createKey(t.app, a.owner, ['phones:write']);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/phones',
      headers: one.headers,
      payload: { number: `+1415${String(Date.now()).slice(-7)}` },
    });
    expect(res.statusCode, res.body).toBe(201);
    const created = (await auditOf(t.database, a.org.id)).find((e) => e.action === 'phone.create');
    // The creator alone (both keys are theirs) cannot say which key to revoke after a leak.
    expect(created).toMatchObject({ actor_type: 'api_key', actor_user_id: a.owner.user.id });
    expect(created?.metadata).toMatchObject({ api_key_id: one.id });
    expect(created?.metadata).not.toMatchObject({ api_key_id: other.id });

    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/api/api-keys/${one.id}`,
      headers: a.owner.headers,
    });
    expect(revoke.statusCode).toBe(204);
    const revoked = (await auditOf(t.database, a.org.id)).find(
      (e) => e.action === 'api_key.revoke',
    );
    expect(revoked).toMatchObject({ target_id: one.id, metadata: { prefix: one.prefix } });
    // A person's own act names no key.
    expect(revoked?.metadata).not.toHaveProperty('api_key_id');
  });

  it('records its last use, at most once a minute', async () => {
    const a = await team(t);
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    await listPrompts(t.app, key.headers);
    const first = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('api_keys')
        .select('last_used_at')
        .where('id', '=', key.id)
        .executeTakeFirstOrThrow(),
    );
    expect(first.last_used_at).toBeInstanceOf(Date);
    await listPrompts(t.app, key.headers);
    const second = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('api_keys')
        .select('last_used_at')
        .where('id', '=', key.id)
        .executeTakeFirstOrThrow(),
    );
    expect(second.last_used_at!.getTime()).toBe(first.last_used_at!.getTime());
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('api_keys')
        .set({ last_used_at: new Date(Date.now() - 120_000) })
        .where('id', '=', key.id)
        .execute(),
    );
    await listPrompts(t.app, key.headers);
    const list = await t.app.inject({ url: '/api/api-keys', headers: a.owner.headers });
    const seen = new Date(list.json().items[0].last_used_at).getTime();
    expect(Date.now() - seen).toBeLessThan(30_000);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past the api_key limit, per key', async () => {
    const limited = await buildTestApp({
      database: t.database,
      env: { RATE_LIMIT_API_KEY: '3/60' },
    });
    try {
      const a = await team(limited);
      const key = await createKey(limited.app, a.owner, ['prompts:read']);
      const other = await createKey(limited.app, a.owner, ['prompts:read']);
      for (let i = 0; i < 3; i++)
        expect((await listPrompts(limited.app, key.headers)).statusCode).toBe(200);
      const res = await listPrompts(limited.app, key.headers);
      expect(res.statusCode).toBe(429);
      expect(res.json().code).toBe('rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect((await listPrompts(limited.app, other.headers)).statusCode).toBe(200);
      // Wrong secrets with a known prefix do not use up the real key's allowance.
      const spoof = `sb_${other.prefix}_${'A'.repeat(43)}`;
      for (let i = 0; i < 5; i++)
        expect((await listPrompts(limited.app, bearer(spoof))).statusCode).toBe(401);
      expect((await listPrompts(limited.app, other.headers)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
