// Hostile cases of API keys: scopes that were never granted, another tenant's keys and rows,
// roles below key management, and keys that are revoked, expired, orphaned by their creator's
// demotion, removal or disabling, malformed, unknown or tampered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer } from '../test/auth-helpers.ts';
import { enrolMfa, setOrgSettings } from '../test/mfa-helpers.ts';
import {
  ADMIN_ENV,
  auditOf,
  createKey,
  listPrompts,
  postPrompt,
  removeMember,
  setRole,
  superuser,
  team,
} from '../test/org-helpers.ts';
import { newApiKey } from './api-key-format.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ env: ADMIN_ENV });
});
afterAll(() => t.close());

describe('scopes and tenants', () => {
  it('refuses unknown scopes, empty scopes, past expiry and unknown fields', async () => {
    const a = await team(t);
    for (const payload of [
      { name: 'x', scopes: ['members:manage'] },
      { name: 'x', scopes: ['api_keys:manage'] },
      { name: 'x', scopes: [] },
      {
        name: 'x',
        scopes: ['prompts:read'],
        expires_at: new Date(Date.now() - 1000).toISOString(),
      },
      { name: 'x', scopes: ['prompts:read'], expires_at: 'tomorrow' },
      { name: ' ', scopes: ['prompts:read'] },
      { name: 'x', scopes: ['prompts:read'], org_id: a.org.id },
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/api-keys',
        headers: a.owner.headers,
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('acts for its org within its scopes only', async () => {
    const a = await team(t);
    const b = await team(t, 'Foreign');
    const reader = await createKey(t.app, a.owner, ['prompts:read']);
    const writer = await createKey(t.app, a.owner, ['prompts:read', 'prompts:write']);
    const mine = await postPrompt(t.app, writer.headers, { name: 'greeting', content: 'hi' });
    expect(mine.statusCode).toBe(201);
    expect(mine.json()).toMatchObject({ org_id: a.org.id, owner_id: a.owner.user.id });
    const theirs = await postPrompt(t.app, b.owner.headers, { name: 'secret', content: 'b only' });
    const read = await listPrompts(t.app, reader.headers);
    expect(read.statusCode).toBe(200);
    expect(read.json().items.map((p: { id: string }) => p.id)).toEqual([mine.json().id]);
    expect(
      (await t.app.inject({ url: `/api/prompts/${theirs.json().id}`, headers: reader.headers }))
        .statusCode,
    ).toBe(404);
    const write = await postPrompt(t.app, reader.headers, { name: 'nope', content: 'nope' });
    expect(write.statusCode).toBe(403);
    // Never people, keys or account routes, whatever the scopes.
    for (const [method, url, payload] of [
      ['GET', '/api/orgs/current/members'],
      ['GET', '/api/api-keys'],
      ['POST', '/api/api-keys', { name: 'k', scopes: ['prompts:read'] }],
      ['GET', '/api/audit-logs'],
      ['POST', '/api/orgs/current/invitations', { email: 'x@y.example', role: 'member' }],
      ['GET', '/api/orgs'],
      ['POST', '/api/auth/logout-all'],
      ['GET', '/api/auth/sessions'],
      ['GET', '/api/users/me'],
      ['GET', '/api/admin/users'],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: writer.headers, payload });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    // The creator's sessions were not touched by those attempts.
    expect(
      (await t.app.inject({ url: '/api/users/me', headers: a.owner.headers })).statusCode,
    ).toBe(200);
    // Forward-auth answers for the key's principal.
    const verify = await t.app.inject({ url: '/api/auth/verify', headers: reader.headers });
    expect(verify.json()).toMatchObject({
      user_id: a.owner.user.id,
      org_id: a.org.id,
      session_id: null,
    });
  });

  it('a read-only key sees what its creator’s role sees', async () => {
    const a = await team(t);
    const theirs = await postPrompt(t.app, a.member.headers, {
      name: 'member prompt',
      content: 'x',
    });
    const ownerKey = await createKey(t.app, a.owner, ['prompts:read']);
    const list = await listPrompts(t.app, ownerKey.headers);
    expect(list.json().items.map((p: { id: string }) => p.id)).toContain(theirs.json().id);
    const one = await t.app.inject({
      url: `/api/prompts/${theirs.json().id}`,
      headers: ownerKey.headers,
    });
    expect(one.statusCode).toBe(200);
    const edit = await t.app.inject({
      method: 'PATCH',
      url: `/api/prompts/${theirs.json().id}`,
      headers: ownerKey.headers,
      payload: { name: 'renamed' },
    });
    expect(edit.statusCode).toBe(403);
  });

  it('org:read reads the org; without it, 403', async () => {
    const a = await team(t);
    const withScope = await createKey(t.app, a.owner, ['org:read']);
    const without = await createKey(t.app, a.owner, ['prompts:read']);
    expect(
      (await t.app.inject({ url: '/api/orgs/current', headers: withScope.headers })).statusCode,
    ).toBe(200);
    expect(
      (await t.app.inject({ url: '/api/orgs/current', headers: without.headers })).statusCode,
    ).toBe(403);
    const patch = await t.app.inject({
      method: 'PATCH',
      url: '/api/orgs/current',
      headers: withScope.headers,
      payload: { name: 'Hijacked' },
    });
    expect(patch.statusCode).toBe(403);
  });

  it('another org cannot see or revoke a key; managers and members cannot manage keys', async () => {
    const a = await team(t);
    const b = await team(t, 'Foreign');
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/api-keys/${key.id}`,
      headers: b.owner.headers,
    });
    expect(del.statusCode).toBe(404);
    expect(
      (await t.app.inject({ url: '/api/api-keys', headers: b.owner.headers })).json().items,
    ).toEqual([]);
    for (const p of [a.manager, a.member]) {
      expect((await t.app.inject({ url: '/api/api-keys', headers: p.headers })).statusCode).toBe(
        403,
      );
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/api/api-keys/${key.id}`,
        headers: p.headers,
      });
      expect(res.statusCode).toBe(403);
    }
    expect((await listPrompts(t.app, key.headers)).statusCode).toBe(200);
  });
});

describe('revoked, expired, orphaned and forged keys', () => {
  it('a revoked key stops at once, on this and on every other instance; audited', async () => {
    const a = await team(t);
    const key = await createKey(t.app, a.admin, ['prompts:read']);
    const other = await buildTestApp({ database: t.database });
    try {
      expect((await listPrompts(t.app, key.headers)).statusCode).toBe(200);
      expect((await listPrompts(other.app, key.headers)).statusCode).toBe(200);
      const del = await t.app.inject({
        method: 'DELETE',
        url: `/api/api-keys/${key.id}`,
        headers: a.owner.headers,
      });
      expect(del.statusCode).toBe(204);
      expect((await listPrompts(t.app, key.headers)).statusCode).toBe(401);
      expect((await listPrompts(other.app, key.headers)).statusCode).toBe(401);
    } finally {
      await other.close();
    }
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/api-keys/${key.id}`,
      headers: a.owner.headers,
    });
    expect(again.statusCode).toBe(204);
    const list = await t.app.inject({ url: '/api/api-keys', headers: a.owner.headers });
    expect(list.json().items[0]).toMatchObject({ id: key.id, status: 'revoked' });
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.filter((e) => e.action === 'api_key.revoke')).toEqual([
      expect.objectContaining({
        actor_user_id: a.owner.user.id,
        actor_type: 'user',
        target_id: key.id,
      }),
    ]);
  });

  it('an expired key stops working', async () => {
    const a = await team(t);
    const key = await createKey(t.app, a.owner, ['prompts:read'], {
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await listPrompts(t.app, key.headers)).statusCode).toBe(200);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('api_keys')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', key.id)
        .execute(),
    );
    expect((await listPrompts(t.app, key.headers)).statusCode).toBe(401);
    const list = await t.app.inject({ url: '/api/api-keys', headers: a.owner.headers });
    expect(list.json().items[0]).toMatchObject({ id: key.id, status: 'expired' });
  });

  it('follows its creator: demoted narrows it, removed or disabled stops it', async () => {
    const a = await team(t);
    const key = await createKey(t.app, a.admin, ['prompts:read', 'prompts:write']);
    const other = await postPrompt(t.app, a.member.headers, {
      name: 'member prompt',
      content: 'x',
    });
    // As admin: sees every prompt of the org.
    expect(
      (await t.app.inject({ url: `/api/prompts/${other.json().id}`, headers: key.headers }))
        .statusCode,
    ).toBe(200);
    await setRole(t.app, a.owner, a.admin, 'member');
    // As member now: another member's prompt is out of reach.
    expect(
      (await t.app.inject({ url: `/api/prompts/${other.json().id}`, headers: key.headers }))
        .statusCode,
    ).toBe(404);
    await removeMember(t.app, a.owner, a.admin);
    expect((await listPrompts(t.app, key.headers)).statusCode).toBe(401);

    const key2 = await createKey(t.app, a.owner, ['prompts:read']);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('users')
        .set({ status: 'disabled' })
        .where('id', '=', a.owner.user.id)
        .execute(),
    );
    expect((await listPrompts(t.app, key2.headers)).statusCode).toBe(401);
  });

  it("an MFA policy for its creator's role stops the key until the creator turns MFA on", async () => {
    const a = await team(t);
    const key = await createKey(t.app, a.admin, ['prompts:read']);
    expect((await listPrompts(t.app, key.headers)).statusCode).toBe(200);
    // Set after the key was made: the admin's own logins now reach only enrolment, and so does
    // the key (nothing at all): a key never does more than its creator can do now.
    await setOrgSettings(t.database, a.org.id, { mfa_required_roles: ['admin'] });
    const refused = await listPrompts(t.app, key.headers);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'mfa_enrollment_required' });
    expect(refused.json().detail).toContain("key's creator must turn on two-factor");
    // A role the policy does not name: an owner's key goes on working.
    const ownerKey = await createKey(t.app, a.owner, ['prompts:read']);
    expect((await listPrompts(t.app, ownerKey.headers)).statusCode).toBe(200);
    // The creator turns MFA on (with a session opened before the policy): the key works again,
    // kept all along.
    await enrolMfa(t.app, { access: a.admin.access });
    expect((await listPrompts(t.app, key.headers)).statusCode).toBe(200);
  });

  it('removal and disabling revoke the creator’s keys for good: a return revives none', async () => {
    const a = await team(t);
    const su = await superuser(t);
    const byAdmin = await createKey(t.app, a.admin, ['prompts:read']);
    const byOwner = await createKey(t.app, a.owner, ['prompts:read']);
    const statusOf = async (id: string) => {
      const res = await t.app.inject({ url: '/api/api-keys', headers: a.owner.headers });
      return res.json().items.find((k: { id: string }) => k.id === id)?.status;
    };

    // Removed, then back in the org (as a re-invitation would): the old key stays dead.
    expect((await removeMember(t.app, a.owner, a.admin)).statusCode).toBe(204);
    expect(await statusOf(byAdmin.id)).toBe('revoked');
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('memberships')
        .set({ status: 'active', role: 'admin' })
        .where('org_id', '=', a.org.id)
        .where('user_id', '=', a.admin.user.id)
        .execute(),
    );
    expect((await listPrompts(t.app, byAdmin.headers)).statusCode).toBe(401);

    // Disabled, then enabled again by the superuser: the same.
    const status = (act: 'disable' | 'enable', who: { user: { id: string } }) =>
      t.app.inject({
        method: 'POST',
        url: `/api/admin/users/${who.user.id}/${act}`,
        headers: su.headers,
      });
    const second = await team(t);
    const theirs = await createKey(t.app, second.admin, ['prompts:read']);
    expect((await status('disable', second.admin)).statusCode).toBe(200);
    expect((await status('enable', second.admin)).statusCode).toBe(200);
    expect((await listPrompts(t.app, theirs.headers)).statusCode).toBe(401);

    // Each revocation is in its org's audit log; the owner's own key is untouched.
    expect((await listPrompts(t.app, byOwner.headers)).statusCode).toBe(200);
    for (const [org, key, reason] of [
      [a.org.id, byAdmin.id, 'creator_removed'],
      [second.org.id, theirs.id, 'creator_disabled'],
    ] as const) {
      const entry = (await auditOf(t.database, org)).find(
        (e) => e.action === 'api_key.revoke' && e.target_id === key,
      );
      expect(entry?.metadata).toMatchObject({ reason });
    }
  });

  it('a malformed, unknown or tampered key is a plain 401', async () => {
    const a = await team(t);
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    const tampered = `${key.key.slice(0, -1)}${key.key.endsWith('A') ? 'B' : 'A'}`;
    for (const k of ['sb_nope', newApiKey().key, tampered, `${key.key}x`]) {
      const res = await listPrompts(t.app, bearer(k));
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('unauthenticated');
    }
  });
});
