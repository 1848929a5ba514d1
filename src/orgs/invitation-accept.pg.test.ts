// Accepting an invitation while an act on its org, its invitation or the invited account is under
// way, on PostgreSQL (real row locks; PGlite runs one transaction at a time, so these run only
// with DATABASE_URL). The act holds its locks in a transaction of its own while the accept runs
// into them, then commits (src/test/pg-race.ts); the accept must then respect it, and leave
// nothing the act did not end: no account, membership or live session.
//
// What each one needs of src/orgs/invitation-accept.ts (acceptLocked), checked by taking it away:
// - the org row share-locked: without it the suspension answers 201 (a live session and an
//   active membership in the suspended org) and the inviter's removal deadlocks (40P01: 503);
// - that lock taken before the invitation's: taken after it, the removal deadlocks (503);
// - the accepting account's row locked: without it both disables succeed (201 with a session
//   for the disabled account, 200 with its membership);
// - that lock taken before the invitation's (the lock order: org, account, invitation): taken
//   after it, a revoke by that same account deadlocks (503 database_busy).
// The revoke passes without the org lock: the invitation's own row lock (FOR UPDATE, before the
// accept transaction and in it) serialises it, and without that lock it answers 201.
// And of src/orgs/invitations.ts (stageInvitation): a re-invite reads the membership after it
// revoked the pending invitation (and so after an accept holding it committed); read before,
// it answers 201 and mails a second link to the member the accept just made.
// And of src/orgs/org-users.ts (createOrgUser): the address's invitations locked before the new
// account is written; written first, an accept racing it deadlocks (503). Two accepts of two links
// to one address (they deadlocked when each locked only its own) cannot be staged any more: the
// database admits one open invitation per address into an org (migration 0030), and two
// invitations of one address sent at once are serialised (src/orgs/invitations.pg.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../auth/password.ts';
import { withSystem } from '../db/tenant.ts';
import type { TestApp } from '../test/app.ts';
import { bearer, GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { addMember, createOrg, createUser, uniqueEmail } from '../test/factories.ts';
import { invitationFlows, startInvitationApp } from '../test/invitation-helpers.ts';
import { logIn, type Person, person, type Team, team } from '../test/org-helpers.ts';
import { type Act, pgRaces } from '../test/pg-race.ts';
import type { TestSmtpServer } from '../test/smtp.ts';

let t: TestApp;
let smtp: TestSmtpServer;
beforeAll(async () => {
  ({ t, smtp } = await startInvitationApp());
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const { send, invite, mailedToken, accept, markVerified } = invitationFlows(() => ({ t, smtp }));
const { during, openAct, someoneWaitsForALock } = pgRaces(() => t);

const NEW_PASSWORD = 'a passphrase chosen at the link 7';

/** `by` invites `email` as a member; answers the invitation id and the mailed token. */
async function pendingInvitation(by: Person, email = uniqueEmail('invitee')) {
  const { id } = await invite(by, email);
  return { id, email, token: await mailedToken(email, '/accept-invite?token=') };
}

/** What is left once the accept answered: the invitation, the address's account, its standing. */
function leftBehind(orgId: string, inv: { id: string; email: string }) {
  return withSystem(t.database, async (tx) => {
    const row = await tx
      .selectFrom('invitations')
      .select(['accepted_at', 'revoked_at'])
      .where('id', '=', inv.id)
      .executeTakeFirstOrThrow();
    const user = await tx
      .selectFrom('users')
      .select(['id', 'status', 'email_verified_at', 'password_hash'])
      .where('email', '=', inv.email)
      .executeTakeFirst();
    const membership =
      user &&
      (await tx
        .selectFrom('memberships')
        .select('status')
        .where('org_id', '=', orgId)
        .where('user_id', '=', user.id)
        .executeTakeFirst());
    const live = user
      ? await tx
          .selectFrom('sessions')
          .select('id')
          .where('user_id', '=', user.id)
          .where('revoked_at', 'is', null)
          .execute()
      : [];
    return {
      invitation: row.accepted_at ? 'accepted' : row.revoked_at ? 'revoked' : 'pending',
      user,
      membership: membership?.status ?? null,
      liveSessions: live.length,
    };
  });
}

// The acts, as their services write them (src/suspension, src/orgs/members.ts,
// src/orgs/invitations.ts, src/admin/admin.ts), in the order they take their locks.

const lockOrg =
  (orgId: string): Act =>
  async (q) => {
    await q('SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE', [orgId]);
  };

const suspension =
  (orgId: string): Act =>
  async (q) => {
    await lockOrg(orgId)(q);
    await q(
      `UPDATE orgs SET suspended_at = now(), suspension_kind = 'suspension',
         suspended_reason = 'race' WHERE id = $1`,
      [orgId],
    );
    await q(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = 'org_suspended'
        WHERE org_id = $1 AND revoked_at IS NULL`,
      [orgId],
    );
  };

/** A member's removal once the org row is locked: membership, sessions, invitations they sent. */
const removalOf =
  (orgId: string, userId: string, by: string): Act =>
  async (q) => {
    await q(
      `UPDATE memberships SET status = 'deactivated', updated_at = now()
        WHERE org_id = $1 AND user_id = $2`,
      [orgId, userId],
    );
    await q(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = 'membership_removed'
        WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL`,
      [orgId, userId],
    );
    await q(
      `UPDATE invitations SET revoked_at = now(), revoked_by = $3
        WHERE org_id = $1 AND invited_by = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
      [orgId, userId, by],
    );
  };

const revocation =
  (invitationId: string, by: string): Act =>
  async (q) => {
    await q(
      `UPDATE invitations SET revoked_at = now(), revoked_by = $2
        WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL`,
      [invitationId, by],
    );
  };

const disable =
  (userId: string): Act =>
  async (q) => {
    await q(`UPDATE users SET status = 'disabled', updated_at = now() WHERE id = $1`, [userId]);
    await q(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = 'account_disabled'
        WHERE user_id = $1 AND revoked_at IS NULL`,
      [userId],
    );
  };

/** The accept's refusal: its status and stable code. */
function expectRefused(
  res: { statusCode: number; body: string; json(): { code?: string } },
  status: number,
  code: string,
) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().code).toBe(code);
}

/** Nothing made for the invited address: no account, no membership, no live session. */
const NOTHING_MADE = { user: undefined, membership: null, liveSessions: 0 } as const;

describe('an invitation accepted while its org is being suspended', () => {
  it('is refused: no account, membership or session in the suspended org; the link waits', async () => {
    const a = await team(t, 'Suspension race');
    const inv = await pendingInvitation(a.admin);
    const res = await during(suspension(a.org.id), () =>
      accept({ token: inv.token, password: GOOD_PASSWORD }),
    );
    expectRefused(res, 403, 'org_suspended');
    expect(await leftBehind(a.org.id, inv)).toEqual({ invitation: 'pending', ...NOTHING_MADE });
  });
});

describe('an invitation accepted while its inviter is being removed', () => {
  // The removal locks the org row first and revokes the inviter's invitations after: the accept
  // must wait on the org before it locks the invitation, or each waits for the other.
  it('waits on the org, then is refused as revoked; the removal commits', async () => {
    const a = await team(t, 'Inviter removal race');
    const inv = await pendingInvitation(a.admin);
    const res = await during(
      lockOrg(a.org.id),
      () => accept({ token: inv.token, password: GOOD_PASSWORD }),
      removalOf(a.org.id, a.admin.user.id, a.owner.user.id),
    );
    expectRefused(res, 410, 'invitation_revoked');
    expect(await leftBehind(a.org.id, inv)).toEqual({ invitation: 'revoked', ...NOTHING_MADE });
  });
});

describe('an invitation accepted while it is being revoked', () => {
  // Serialised by the invitation's row lock, not the org's (the act takes no org lock; the revoke
  // service share-locks it, which the accept's share lock does not wait for): it passes without
  // the org lock, and fails (201) without the invitation's. Kept for that order: the revoke
  // commits first and the accept reads it.
  it('is refused; no account or membership', async () => {
    const a = await team(t, 'Revoke race');
    const inv = await pendingInvitation(a.admin);
    const res = await during(revocation(inv.id, a.owner.user.id), () =>
      accept({ token: inv.token, password: GOOD_PASSWORD }),
    );
    expectRefused(res, 410, 'invitation_revoked');
    expect(await leftBehind(a.org.id, inv)).toEqual({ invitation: 'revoked', ...NOTHING_MADE });
  });
});

describe('an invitation accepted while the invited account is being disabled', () => {
  it('for a never-verified account (the link proves it): refused, nothing claimed, no session', async () => {
    const a = await team(t, 'Disable claim race');
    const invitee = await person(t, await createOrg(t.database, 'Elsewhere'), 'owner', 'unproven');
    const inv = await pendingInvitation(a.admin, invitee.email);
    const before = await leftBehind(a.org.id, inv);
    const res = await during(disable(invitee.user.id), () =>
      accept({ token: inv.token, password: NEW_PASSWORD }),
    );
    expectRefused(res, 403, 'account_disabled');
    // Not claimed: neither proven nor given the new password; not in the org; no session.
    expect(await leftBehind(a.org.id, inv)).toEqual({
      invitation: 'pending',
      user: { ...before.user, status: 'disabled' },
      membership: null,
      liveSessions: 0,
    });
  });

  it('for a verified account, logged in as it: refused, no membership', async () => {
    const a = await team(t, 'Disable join race');
    const invitee = await person(t, await createOrg(t.database, 'Elsewhere'), 'owner', 'proven');
    await markVerified(invitee.user.id);
    const inv = await pendingInvitation(a.admin, invitee.email);
    const res = await during(disable(invitee.user.id), () =>
      accept({ token: inv.token }, invitee.headers),
    );
    expectRefused(res, 403, 'account_disabled');
    expect(await leftBehind(a.org.id, inv)).toMatchObject({
      invitation: 'pending',
      user: { status: 'disabled' },
      membership: null,
      liveSessions: 0,
    });
  });
});

/** DELETE /api/orgs/current/invitations/:id as `by` (the answer, unchecked). */
const revoke = (by: { headers: Record<string, string> }, id: string) =>
  send('DELETE', `/api/orgs/current/invitations/${id}`, by.headers);

/**
 * An admin of the team's org whose address a pending invitation into that org names (sent before
 * they joined it another way), verified and logged in there: the account the accept locks is
 * the account the revoke locks as its caller.
 */
async function adminInvitedBefore(a: Team) {
  const email = uniqueEmail('invited-admin');
  const inv = await pendingInvitation(a.admin, email);
  const user = await createUser(t.database, {
    email,
    password_hash: await hashPassword(GOOD_PASSWORD, t.config.auth.argon2),
  });
  await addMember(t.database, a.org, user, 'admin');
  await markVerified(user.id);
  const { access } = await logIn(t.app, email);
  return { inv, user, headers: bearer(access) };
}

// Every flow that locks an invitation together with its org or an account takes them in one
// order: the org, then the account, then the invitation (src/orgs/invitation-accept.ts). The
// accept used to lock the invitation before the account, the revoke (and the re-invite) the
// account before the invitation: the same account in both, and each waited for the other until
// PostgreSQL aborted one (40P01, answered 503 database_busy).
describe('an invitation revoked by the account it names while that account accepts it', () => {
  it('the accept waits on the account, the revoke commits first: 204, then 410 invitation_revoked', async () => {
    const a = await team(t, 'Self revoke race');
    const { inv, user, headers } = await adminInvitedBefore(a);
    // Another transaction share-locks the account: the accept stops at its account lock (having
    // taken the invitation's before, in the old order); the revoke's share lock passes it.
    const held = await openAct();
    await held.q('SELECT 1 FROM users WHERE id = $1 FOR SHARE', [user.id]);
    let revoked: ReturnType<typeof revoke> | undefined;
    let accepted: ReturnType<typeof accept> | undefined;
    let revokeWaited: 'waiting' | 'answered' | undefined;
    try {
      accepted = accept({ token: inv.token }, headers);
      expect(await someoneWaitsForALock(accepted)).toBe('waiting');
      revoked = revoke({ headers }, inv.id);
      revokeWaited = await someoneWaitsForALock(revoked, 2);
    } finally {
      await held.rollback();
    }
    const [acc, rev] = await Promise.all([accepted, revoked]);
    // In the old order one of them was the deadlock's victim: 503 database_busy.
    expect(rev.statusCode, rev.body).toBe(204);
    expectRefused(acc, 410, 'invitation_revoked');
    // The revoke waited for nothing the accept held (in the old order it waited for the
    // invitation, holding the account the accept waited for next).
    expect(revokeWaited).toBe('answered');
    expect(await leftBehind(a.org.id, inv)).toMatchObject({
      invitation: 'revoked',
      membership: 'active',
    });
  });

  it('the revoke holds its locks first: the accept waits, then is refused as revoked', async () => {
    const a = await team(t, 'Self revoke race 2');
    const { inv, headers } = await adminInvitedBefore(a);
    const held = await openAct();
    // The revoke stops at its audit entry, every row lock of it taken.
    await held.q('LOCK TABLE audit_logs IN SHARE MODE');
    let revoked: ReturnType<typeof revoke> | undefined;
    let accepted: ReturnType<typeof accept> | undefined;
    try {
      revoked = revoke({ headers }, inv.id);
      expect(await someoneWaitsForALock(revoked)).toBe('waiting');
      accepted = accept({ token: inv.token }, headers);
      expect(await someoneWaitsForALock(accepted, 2)).toBe('waiting');
    } finally {
      await held.rollback();
    }
    const [rev, acc] = await Promise.all([revoked, accepted]);
    expect(rev.statusCode, rev.body).toBe(204);
    expectRefused(acc, 410, 'invitation_revoked');
  });
});

describe('an address invited again while its invitation is being accepted', () => {
  it('the re-invite waits for the accept, then is refused: already a member; no new link', async () => {
    const a = await team(t, 'Re-invite race');
    const inv = await pendingInvitation(a.admin);
    const held = await openAct();
    // The accept stops at its audit entry with the org, the new account and the invitation locked.
    await held.q('LOCK TABLE audit_logs IN SHARE MODE');
    let accepted: ReturnType<typeof accept> | undefined;
    let again: ReturnType<typeof send> | undefined;
    try {
      accepted = accept({ token: inv.token, password: GOOD_PASSWORD });
      expect(await someoneWaitsForALock(accepted)).toBe('waiting');
      again = send('POST', '/api/orgs/current/invitations', a.admin.headers, {
        email: inv.email,
        role: 'member',
      });
      expect(await someoneWaitsForALock(again, 2)).toBe('waiting');
    } finally {
      await held.rollback();
    }
    const [acc, re] = await Promise.all([accepted, again]);
    expect(acc.statusCode, acc.body).toBe(201);
    expectRefused(re, 409, 'already_member');
    const pending = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('invitations')
        .select('id')
        .where('org_id', '=', a.org.id)
        .where('email', '=', inv.email)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .execute(),
    );
    expect(pending).toEqual([]);
  });
});

