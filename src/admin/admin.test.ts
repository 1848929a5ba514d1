// The platform superuser: bootstrap from ADMIN_EMAIL / ADMIN_PASSWORD, the admin routes, and
// X-Switchboard-Org — acting inside any org, every such request in that org's audit log.
// Hostile cases (an unverified squatter, other callers' and bad org headers) are in
// admin.security.test.ts.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserToken } from '../auth/user-tokens.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp, testConfig } from '../test/app.ts';
import { bearer, changePassword, GOOD_PASSWORD } from '../test/auth-helpers.ts';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  auditOf,
  logIn,
  type Person,
  postPrompt,
  removeMember,
  superuserApp,
  team,
} from '../test/org-helpers.ts';
import { ORG_HEADER } from './act-in-org.ts';
import { bootstrapSuperuser, PLATFORM_ORG_NAME } from './bootstrap.ts';

let t: TestApp;
let su: Person;
beforeAll(async () => {
  ({ t, su } = await superuserApp());
});
afterAll(() => t.close());

describe('configuration', () => {
  const base = {
    NODE_ENV: 'test',
    ENCRYPTION_KEYS: `t1:${Buffer.alloc(32, 7).toString('base64')}`,
    SECRET_KEY: 'x'.repeat(40),
  };

  it('ADMIN_PASSWORD must pass the password rules, or start-up fails naming it', () => {
    for (const password of ['short', '1qaz2wsx3edc4rfv', `${ADMIN_EMAIL}-longer-than-15`]) {
      let err: unknown;
      try {
        loadConfig({ ...base, ADMIN_EMAIL, ADMIN_PASSWORD: password });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/^ADMIN_PASSWORD /);
      expect((err as Error).message).not.toContain(password);
    }
  });

  it('ADMIN_EMAIL and ADMIN_PASSWORD come together; the email is normalised', () => {
    expect(() => loadConfig({ ...base, ADMIN_EMAIL })).toThrow(/ADMIN_PASSWORD/);
    expect(() => loadConfig({ ...base, ADMIN_PASSWORD })).toThrow(/ADMIN_EMAIL/);
    expect(() => loadConfig({ ...base, ADMIN_EMAIL: 'nope', ADMIN_PASSWORD })).toThrow(
      /ADMIN_EMAIL/,
    );
    const c = loadConfig({
      ...base,
      ADMIN_EMAIL: ` ${ADMIN_EMAIL.toUpperCase()} `,
      ADMIN_PASSWORD,
    });
    expect(c.admin).toEqual({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    expect(loadConfig(base).admin).toBeUndefined();
  });
});

describe('bootstrap', () => {
  it('created the superuser with a Platform org it owns; logs in with an su token', async () => {
    expect(su.user).toMatchObject({ email: ADMIN_EMAIL, is_superuser: true, status: 'active' });
    const claims = decodeJwt(su.access);
    expect(claims.su).toBe(true);
    const orgs = await t.app.inject({ url: '/api/orgs', headers: su.headers });
    expect(orgs.json().items).toEqual([
      expect.objectContaining({ name: PLATFORM_ORG_NAME, role: 'owner', current: true }),
    ]);
  });

  it('is idempotent and never overwrites a changed password', async () => {
    const changed = await changePassword(
      t.app,
      su.headers,
      ADMIN_PASSWORD,
      `${GOOD_PASSWORD} rotated`,
    );
    expect(changed.statusCode).toBe(204);
    const again = await bootstrapSuperuser(t.database, t.config);
    expect(again).toMatchObject({ status: 'exists', userId: su.user.id, orgCreated: false });
    const old = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    });
    expect(old.statusCode).toBe(401);
    const fresh = await logIn(t.app, ADMIN_EMAIL, `${GOOD_PASSWORD} rotated`);
    su = { ...su, access: fresh.access, refresh: fresh.refresh, headers: bearer(fresh.access) };
    const rows = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').select('id').where('email', '=', ADMIN_EMAIL).execute(),
    );
    expect(rows).toHaveLength(1);
    const platformOrgs = await withSystem(t.database, (tx) =>
      tx.selectFrom('orgs').select('id').where('name', '=', PLATFORM_ORG_NAME).execute(),
    );
    expect(platformOrgs).toHaveLength(1);
  });

  it('runs concurrently without duplicates; without configuration it does nothing', async () => {
    const other = await buildTestApp({
      env: { ADMIN_EMAIL: 'ops@platform.example.test', ADMIN_PASSWORD },
    });
    try {
      const results = await Promise.all([
        bootstrapSuperuser(other.database, other.config),
        bootstrapSuperuser(other.database, other.config),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['created', 'exists']);
      expect(await bootstrapSuperuser(other.database, testConfig())).toEqual({
        status: 'not_configured',
      });
    } finally {
      await other.close();
    }
  });
});

