// Hostile cases of the platform superuser: bootstrap never promotes an unverified squatter of
// ADMIN_EMAIL; X-Switchboard-Org crosses tenants for the superuser's own token only (403 for
// anyone else, 400/404 for bad ids), and even then mints no API key in another org.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../auth/password.ts';
import { withSystem } from '../db/tenant.ts';
import type { TestApp } from '../test/app.ts';
import { GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { createUser, uniqueEmail } from '../test/factories.ts';
import { ADMIN_PASSWORD, auditOf, type Person, superuserApp, team } from '../test/org-helpers.ts';
import { ORG_HEADER } from './act-in-org.ts';
import { bootstrapSuperuser } from './bootstrap.ts';

let t: TestApp;
let su: Person;
beforeAll(async () => {
  ({ t, su } = await superuserApp());
});
afterAll(() => t.close());

describe('bootstrap', () => {
  it('promotes an existing verified account, refuses an unverified one', async () => {
    const verified = uniqueEmail('ops');
    const unverified = uniqueEmail('squatter');
    const hash = await hashPassword(GOOD_PASSWORD, t.config.auth.argon2);
    const v = await createUser(t.database, { email: verified, password_hash: hash });
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('users')
        .set({ email_verified_at: new Date() })
        .where('id', '=', v.id)
        .execute(),
    );
    const u = await createUser(t.database, { email: unverified, password_hash: hash });
    const cfg = (email: string) => ({ ...t.config, admin: { email, password: ADMIN_PASSWORD } });
    const errors: string[] = [];
    const logger = { info() {}, warn() {}, error: (m: string) => errors.push(m) };
    expect(await bootstrapSuperuser(t.database, cfg(verified), logger)).toMatchObject({
      status: 'promoted',
      userId: v.id,
      orgCreated: true,
    });
    expect(await bootstrapSuperuser(t.database, cfg(unverified), logger)).toEqual({
      status: 'refused_unverified',
      userId: u.id,
    });
    expect(errors.join()).toMatch(/NOT made the platform superuser/);
    const flags = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('users')
        .select(['id', 'is_superuser', 'password_hash'])
        .where('id', 'in', [v.id, u.id])
        .execute(),
    );
    expect(Object.fromEntries(flags.map((f) => [f.id, f.is_superuser]))).toEqual({
      [v.id]: true,
      [u.id]: false,
    });
    // The promoted account keeps its own password.
    expect(flags.find((f) => f.id === v.id)?.password_hash).toBe(hash);
  });
});