// An owner creates the account of an address (POST /api/orgs/current/users) whose invitation
// into the org is being accepted: the creation retires the address's pending invitations in its
// transaction (src/orgs/org-users.ts), so it locks them in the accept's order: the org, the
// accounts, then the invitations, before it writes the new account. The accept creates that same
// account after it locked the invitation; had the creation inserted the account first and
// revoked the invitation after, each would wait for the other (40P01, a 503).
describe('an address created by an admin while its invitation is being accepted', () => {
  const createUserAs = (by: Person, email: string) =>
    send('POST', '/api/orgs/current/users', by.headers, { email, role: 'member' });

  it('the creation holds the invitation first: the accept waits, then is refused as revoked', async () => {
    const a = await team(t, 'Create-user race');
    const inv = await pendingInvitation(a.admin);
    const held = await openAct();
    // The creation stops at its set-password token, the account and the membership written.
    await held.q('LOCK TABLE user_tokens IN SHARE MODE');
    let created: ReturnType<typeof send> | undefined;
    let accepted: ReturnType<typeof accept> | undefined;
    try {
      created = createUserAs(a.owner, inv.email);
      expect(await someoneWaitsForALock(created)).toBe('waiting');
      accepted = accept({ token: inv.token, password: GOOD_PASSWORD });
      expect(await someoneWaitsForALock(accepted, 2)).toBe('waiting');
    } finally {
      await held.rollback();
    }
    const [cre, acc] = await Promise.all([created, accepted]);
    expect(cre.statusCode, cre.body).toBe(202);
    expectRefused(acc, 410, 'invitation_revoked');
    expect(await leftBehind(a.org.id, inv)).toMatchObject({
      invitation: 'revoked',
      user: { status: 'active', email_verified_at: null, password_hash: null },
      membership: 'active',
      liveSessions: 0,
    });
  });

  it('the accept holds it first: the creation waits, then is refused: already a member', async () => {
    const a = await team(t, 'Create-user race 2');
    const inv = await pendingInvitation(a.admin);
    const held = await openAct();
    // The accept stops at its audit entry with the org, the new account and the invitation locked.
    await held.q('LOCK TABLE audit_logs IN SHARE MODE');
    let accepted: ReturnType<typeof accept> | undefined;
    let created: ReturnType<typeof send> | undefined;
    try {
      accepted = accept({ token: inv.token, password: GOOD_PASSWORD });
      expect(await someoneWaitsForALock(accepted)).toBe('waiting');
      created = createUserAs(a.owner, inv.email);
      expect(await someoneWaitsForALock(created, 2)).toBe('waiting');
    } finally {
      await held.rollback();
    }
    const [acc, cre] = await Promise.all([accepted, created]);
    expect(acc.statusCode, acc.body).toBe(201);
    expectRefused(cre, 409, 'already_member');
    expect(await leftBehind(a.org.id, inv)).toMatchObject({
      invitation: 'accepted',
      membership: 'active',
    });
  });
});
