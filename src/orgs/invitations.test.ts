// Invitations and admin-created users, end to end through a real SMTP server, with public sign-up
// turned off for the whole file: these two are then the only ways in. Hostile cases are in
// invitations.security.test.ts.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import type { TestApp } from '../test/app.ts';
import { bearer, GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { invitationFlows, startInvitationApp } from '../test/invitation-helpers.ts';
import { auditOf, logIn, person, team } from '../test/org-helpers.ts';
import { linkFrom, type TestSmtpServer } from '../test/smtp.ts';
import { insertInvitation } from './invitation.repository.ts';

let t: TestApp;
let smtp: TestSmtpServer;
beforeAll(async () => {
  ({ t, smtp } = await startInvitationApp({ SIGNUP_ENABLED: 'false' }));
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const { send, invite, mailedToken, accept, markVerified } = invitationFlows(() => ({ t, smtp }));

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
});

/** The org's pending invitations, as its owner lists them: their ids. */
async function pendingIds(by: { headers: Record<string, string> }): Promise<string[]> {
  const res = await t.app.inject({ url: '/api/orgs/current/invitations', headers: by.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items.map((i: { id: string }) => i.id);
}

/** An open invitation (neither accepted nor revoked) of `email` written straight to the table. */
async function openInvitation(
  orgId: string,
  email: string,
  invitedBy: string,
  expiresAt = new Date(Date.now() + 86_400_000),
) {
  const token = generateToken(32);
  const row = await withSystem(t.database, (tx) =>
    insertInvitation(tx, {
      id: newId(),
      org_id: orgId,
      email,
      role: 'admin',
      token_hash: hashToken(token),
      invited_by: invitedBy,
      expires_at: expiresAt,
    }),
  );
  return { id: row.id, token };
}

describe('a person who becomes a member another way: their pending invitations into the org are retired', () => {
  it('an admin creates the account: the pending invitation is revoked (audited), unlisted, and its link answers 410', async () => {
    const a = await team(t);
    const email = uniqueEmail('invited-then-created');
    const inv = await invite(a.admin, email, 'manager');
    const token = await mailedToken(email, '/accept-invite?token=');
    expect(await pendingIds(a.owner)).toEqual([inv.id]);

    const created = await send('POST', '/api/orgs/current/users', a.owner.headers, {
      email,
      role: 'member',
    });
    expect(created.statusCode, created.body).toBe(202);
    const user = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow(),
    );

    // Retired with the membership: off the list, and the link no longer says 409 already_member.
    expect(await pendingIds(a.owner)).toEqual([]);
    const late = await accept({ token, password: GOOD_PASSWORD });
    expect(late.statusCode, late.body).toBe(410);
    expect(late.json().code).toBe('invitation_revoked');
    // The admin's choice stands: the link changed neither the role nor the password.
    const standing = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select(['memberships.role', 'memberships.status', 'users.password_hash'])
        .where('memberships.org_id', '=', a.org.id)
        .where('memberships.user_id', '=', user.id)
        .executeTakeFirstOrThrow(),
    );
    expect(standing).toEqual({ role: 'member', status: 'active', password_hash: null });

    const trail = await auditOf(t.database, a.org.id);
    const revokes = trail.filter((e) => e.action === 'invitation.revoke');
    expect(revokes).toHaveLength(1);
    expect(revokes[0]).toMatchObject({
      actor_user_id: a.owner.user.id,
      actor_type: 'user',
      target_type: 'invitation',
      target_id: inv.id,
      outcome: 'success',
      metadata: {
        reason: 'member_added',
        via: 'user_create',
        user_id: user.id,
        role: 'manager',
        inviter: a.admin.user.id,
      },
    });
    expect(trail.find((e) => e.action === 'user.create')).toMatchObject({ target_id: user.id });
  });

  it('retires only that org’s invitations of that address', async () => {
    const a = await team(t);
    const b = await team(t, 'Other Co');
    const email = uniqueEmail('kept-elsewhere');
    const elsewhere = await invite(b.admin, email, 'member');
    const other = await invite(a.admin, uniqueEmail('someone-else'), 'member');
    await invite(a.admin, email, 'member');
    const created = await send('POST', '/api/orgs/current/users', a.owner.headers, {
      email,
      role: 'member',
    });
    expect(created.statusCode, created.body).toBe(202);
    expect(await pendingIds(a.owner)).toEqual([other.id]);
    expect(await pendingIds(b.owner)).toEqual([elsewhere.id]);
  });
});

// Two links to one address could exist once (two admins inviting it at the same moment each
// revoked the nothing they saw, then inserted); the database now refuses the second (migration
// 0030), and invitations of one address are serialised (invitations.ts lockAddress; the race:
// invitation-accept.pg.test.ts).
describe('one open invitation per address into an org', () => {
  it('the database refuses a second one; another org’s, a revoked or an accepted one do not count', async () => {
    const a = await team(t);
    const b = await team(t, 'Other Co');
    const email = uniqueEmail('one-link');
    const first = await invite(a.admin, email, 'member');
    await expect(openInvitation(a.org.id, email, a.owner.user.id)).rejects.toMatchObject({
      code: '23505',
      constraint: 'invitations_one_open_per_address',
    });
    await openInvitation(b.org.id, email, b.owner.user.id);
    const revoked = await send(
      'DELETE',
      `/api/orgs/current/invitations/${first.id}`,
      a.owner.headers,
    );
    expect(revoked.statusCode, revoked.body).toBe(204);
    const next = await openInvitation(a.org.id, email, a.owner.user.id);
    expect(await pendingIds(a.owner)).toEqual([next.id]);
    const joined = await accept({ token: next.token, password: GOOD_PASSWORD });
    expect(joined.statusCode, joined.body).toBe(201);
    await openInvitation(a.org.id, email, a.owner.user.id);
  });

  it('an address whose link expired is invited again: the expired one is closed, the new link works', async () => {
    const a = await team(t);
    const email = uniqueEmail('expired-link');
    // Expired, never revoked: still open as the index sees it (it cannot see time).
    const old = await openInvitation(a.org.id, email, a.owner.user.id, new Date(Date.now() - 1000));
    const inv = await invite(a.admin, email, 'member');
    const token = await mailedToken(email, '/accept-invite?token=');
    const rows = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('invitations')
        .select(['id', 'revoked_by'])
        .where('org_id', '=', a.org.id)
        .where('email', '=', email)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .execute(),
    );
    expect(rows.map((r) => r.id)).toEqual([inv.id]);
    // The expired link was no live link: nothing replaced.
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'invitation.create')).toMatchObject({
      target_id: inv.id,
      metadata: { email, role: 'member', replaced: 0 },
    });
    const stale = await accept({ token: old.token, password: GOOD_PASSWORD });
    expect(stale.statusCode, stale.body).toBe(410);
    const ok = await accept({ token, password: GOOD_PASSWORD });
    expect(ok.statusCode, ok.body).toBe(201);
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