describe('X-Switchboard-Org', () => {
  it('without the header the superuser acts in its own org only', async () => {
    const a = await team(t);
    const members = await t.app.inject({ url: '/api/orgs/current/members', headers: su.headers });
    const ids = members.json().items.map((m: { user_id: string }) => m.user_id);
    expect(ids).toContain(su.user.id);
    expect(ids).not.toContain(a.owner.user.id);
    expect((await auditOf(t.database, a.org.id)).some((e) => e.actor_type === 'superuser')).toBe(
      false,
    );
  });

  it('is 403 for anyone else naming another org, a no-op naming their own; bad or unknown ids are refused', async () => {
    const a = await team(t);
    const b = await team(t, 'Foreign');
    for (const p of [a.owner, a.admin, a.member]) {
      const res = await t.app.inject({
        url: '/api/orgs/current/members',
        headers: { ...p.headers, [ORG_HEADER]: b.org.id },
      });
      expect(res.statusCode).toBe(403);
    }
    const own = await t.app.inject({
      url: '/api/orgs/current',
      headers: { ...a.owner.headers, [ORG_HEADER]: a.org.id },
    });
    expect(own.json().id).toBe(a.org.id);
    const bad = await t.app.inject({
      url: '/api/orgs/current',
      headers: { ...su.headers, [ORG_HEADER]: 'not-a-uuid' },
    });
    expect(bad.statusCode).toBe(400);
    const unknown = await t.app.inject({
      url: '/api/orgs/current',
      headers: { ...su.headers, [ORG_HEADER]: '01936b2e-0000-7000-8000-000000000000' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(
      (await auditOf(t.database, b.org.id)).filter((e) => e.action === 'superuser.request'),
    ).toEqual([]);
  });

  it('platform acts are refused while acting in an org, and work in person', async () => {
    // A request made as an org's owner is an act in that org (audited there): it must not double
    // as a platform act on any org or account.
    const a = await team(t);
    const victim = await createUser(t.database);
    const acting = { ...su.headers, [ORG_HEADER]: a.org.id };
    const platform: [string, string, object?][] = [
      ['GET', '/api/admin/orgs'],
      ['GET', '/api/admin/users'],
      ['GET', '/api/admin/suspended-orgs'],
      ['POST', `/api/admin/users/${victim.id}/disable`],
      ['POST', `/api/admin/users/${victim.id}/enable`],
      ['POST', '/api/admin/signing-keys/rotate'],
      ['POST', '/api/admin/phone-assignments', { org_id: a.org.id, number: '+15550009999' }],
      ['POST', `/api/admin/orgs/${a.org.id}/suspend`, { reason: 'acting' }],
      ['POST', `/api/admin/orgs/${a.org.id}/resume`, { reason: 'acting' }],
    ];
    for (const [method, url, payload] of platform) {
      const res = await t.app.inject({
        method: method as 'GET' | 'POST',
        url,
        headers: acting,
        ...(payload ? { payload } : method === 'POST' ? { payload: {} } : {}),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().code).toBe('superuser_required');
    }
    const org = await withSystem(t.database, (tx) =>
      tx.selectFrom('orgs').select('suspended_at').where('id', '=', a.org.id).executeTakeFirst(),
    );
    expect(org?.suspended_at).toBeNull();
    // No key was staged by the refused rotation: the one in person is not 409.
    const rotate = await t.app.inject({
      method: 'POST',
      url: '/api/admin/signing-keys/rotate',
      headers: su.headers,
    });
    expect(rotate.statusCode, rotate.body).toBe(200);
    for (const url of ['/api/admin/orgs', '/api/admin/users', '/api/admin/suspended-orgs']) {
      expect((await t.app.inject({ url, headers: su.headers })).statusCode).toBe(200);
    }
  });

  it('the superuser cannot invite into another org (acceptance would refuse the link)', async () => {
    const a = await team(t);
    const email = uniqueEmail('invitee');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orgs/current/invitations',
      headers: { ...su.headers, [ORG_HEADER]: a.org.id },
      payload: { email, role: 'member' },
    });
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe('forbidden');
    const pending = await withSystem(t.database, (tx) =>
      tx.selectFrom('invitations').select('id').where('email', '=', email).execute(),
    );
    expect(pending).toEqual([]);
  });

  it('the superuser adds nobody to another org, a new address or one with an account, and both answers are the same', async () => {
    const a = await team(t);
    // An address with an account outside the org (it would get an invitation).
    const elsewhere = await team(t, 'Elsewhere');
    const fresh = uniqueEmail('fresh');
    const answers = [];
    for (const email of [fresh, elsewhere.member.email]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/orgs/current/users',
        headers: { ...su.headers, [ORG_HEADER]: a.org.id },
        payload: { email, role: 'owner' },
      });
      answers.push({ status: res.statusCode, code: res.json().code, detail: res.json().detail });
    }
    expect(answers[0]).toMatchObject({ status: 403, code: 'forbidden' });
    expect(answers[1]).toEqual(answers[0]);
    const created = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').select('id').where('email', '=', fresh).execute(),
    );
    expect(created).toEqual([]);
  });

  it('the superuser cannot mint API keys inside another org', async () => {
    const a = await team(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/api-keys',
      headers: { ...su.headers, [ORG_HEADER]: a.org.id },
      payload: { name: 'backdoor', scopes: ['prompts:read'] },
    });
    expect(res.statusCode).toBe(403);
  });

  it("the superuser's own password change is audited with the superuser as actor, acting in an org or not", async () => {
    const a = await team(t);
    const change = (current: string, headers: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/password/change',
        headers,
        payload: { current_password: current, new_password: 'correct horse battery staple 4711' },
      });
    expect(
      (await change('not the password', { ...su.headers, [ORG_HEADER]: a.org.id })).statusCode,
    ).toBe(401);
    const refused = (await auditOf(t.database, a.org.id)).filter(
      (e) => e.action === 'auth.password_change',
    );
    expect(refused.map((e) => [e.outcome, e.actor_type])).toEqual([['failure', 'superuser']]);
    // In person, last in this file: the password it changes is the one the others log in with.
    const done = await change(ADMIN_PASSWORD, su.headers);
    expect(done.statusCode, done.body).toBe(204);
    const home = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select(['outcome', 'actor_type'])
        .where('actor_user_id', '=', su.user.id)
        .where('action', '=', 'auth.password_change')
        .where('outcome', '=', 'success')
        .execute(),
    );
    expect(home).toEqual([{ outcome: 'success', actor_type: 'superuser' }]);
  });
});
