// Invitations and admin-created users, end to end through a real SMTP server, with public sign-up
// turned off for the whole file: these two are then the only ways in.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { auditOf, logIn, person, team } from '../test/org-helpers.ts';
import { linkFrom, startTestSmtpServer, type TestSmtpServer } from '../test/smtp.ts';

let t: TestApp;
let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startTestSmtpServer();
  t = await buildTestApp({
    env: { SMTP_URL: smtp.url, SIGNUP_ENABLED: 'false', PUBLIC_URL: 'https://sb.example.test' },
  });
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const send = (
  method: 'POST' | 'PATCH' | 'DELETE',
  url: string,
  headers: object,
  payload?: object,
) => t.app.inject({ method, url, headers: headers as Record<string, string>, payload });

async function invite(by: { headers: Record<string, string> }, email: string, role = 'member') {
  const res = await send('POST', '/api/orgs/current/invitations', by.headers, { email, role });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; email: string; role: string; expires_at: string };
}

/** The token from the invitation mail sent to `email` (the newest one). */
async function mailedToken(email: string, path: string): Promise<string> {
  await smtp.waitFor((m) => m.to === email && m.text.includes(path));
  const mails = smtp.messages.filter((m) => m.to === email && m.text.includes(path));
  const link = new URL(linkFrom(mails[mails.length - 1]!, path));
  expect(link.origin).toBe('https://sb.example.test');
  return link.searchParams.get('token')!;
}

const accept = (payload: object, headers: object = {}) =>
  send('POST', '/api/invitations/accept', headers, payload);

/** As if the account had followed a verification link (the factories make unverified ones). */
const markVerified = (userId: string) =>
  withSystem(t.database, (tx) =>
    tx
      .updateTable('users')
      .set({ email_verified_at: new Date() })
      .where('id', '=', userId)
      .execute(),
  );