describe('admin routes', () => {
  it('list every org and user (paginated), for the superuser only', async () => {
    const a = await team(t);
    const orgs = await t.app.inject({ url: '/api/admin/orgs?limit=100', headers: su.headers });
    expect(orgs.statusCode).toBe(200);
    expect(orgs.json().items).toContainEqual(
      expect.objectContaining({ id: a.org.id, name: 'Acme Voice', active_members: 4 }),
    );
    const page1 = await t.app.inject({ url: '/api/admin/users?limit=2', headers: su.headers });
    expect(page1.json().items).toHaveLength(2);
    expect(page1.json().next_cursor).toBeTruthy();
    const page2 = await t.app.inject({
      url: `/api/admin/users?limit=2&cursor=${page1.json().next_cursor}`,
      headers: su.headers,
    });
    expect(page2.json().items).toHaveLength(2);
    expect(page2.json().items[0].id < page1.json().items[1].id).toBe(true);
    const byEmail = await t.app.inject({
      url: `/api/admin/users?email=${encodeURIComponent(a.member.email.toUpperCase())}`,
      headers: su.headers,
    });
    expect(byEmail.json().items).toEqual([expect.objectContaining({ id: a.member.user.id })]);
    expect(byEmail.body).not.toContain('password_hash');
    for (const p of [a.owner, a.admin, a.manager, a.member]) {
      for (const url of ['/api/admin/orgs', '/api/admin/users']) {
        const res = await t.app.inject({ url, headers: p.headers });
        expect(res.statusCode).toBe(403);
        expect(res.json().code).toBe('superuser_required');
      }
    }
    expect((await t.app.inject({ url: '/api/admin/orgs' })).statusCode).toBe(401);
  });

  it('disable ends every session of the user at once; the user cannot log in; enable undoes it', async () => {
    const a = await team(t);
    const disable = await t.app.inject({
      method: 'POST',
      url: `/api/admin/users/${a.manager.user.id}/disable`,
      headers: su.headers,
    });
    expect(disable.statusCode).toBe(200);
    expect(disable.json()).toMatchObject({ id: a.manager.user.id, status: 'disabled' });
    expect(
      (await t.app.inject({ url: '/api/users/me', headers: a.manager.headers })).statusCode,
    ).toBe(401);
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: a.manager.refresh },
    });
    expect(refresh.statusCode).toBe(401);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: a.manager.email, password: GOOD_PASSWORD },
    });
    expect(login.statusCode).toBe(403);
    expect(login.json().code).toBe('account_disabled');
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'user.disable')).toMatchObject({
      actor_user_id: su.user.id,
      actor_type: 'superuser',
      target_id: a.manager.user.id,
      metadata: { sessions_ended: 1 },
    });

    const enable = await t.app.inject({
      method: 'POST',
      url: `/api/admin/users/${a.manager.user.id}/enable`,
      headers: su.headers,
    });
    expect(enable.json().status).toBe('active');
    expect((await logIn(t.app, a.manager.email)).res.statusCode).toBe(200);

    const self = await t.app.inject({
      method: 'POST',
      url: `/api/admin/users/${su.user.id}/disable`,
      headers: su.headers,
    });
    expect(self.statusCode).toBe(409);
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/admin/users/01936b2e-0000-7000-8000-000000000000/disable',
      headers: su.headers,
    });
    expect(unknown.statusCode).toBe(404);
    const byOwner = await t.app.inject({
      method: 'POST',
      url: `/api/admin/users/${a.member.user.id}/disable`,
      headers: a.owner.headers,
    });
    expect(byOwner.statusCode).toBe(403);
  });

  it('disabling retires the links that would set a password: enabling does not revive them', async () => {
    const a = await team(t);
    const links = await withSystem(t.database, async (tx) => [
      await issueUserToken(tx, {
        userId: a.member.user.id,
        purpose: 'reset_password',
        ttlMs: 3600_000,
      }),
      await issueUserToken(tx, {
        userId: a.member.user.id,
        purpose: 'set_password',
        ttlMs: 3600_000,
      }),
    ]);
    for (const act of ['disable', 'enable']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/admin/users/${a.member.user.id}/${act}`,
        headers: su.headers,
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    for (const link of links) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/password/reset',
        payload: { token: link.token, new_password: 'a brand new passphrase for checks 7' },
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe('invalid_token');
    }
    expect((await logIn(t.app, a.member.email)).res.statusCode).toBe(200);
  });

  it('disabling a disabled account (or enabling an active one) changes and records nothing', async () => {
    const a = await team(t);
    const act = (what: 'disable' | 'enable') =>
      t.app.inject({
        method: 'POST',
        url: `/api/admin/users/${a.member.user.id}/${what}`,
        headers: su.headers,
      });
    const enabled = await act('enable');
    expect(enabled.statusCode, enabled.body).toBe(200);
    expect(enabled.json().status).toBe('active');
    for (let i = 0; i < 2; i++) {
      const res = await act('disable');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe('disabled');
    }
    const actions = (await auditOf(t.database, a.org.id))
      .filter((e) => e.target_id === a.member.user.id)
      .map((e) => e.action)
      .filter((x) => x === 'user.disable' || x === 'user.enable');
    expect(actions).toEqual(['user.disable']);
  });

  it('rotates the signing key: the new kid is published at once and signs from activates_at; tokens of the old one still verify', async () => {
    const a = await team(t);
    const oldKid = decodeProtectedHeader(a.member.access).kid;
    const requested = Date.now();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/admin/signing-keys/rotate',
      headers: su.headers,
    });
    expect(res.statusCode).toBe(200);
    const { kid, retired_kid, activates_at } = res.json();
    expect(retired_kid).toBe(oldKid);
    expect(kid).not.toBe(oldKid);
    // Staged for the default publish delay (JWKS max-age + one ring reload).
    const delayMs = Date.parse(activates_at) - requested;
    expect(delayMs).toBeGreaterThan(320_000);
    expect(delayMs).toBeLessThan(340_000);
    expect(
      (await t.app.inject({ url: '/api/users/me', headers: a.member.headers })).statusCode,
    ).toBe(200);
    const fresh = await logIn(t.app, a.member.email);
    expect(decodeProtectedHeader(fresh.access).kid).toBe(oldKid);
    const jwks = await t.app.inject({ url: '/.well-known/jwks.json' });
    expect(jwks.json().keys.map((k: { kid: string }) => k.kid)).toEqual(
      expect.arrayContaining([kid, oldKid]),
    );
    const denied = await t.app.inject({
      method: 'POST',
      url: '/api/admin/signing-keys/rotate',
      headers: a.owner.headers,
    });
    expect(denied.statusCode).toBe(403);
    const trail = await withSystem(t.database, (tx) =>
      tx.selectFrom('audit_logs').selectAll().where('action', '=', 'signing_key.rotate').execute(),
    );
    expect(trail).toEqual([
      expect.objectContaining({
        actor_user_id: su.user.id,
        actor_type: 'superuser',
        target_id: kid,
        metadata: { retired_kid: oldKid, activates_at },
      }),
    ]);
  });

  it('rotates only with its audit entry: when the entry cannot be written, no key changed', async () => {
    const keys = () =>
      withSystem(t.database, (tx) =>
        tx
          .selectFrom('signing_keys')
          .select(['kid', 'status', 'withdrawn_at'])
          .orderBy('kid')
          .execute(),
      );
    const before = await keys();
    // The audit log refuses this one entry (a full disk, a revoked grant would do the same).
    await sql`create function zz_refuse_rotation_audit() returns trigger language plpgsql as $$
      begin
        if new.action = 'signing_key.rotate' then raise exception 'audit log refused'; end if;
        return new;
      end $$`.execute(t.database.db);
    await sql`create trigger zz_refuse_rotation_audit before insert on audit_logs
      for each row execute function zz_refuse_rotation_audit()`.execute(t.database.db);
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/admin/signing-keys/rotate?compromised=true',
        headers: su.headers,
      });
      expect(res.statusCode).toBe(500);
      // A compromise rotation withdraws every key: had it committed apart from its record, the
      // keys would have changed with nothing in the log to say who did it.
      expect(await keys()).toEqual(before);
    } finally {
      await sql`drop trigger zz_refuse_rotation_audit on audit_logs`.execute(t.database.db);
      await sql`drop function zz_refuse_rotation_audit()`.execute(t.database.db);
    }
  });
});

describe('X-Switchboard-Org', () => {
  it('lets the superuser act as an owner inside any org; each request is in that org’s audit log', async () => {
    const a = await team(t);
    const h = { ...su.headers, [ORG_HEADER]: a.org.id };
    const current = await t.app.inject({ url: '/api/orgs/current', headers: h });
    expect(current.statusCode).toBe(200);
    expect(current.json().id).toBe(a.org.id);
    const members = await t.app.inject({ url: '/api/orgs/current/members', headers: h });
    expect(members.json().items).toHaveLength(4);
    const prompt = await postPrompt(t.app, h, { name: 'From the platform', content: 'hello' });
    expect(prompt.statusCode).toBe(201);
    expect(prompt.json().org_id).toBe(a.org.id);
    const removed = await removeMember(t.app, { headers: h }, a.member);
    expect(removed.statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: '/api/users/me', headers: a.member.headers })).statusCode,
    ).toBe(401);
    // A refused act is recorded too.
    const lastOwner = await removeMember(t.app, { headers: h }, a.owner);
    expect(lastOwner.statusCode).toBe(409);

    const trail = await auditOf(t.database, a.org.id);
    const acts = trail.filter((e) => e.action === 'superuser.request');
    expect(acts.map((e) => [e.target_id, e.outcome, e.actor_user_id, e.actor_type])).toEqual([
      ['GET /api/orgs/current', 'success', su.user.id, 'superuser'],
      ['GET /api/orgs/current/members', 'success', su.user.id, 'superuser'],
      ['POST /api/prompts', 'success', su.user.id, 'superuser'],
      ['DELETE /api/orgs/current/members/:user_id', 'success', su.user.id, 'superuser'],
      ['DELETE /api/orgs/current/members/:user_id', 'failure', su.user.id, 'superuser'],
    ]);
    expect(acts[4]!.metadata).toMatchObject({ status: 409 });
    expect(trail.find((e) => e.action === 'member.remove')).toMatchObject({
      actor_user_id: su.user.id,
      actor_type: 'superuser',
      target_id: a.member.user.id,
    });
    // The org's own admins read it in their audit log.
    const read = await t.app.inject({
      url: '/api/audit-logs?action=superuser.request',
      headers: a.owner.headers,
    });
    expect(read.json().items).toHaveLength(5);
  });
});
