// Accepting an invitation while an act on its org, its invitation or the invited account is under
// way, on PostgreSQL (real row locks; PGlite runs one transaction at a time, so these run only
// with DATABASE_URL). The act holds its locks in a transaction of its own while the accept runs
// into them, then commits (src/test/pg-race.ts); the accept must then respect it, and leave
// nothing the act did not end: no account, membership or live session.
//
// What each one needs of src/orgs/invitation-accept.ts (acceptLocked), checked by taking it away:
// - the org row share-locked: without it the suspension answers 201 (a live session and an
//   active membership in the suspended org) and the inviter's removal deadlocks (500);
// - that lock taken before the invitation's: taken after it, the removal deadlocks (500);
// - the accepting account's row locked: without it both disables succeed (201 with a session
//   for the disabled account, 200 with its membership).
// The revoke passes without the org lock: the invitation's own row lock (FOR UPDATE, before the
// accept transaction and in it) serialises it, and without that lock it answers 201.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import type { TestApp } from '../test/app.ts';
import { GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { createOrg, uniqueEmail } from '../test/factories.ts';
import { invitationFlows, startInvitationApp } from '../test/invitation-helpers.ts';
import { type Person, person, team } from '../test/org-helpers.ts';
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

const { invite, mailedToken, accept, markVerified } = invitationFlows(() => ({ t, smtp }));
const { during } = pgRaces(() => t);

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
  // Serialised by the invitation's row lock, not the org's (the revoke takes no org lock): it
  // passes without the org lock, and fails (201) without the invitation's. Kept for that order:
  // the revoke commits first and the accept reads it.
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
