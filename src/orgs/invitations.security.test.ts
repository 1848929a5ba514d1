// An invitation carries its inviter's authority: it must not outlive it. Demoting or removing a
// member, or disabling their account, revokes their pending invitations that their new standing
// could not grant (in the same transaction, audited); and acceptance re-checks that the inviter is
// still an active member who may grant the role, so an invitation that slipped past (a change made
// some other way) is refused and made unusable for good.
// And the other hostile cases of invitations and admin-created users: the wrong account, expired,
// revoked and replayed links, roles above the caller's, malformed input, chosen passwords and
// superuser flags.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import type { TestApp } from '../test/app.ts';
import { GOOD_PASSWORD, loginUser } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { invitationFlows, startInvitationApp } from '../test/invitation-helpers.ts';
import { claimsOf, enrolMfa, totpNow } from '../test/mfa-helpers.ts';
import {
  ADMIN_ENV,
  auditOf,
  logIn,
  type Person,
  person,
  removeMember,
  setRole,
  superuser,
  team,
} from '../test/org-helpers.ts';
import type { TestSmtpServer } from '../test/smtp.ts';

let t: TestApp;
let smtp: TestSmtpServer;
beforeAll(async () => {
  ({ t, smtp } = await startInvitationApp({ ...ADMIN_ENV }));
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const { send, invite, mailedToken, accept, markVerified } = invitationFlows(() => ({ t, smtp }));

/** Invites `email` as `role`; answers the invitation id and the mailed token. */
async function pendingInvitation(by: Person, role: string, email = uniqueEmail('invitee')) {
  const { id } = await invite(by, email, role);
  const token = await mailedToken(email, '/accept-invite?token=');
  expect(token).toBeTruthy();
  return { id, email, token };
}

/** An anonymous accept from another client address (the default is 127.0.0.1). */
const acceptFrom = (remoteAddress: string, payload: object) =>
  t.app.inject({ method: 'POST', url: '/api/invitations/accept', remoteAddress, payload });

/** Accepts as a new account. */
const acceptAsNew = (token: string) => accept({ token, password: GOOD_PASSWORD });

const invitationRow = (id: string) =>
  withSystem(t.database, (tx) =>
    tx.selectFrom('invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
  );

describe('demotion and removal revoke what the inviter can no longer grant', () => {
  it('an admin demoted to member: every pending invitation of theirs is revoked and audited', async () => {
    const a = await team(t);
    const invs = [
      await pendingInvitation(a.admin, 'admin'),
      await pendingInvitation(a.admin, 'manager'),
      await pendingInvitation(a.admin, 'member'),
    ];
    const others = await pendingInvitation(a.owner, 'admin');

    const res = await setRole(t.app, a.owner, a.admin, 'member');
    expect(res.statusCode).toBe(200);

    for (const inv of invs) {
      const r = await acceptAsNew(inv.token);
      expect(r.statusCode, inv.id).toBe(410);
      expect(r.json().code, inv.id).toBe('invitation_revoked');
      expect((await invitationRow(inv.id)).revoked_by).toBe(a.owner.user.id);
    }
    // Someone else's invitations are untouched.
    expect((await acceptAsNew(others.token)).statusCode).toBe(201);

    const trail = await auditOf(t.database, a.org.id);
    const change = trail.find((e) => e.action === 'member.role_change');
    expect(change?.metadata).toMatchObject({ invitations_revoked: 3 });
    const revokes = trail.filter((e) => e.action === 'invitation.revoke');
    expect(revokes.map((e) => e.target_id).sort()).toEqual(invs.map((i) => i.id).sort());
    for (const e of revokes) {
      expect(e).toMatchObject({ actor_user_id: a.owner.user.id, outcome: 'success' });
      expect(e.metadata).toMatchObject({
        reason: 'inviter_role_changed',
        inviter: a.admin.user.id,
      });
    }
    expect(JSON.stringify(trail)).not.toContain(invs[0]!.token);
  });

  it('an owner demoted to admin: only the invitations above admin go', async () => {
    const a = await team(t);
    const second = await person(t, a.org, 'owner', 'owner2');
    const asOwner = await pendingInvitation(second, 'owner');
    const asAdmin = await pendingInvitation(second, 'admin');
    expect((await setRole(t.app, a.owner, second, 'admin')).statusCode).toBe(200);
    expect((await acceptAsNew(asOwner.token)).json().code).toBe('invitation_revoked');
    const ok = await acceptAsNew(asAdmin.token);
    expect(ok.statusCode).toBe(201);
    expect(ok.json().role).toBe('admin');
  });

  it('a removed admin: every pending invitation of theirs is revoked, in the removal', async () => {
    const a = await team(t);
    const inv = await pendingInvitation(a.admin, 'admin');
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/orgs/current/members/${a.admin.user.id}`,
      headers: a.owner.headers,
    });
    expect(removed.statusCode).toBe(204);
    expect((await acceptAsNew(inv.token)).json().code).toBe('invitation_revoked');
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'member.remove')?.metadata).toMatchObject({
      invitations_revoked: 1,
    });
    expect(trail.find((e) => e.action === 'invitation.revoke')?.metadata).toMatchObject({
      reason: 'inviter_removed',
    });
  });

  it('a disabled account: its pending invitations are revoked in every org', async () => {
    const su = await superuser(t);
    const a = await team(t);
    const b = await team(t, 'Second Co');
    // The same person is an admin of a second org too.
    await withSystem(t.database, (tx) =>
      tx
        .insertInto('memberships')
        .values({ org_id: b.org.id, user_id: a.admin.user.id, role: 'admin' })
        .execute(),
    );
    const inA = await pendingInvitation(a.admin, 'admin');
    const inB = '01900000-0000-7000-8000-0000000000b1';
    await withSystem(t.database, (tx) =>
      tx
        .insertInto('invitations')
        .values({
          id: inB,
          org_id: b.org.id,
          email: uniqueEmail('invitee-b'),
          role: 'manager',
          token_hash: `not-a-real-hash-${inB}`,
          invited_by: a.admin.user.id,
          expires_at: new Date(Date.now() + 86_400_000),
        })
        .execute(),
    );
    const disabled = await t.app.inject({
      method: 'POST',
      url: `/api/admin/users/${a.admin.user.id}/disable`,
      headers: su.headers,
    });
    expect(disabled.statusCode).toBe(200);
    expect((await invitationRow(inA.id)).revoked_by).toBe(su.user.id);
    expect((await invitationRow(inB)).revoked_by).toBe(su.user.id);
    expect((await acceptAsNew(inA.token)).json().code).toBe('invitation_revoked');
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'invitation.revoke')).toMatchObject({
      actor_user_id: su.user.id,
      actor_type: 'superuser',
      target_id: inA.id,
      metadata: { reason: 'inviter_disabled', inviter: a.admin.user.id },
    });
  });

  it('a role change that keeps the authority revokes nothing', async () => {
    const a = await team(t);
    const second = await person(t, a.org, 'owner', 'owner2');
    const inv = await pendingInvitation(a.admin, 'admin');
    expect((await setRole(t.app, second, a.admin, 'owner')).statusCode).toBe(200);
    expect((await acceptAsNew(inv.token)).statusCode).toBe(201);
  });
});

describe('acceptance re-checks the inviter', () => {
  /** Changes the inviter behind the services' back, as data from before this rule would be. */
  const direct = (fn: Parameters<typeof withSystem>[1]) => withSystem(t.database, fn);

  it('an inviter demoted some other way: refused, and the link stays dead after a re-promotion', async () => {
    const a = await team(t);
    const inv = await pendingInvitation(a.admin, 'admin');
    const setAdminRole = (role: 'admin' | 'member') =>
      direct((tx) =>
        tx
          .updateTable('memberships')
          .set({ role })
          .where('org_id', '=', a.org.id)
          .where('user_id', '=', a.admin.user.id)
          .execute(),
      );
    await setAdminRole('member');
    const refused = await acceptAsNew(inv.token);
    expect(refused.statusCode).toBe(410);
    expect(refused.json().code).toBe('invitation_authority_lost');
    expect(
      await withSystem(t.database, (tx) =>
        tx.selectFrom('users').select('id').where('email', '=', inv.email).executeTakeFirst(),
      ),
    ).toBeUndefined();
    // Unusable for good: the inviter's later return does not bring the link back.
    await setAdminRole('admin');
    const again = await acceptAsNew(inv.token);
    expect(again.statusCode).toBe(410);
    expect(again.json().code).toBe('invitation_revoked');
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'invitation.revoke')).toMatchObject({
      target_id: inv.id,
      actor_type: 'system',
      metadata: { reason: 'inviter_lost_authority', inviter: a.admin.user.id },
    });
  });

  it('an inviter removed or disabled some other way: refused', async () => {
    const a = await team(t);
    const byRemoved = await pendingInvitation(a.admin, 'member');
    const byDisabled = await pendingInvitation(a.owner, 'member');
    await direct((tx) =>
      tx
        .updateTable('memberships')
        .set({ status: 'deactivated' })
        .where('org_id', '=', a.org.id)
        .where('user_id', '=', a.admin.user.id)
        .execute(),
    );
    await direct((tx) =>
      tx
        .updateTable('users')
        .set({ status: 'disabled' })
        .where('id', '=', a.owner.user.id)
        .execute(),
    );
    for (const inv of [byRemoved, byDisabled]) {
      const r = await acceptAsNew(inv.token);
      expect(r.statusCode, inv.id).toBe(410);
      expect(r.json().code, inv.id).toBe('invitation_authority_lost');
    }
  });
});

describe('invitations: wrong accounts, expired, revoked and replayed links', () => {
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

  it('a verified account with no session joins with its password: a member removed from their only org comes back', async () => {
    const a = await team(t);
    await markVerified(a.member.user.id);
    expect((await removeMember(t.app, a.owner, a.member)).statusCode).toBe(204);
    // No org left: no login, so "log in, then accept" cannot be done.
    await expect(logIn(t.app, a.member.email)).rejects.toThrow(/403/);
    const { id, token } = await pendingInvitation(a.owner, 'manager', a.member.email);

    const bare = await accept({ token });
    expect(bare.statusCode).toBe(403);
    expect(bare.json().code).toBe('invitation_wrong_account');
    // A wrong password is answered as anyone who is not the account is.
    const wrong = await accept({ token, password: 'not the password of this account 7' });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('invitation_wrong_account');
    expect((await invitationRow(id)).accepted_at).toBeNull();

    // From a device the account never signed in from: its owner is told, as after a login.
    const ok = await acceptFrom('198.51.100.41', { token, password: GOOD_PASSWORD });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ org: { id: a.org.id }, role: 'manager' });
    const notice = await smtp.waitFor(
      (m) => m.to === a.member.email && /New sign-in/.test(m.subject ?? ''),
    );
    expect(notice.text).toContain('198.51.100.41');
    expect(claimsOf(ok.json().access_token)).toMatchObject({ org: a.org.id, amr: ['pwd'] });
    expect(ok.headers['set-cookie']).toBeDefined();
    // A member again: the login works, in the org.
    const back = await logIn(t.app, a.member.email);
    expect(claimsOf(back.access)).toMatchObject({ org: a.org.id, role: 'manager' });
    expect((await accept({ token, password: GOOD_PASSWORD })).json().code).toBe('invitation_used');
    const trail = await auditOf(t.database, a.org.id);
    const accepted = trail.filter((e) => e.action === 'invitation.accept');
    expect(accepted.map((e) => e.outcome)).toEqual(['failure', 'failure', 'success', 'failure']);
    expect(accepted[2]!.metadata).toMatchObject({ new_account: false, proven_by: 'password' });
    expect(JSON.stringify(accepted)).not.toContain(GOOD_PASSWORD);
  });

  it('an account with MFA: the code is asked for once the password is right, a wrong one is refused, the right one joins with mfa in amr', async () => {
    const a = await team(t);
    await markVerified(a.member.user.id);
    const { secret, backupCodes } = await enrolMfa(t.app, { access: a.member.access });
    expect((await removeMember(t.app, a.owner, a.member)).statusCode).toBe(204);
    const { id, token } = await pendingInvitation(a.owner, 'member', a.member.email);

    // A wrong password says nothing of MFA.
    const wrongPassword = await accept({ token, password: 'not the password 8', code: '123456' });
    expect(wrongPassword.statusCode).toBe(403);
    expect(wrongPassword.json().code).toBe('invitation_wrong_account');
    const noCode = await accept({ token, password: GOOD_PASSWORD });
    expect(noCode.statusCode).toBe(400);
    expect(noCode.json().code).toBe('validation_failed');
    expect(noCode.json().errors[0].field).toBe('code');
    const valid = new Set([-1, 0, 1].map((o) => totpNow(secret, o)));
    const guess = ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c))!;
    const wrongCode = await accept({ token, password: GOOD_PASSWORD, code: guess });
    expect(wrongCode.statusCode).toBe(401);
    expect(wrongCode.json().code).toBe('invalid_mfa');
    expect((await invitationRow(id)).accepted_at).toBeNull();

    const ok = await accept({ token, password: GOOD_PASSWORD, code: backupCodes[0] });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(claimsOf(ok.json().access_token)).toMatchObject({
      org: a.org.id,
      role: 'member',
      amr: ['pwd', 'mfa'],
    });
    const trail = await auditOf(t.database, a.org.id);
    const accepted = trail.filter((e) => e.action === 'invitation.accept');
    expect(accepted.at(-1)!.metadata).toMatchObject({ proven_by: 'password_and_mfa' });
  });

  it('a session-less accept is counted as a login: wrong passwords, then wrong codes, until the right ones are refused 429', async () => {
    const a = await team(t);
    await markVerified(a.member.user.id);
    const { secret, backupCodes } = await enrolMfa(t.app, { access: a.member.access });
    expect((await removeMember(t.app, a.owner, a.member)).statusCode).toBe(204);
    const { id, token } = await pendingInvitation(a.owner, 'member', a.member.email);
    // RATE_LIMIT_LOGIN_ACCOUNT_IP: 5 failures of one account from one address.
    for (let i = 0; i < 5; i++) {
      const res = await accept({ token, password: `wrong password number ${i}` });
      expect(res.json().code).toBe('invitation_wrong_account');
    }
    const passwordLimited = await accept({ token, password: GOOD_PASSWORD });
    expect(passwordLimited.statusCode).toBe(429);
    // The login's own limit is the same one: the account's login from here is refused too.
    expect((await loginUser(t.app, a.member.email, GOOD_PASSWORD)).statusCode).toBe(429);

    // From another address the password works; RATE_LIMIT_MFA_VERIFY: 5 wrong codes per user.
    const valid = new Set([-1, 0, 1].map((o) => totpNow(secret, o)));
    const guesses = ['000000', '111111', '222222', '333333', '444444', '555555', '666666']
      .filter((c) => !valid.has(c))
      .slice(0, 5);
    for (const code of guesses) {
      const res = await acceptFrom('198.51.100.77', { token, password: GOOD_PASSWORD, code });
      expect(res.json().code).toBe('invalid_mfa');
    }
    const codeLimited = await acceptFrom('198.51.100.77', {
      token,
      password: GOOD_PASSWORD,
      code: backupCodes[0],
    });
    expect(codeLimited.statusCode).toBe(429);
    expect((await invitationRow(id)).accepted_at).toBeNull();
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
});

describe('invitations: roles above the caller, members, malformed input', () => {
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
});

describe('admin-created users: no chosen passwords, no escalation', () => {
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