describe('invitations, end to end', () => {
  it('a new address: mail → link → account with tokens, in the org with the invited role', async () => {
    const a = await team(t);
    const email = uniqueEmail('invitee');
    const inv = await invite(a.admin, email, 'manager');
    expect(inv).toMatchObject({ email, role: 'manager', invited_by: a.admin.user.id });
    const days = (new Date(inv.expires_at).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);

    const mail = await smtp.waitFor((m) => m.to === email);
    expect(mail.subject).toContain('Acme Voice');
    const token = await mailedToken(email, '/accept-invite?token=');
    // Stored only hashed; the API never shows it.
    const row = await withSystem(t.database, (tx) =>
      tx.selectFrom('invitations').selectAll().where('id', '=', inv.id).executeTakeFirstOrThrow(),
    );
    expect(row.token_hash).toBe(hashToken(token));
    expect(JSON.stringify(row)).not.toContain(token);
    const pending = await t.app.inject({
      url: '/api/orgs/current/invitations',
      headers: a.owner.headers,
    });
    expect(pending.json().items.map((i: { id: string }) => i.id)).toEqual([inv.id]);
    expect(pending.body).not.toContain(token);

    // Public sign-up is off in this file: the front door is shut.
    const register = await send(
      'POST',
      '/api/auth/register',
      {},
      { email, password: GOOD_PASSWORD },
    );
    expect(register.statusCode).toBe(403);
    expect(register.json().code).toBe('signup_disabled');

    const res = await accept({ token, password: GOOD_PASSWORD, full_name: 'Grace Hopper' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      user: { email, full_name: 'Grace Hopper', email_verified: true },
      org: { id: a.org.id },
      role: 'manager',
      token_type: 'bearer',
    });
    expect(decodeJwt(body.access_token)).toMatchObject({ org: a.org.id, role: 'manager' });
    const me = await t.app.inject({ url: '/api/users/me', headers: bearer(body.access_token) });
    expect(me.json()).toMatchObject({ email, role: 'manager', org: { id: a.org.id } });
    expect((await logIn(t.app, email)).res.statusCode).toBe(200);

    // Single use.
    const again = await accept({ token, password: GOOD_PASSWORD });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('invitation_used');
    const after = await t.app.inject({
      url: '/api/orgs/current/invitations',
      headers: a.owner.headers,
    });
    expect(after.json().items).toEqual([]);

    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'invitation.create')).toMatchObject({
      actor_user_id: a.admin.user.id,
      target_id: inv.id,
    });
    const accepted = trail.find((e) => e.action === 'invitation.accept' && e.outcome === 'success');
    expect(accepted).toMatchObject({ actor_user_id: body.user.id, target_id: inv.id });
    expect(
      trail.find((e) => e.action === 'invitation.accept' && e.outcome === 'failure'),
    ).toMatchObject({
      metadata: { reason: 'invitation_used' },
    });
    expect(JSON.stringify(trail)).not.toContain(token);
  });

  it('an existing, verified account joins only when logged in as that address', async () => {
    const a = await team(t);
    const b = await team(t, 'Other Co');
    await markVerified(b.member.user.id);
    const inv = await invite(a.owner, b.member.email, 'admin');
    const token = await mailedToken(b.member.email, '/accept-invite?token=');

    const anonymous = await accept({ token });
    expect(anonymous.statusCode).toBe(403);
    expect(anonymous.json().code).toBe('invitation_wrong_account');
    const someoneElse = await accept({ token }, b.owner.headers);
    expect(someoneElse.statusCode).toBe(403);
    expect(someoneElse.json().code).toBe('invitation_wrong_account');
    // A password does not turn the wrong caller into the right one.
    const withPassword = await accept({ token, password: GOOD_PASSWORD }, b.owner.headers);
    expect(withPassword.statusCode).toBe(403);

    const ok = await accept({ token }, b.member.headers);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ org: { id: a.org.id }, role: 'admin' });
    expect(ok.json()).not.toHaveProperty('access_token');
    const switched = await send('POST', '/api/auth/switch-org', b.member.headers, {
      org_id: a.org.id,
    });
    expect(switched.statusCode).toBe(200);
    expect(switched.json().role).toBe('admin');
    expect((await accept({ token }, b.member.headers)).json().code).toBe('invitation_used');
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.filter((e) => e.action === 'invitation.accept').map((e) => e.outcome)).toEqual([
      'failure',
      'failure',
      'failure',
      'success',
      'failure',
    ]);
    expect(inv.id).toBeTruthy();
  });

  it('an expired invitation is refused', async () => {
    const a = await team(t);
    const email = uniqueEmail('late');
    const inv = await invite(a.owner, email);
    const token = await mailedToken(email, '/accept-invite?token=');
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('invitations')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', inv.id)
        .execute(),
    );
    const res = await accept({ token, password: GOOD_PASSWORD });
    expect(res.statusCode).toBe(410);
    expect(res.json().code).toBe('invitation_expired');
    // No account was made.
    const users = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').select('id').where('email', '=', email).execute(),
    );
    expect(users).toEqual([]);
  });

  it('a revoked invitation is refused; revoking twice or another org’s is 404', async () => {
    const a = await team(t);
    const b = await team(t, 'Other Co');
    const email = uniqueEmail('revoked');
    const inv = await invite(a.owner, email);
    const token = await mailedToken(email, '/accept-invite?token=');
    expect(
      (await send('DELETE', `/api/orgs/current/invitations/${inv.id}`, b.owner.headers)).statusCode,
    ).toBe(404);
    expect(
      (await send('DELETE', `/api/orgs/current/invitations/${inv.id}`, a.admin.headers)).statusCode,
    ).toBe(204);
    expect(
      (await send('DELETE', `/api/orgs/current/invitations/${inv.id}`, a.admin.headers)).statusCode,
    ).toBe(404);
    const res = await accept({ token, password: GOOD_PASSWORD });
    expect(res.statusCode).toBe(410);
    expect(res.json().code).toBe('invitation_revoked');
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'invitation.revoke')).toMatchObject({
      actor_user_id: a.admin.user.id,
      target_id: inv.id,
    });
  });

  it('inviting an address again replaces its pending invitation', async () => {
    const a = await team(t);
    const email = uniqueEmail('twice');
    await invite(a.owner, email, 'member');
    const first = await mailedToken(email, '/accept-invite?token=');
    await invite(a.owner, email, 'manager');
    await smtp.waitFor((m) => m.to === email && m.text.includes('as manager'));
    const second = await mailedToken(email, '/accept-invite?token=');
    expect(second).not.toBe(first);
    expect((await accept({ token: first, password: GOOD_PASSWORD })).json().code).toBe(
      'invitation_revoked',
    );
    const ok = await accept({ token: second, password: GOOD_PASSWORD });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().role).toBe('manager');
  });

  it('nobody invites with a role above their own; managers and members do not invite', async () => {
    const a = await team(t);
    const up = await send('POST', '/api/orgs/current/invitations', a.admin.headers, {
      email: uniqueEmail(),
      role: 'owner',
    });
    expect(up.statusCode).toBe(403);
    expect(up.json().code).toBe('role_above_caller');
    await invite(a.admin, uniqueEmail(), 'admin');
    await invite(a.owner, uniqueEmail(), 'owner');
    for (const p of [a.manager, a.member]) {
      const res = await send('POST', '/api/orgs/current/invitations', p.headers, {
        email: uniqueEmail(),
        role: 'member',
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('forbidden');
    }
  });

  it('refuses existing members, bad addresses, unknown tokens and weak passwords', async () => {
    const a = await team(t);
    const member = await send('POST', '/api/orgs/current/invitations', a.owner.headers, {
      email: a.member.email.toUpperCase(),
      role: 'member',
    });
    expect(member.statusCode).toBe(409);
    expect(member.json().code).toBe('already_member');
    for (const payload of [
      { email: 'not-an-address', role: 'member' },
      { email: uniqueEmail(), role: 'root' },
      { email: uniqueEmail(), role: 'member', org_id: a.org.id },
    ]) {
      expect(
        (await send('POST', '/api/orgs/current/invitations', a.owner.headers, payload)).statusCode,
      ).toBe(400);
    }
    const unknown = await accept({ token: 'x'.repeat(43), password: GOOD_PASSWORD });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe('invalid_token');
    expect((await accept({ token: 'short' })).json().code).toBe('invalid_token');
    expect((await accept({ token: 'x'.repeat(43), extra: 1 })).statusCode).toBe(400);

    const email = uniqueEmail('weak');
    await invite(a.owner, email);
    const token = await mailedToken(email, '/accept-invite?token=');
    const noPassword = await accept({ token });
    expect(noPassword.statusCode).toBe(400);
    expect(noPassword.json().errors[0].field).toBe('password');
    const weak = await accept({ token, password: 'password' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('weak_password');
    // A refused password leaves the invitation usable.
    expect((await accept({ token, password: GOOD_PASSWORD })).statusCode).toBe(201);
  });

  it('two accepts of one token at once: exactly one account', async () => {
    const a = await team(t);
    const email = uniqueEmail('race');
    await invite(a.owner, email);
    const token = await mailedToken(email, '/accept-invite?token=');
    const results = await Promise.all([
      accept({ token, password: GOOD_PASSWORD }),
      accept({ token, password: GOOD_PASSWORD }),
    ]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes[0]).toBe(201);
    expect([403, 409]).toContain(codes[1]);
    const users = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').select('id').where('email', '=', email).execute(),
    );
    expect(users).toHaveLength(1);
  });

  it('the org’s allowed email domains bound invitations and admin-created users', async () => {
    const a = await team(t);
    const patch = await send('PATCH', '/api/orgs/current', a.owner.headers, {
      settings: { allowed_email_domains: ['acme.example'] },
    });
    expect(patch.statusCode).toBe(200);
    const outside = await send('POST', '/api/orgs/current/invitations', a.owner.headers, {
      email: uniqueEmail(),
      role: 'member',
    });
    expect(outside.statusCode).toBe(403);
    expect(outside.json().code).toBe('email_domain_not_allowed');
    const created = await send('POST', '/api/orgs/current/users', a.owner.headers, {
      email: uniqueEmail(),
      role: 'member',
    });
    expect(created.statusCode).toBe(403);
    expect(created.json().code).toBe('email_domain_not_allowed');
    // A subdomain is not the domain.
    const sub = await send('POST', '/api/orgs/current/invitations', a.owner.headers, {
      email: 'x@eu.acme.example',
      role: 'member',
    });
    expect(sub.statusCode).toBe(403);
    const inside = uniqueEmail('in').replace('@example.test', '@ACME.example');
    await invite(a.owner, inside);
    const token = await mailedToken(inside.toLowerCase(), '/accept-invite?token=');
    // Tightened after the invitation went out: the link no longer admits the address.
    await send('PATCH', '/api/orgs/current', a.owner.headers, {
      settings: { allowed_email_domains: ['other.example'] },
    });
    const refused = await accept({ token, password: GOOD_PASSWORD });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('email_domain_not_allowed');
  });
});

describe('admin-created users, end to end', () => {
  it('without a password: a set-password mail whose link sets it; then the user logs in', async () => {
    const a = await team(t);
    const email = uniqueEmail('created');
    const res = await send('POST', '/api/orgs/current/users', a.admin.headers, {
      email,
      full_name: 'Katherine Johnson',
      role: 'manager',
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ email, role: 'manager' });
    const body = {
      user: await withSystem(t.database, (tx) =>
        tx.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirstOrThrow(),
      ),
    };
    expect(body.user.full_name).toBe('Katherine Johnson');
    // No password yet: nobody can log in as the new account.
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { email, password: GOOD_PASSWORD },
        })
      ).statusCode,
    ).toBe(401);

    const link = new URL(
      linkFrom(await smtp.waitFor((m) => m.to === email), '/reset-password?token='),
    );
    expect(link.searchParams.get('new')).toBe('1');
    const token = link.searchParams.get('token')!;
    const stored = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('user_tokens')
        .selectAll()
        .where('user_id', '=', body.user.id)
        .executeTakeFirstOrThrow(),
    );
    expect(stored.purpose).toBe('set_password');
    expect(stored.token_hash).toBe(hashToken(token));
    const days = (stored.expires_at.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);

    const set = await send(
      'POST',
      '/api/auth/password/reset',
      {},
      {
        token,
        new_password: GOOD_PASSWORD,
      },
    );
    expect(set.statusCode).toBe(204);
    const login = await logIn(t.app, email);
    expect(decodeJwt(login.access)).toMatchObject({ org: a.org.id, role: 'manager' });
    // The link works once.
    const reuse = await send(
      'POST',
      '/api/auth/password/reset',
      {},
      {
        token,
        new_password: `${GOOD_PASSWORD} again`,
      },
    );
    expect(reuse.statusCode).toBe(400);

    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'user.create')).toMatchObject({
      actor_user_id: a.admin.user.id,
      actor_type: 'user',
      target_id: body.user.id,
      metadata: { role: 'manager', password_set: false },
    });
  });

  it('an admin-chosen password is refused: only the mailbox owner sets it', async () => {
    const a = await team(t);
    const email = uniqueEmail('withpw');
    const res = await send('POST', '/api/orgs/current/users', a.owner.headers, {
      email,
      role: 'member',
      password: GOOD_PASSWORD,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    const users = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').select('id').where('email', '=', email).execute(),
    );
    expect(users).toEqual([]);
  });

  it('invites taken addresses (same answer); refuses members, roles above the caller, managers and members', async () => {
    const a = await team(t);
    const b = await team(t, 'Other Co');
    const taken = await send('POST', '/api/orgs/current/users', a.owner.headers, {
      email: b.member.email,
      role: 'member',
    });
    expect(taken.statusCode).toBe(202);
    await mailedToken(b.member.email, '/accept-invite?token=');
    const own = await send('POST', '/api/orgs/current/users', a.owner.headers, {
      email: a.member.email,
      role: 'member',
    });
    expect(own.statusCode).toBe(409);
    expect(own.json().code).toBe('already_member');
    const up = await send('POST', '/api/orgs/current/users', a.admin.headers, {
      email: uniqueEmail(),
      role: 'owner',
    });
    expect(up.statusCode).toBe(403);
    expect(up.json().code).toBe('role_above_caller');
    for (const p of [a.manager, a.member]) {
      const res = await send('POST', '/api/orgs/current/users', p.headers, {
        email: uniqueEmail(),
        role: 'member',
      });
      expect(res.statusCode).toBe(403);
    }
    const extra = await send('POST', '/api/orgs/current/users', a.owner.headers, {
      email: uniqueEmail(),
      role: 'member',
      is_superuser: true,
    });
    expect(extra.statusCode).toBe(400);
  });

  it('the database itself refuses an admin creating a superuser or a token for an account with a password', async () => {
    const a = await team(t);
    const ctx = { orgId: a.org.id, userId: a.admin.user.id, role: 'admin' as const };
    const { withTenant } = await import('../db/tenant.ts');
    const { newId } = await import('../http/ids.ts');
    await expect(
      withTenant(t.database, ctx, (tx) =>
        tx
          .insertInto('users')
          .values({ id: newId(), email: uniqueEmail(), password_hash: null, is_superuser: true })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      withTenant(t.database, ctx, (tx) =>
        tx
          .insertInto('user_tokens')
          .values({
            id: newId(),
            user_id: a.member.user.id,
            purpose: 'set_password',
            token_hash: hashToken(newId()),
            expires_at: new Date(Date.now() + 60_000),
          })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    // And members may not create accounts at all.
    await expect(
      withTenant(t.database, { ...ctx, userId: a.member.user.id, role: 'member' }, (tx) =>
        tx
          .insertInto('users')
          .values({ id: newId(), email: uniqueEmail(), password_hash: null })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
  });
});

it('a person created either way can be invited elsewhere and switch between orgs', async () => {
  const a = await team(t);
  const b = await team(t, 'Other Co');
  const p = await person(t, a.org, 'member', 'both');
  await markVerified(p.user.id);
  await invite(b.owner, p.email, 'member');
  const token = await mailedToken(p.email, '/accept-invite?token=');
  expect((await accept({ token }, p.headers)).statusCode).toBe(200);
  const orgs = await t.app.inject({ url: '/api/orgs', headers: p.headers });
  expect(
    orgs
      .json()
      .items.map((o: { id: string }) => o.id)
      .sort(),
  ).toEqual([a.org.id, b.org.id].sort());
});
