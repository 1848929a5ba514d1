// Invitations of one address into one org written at the same moment, on PostgreSQL (real locks;
// PGlite runs one transaction at a time, so these run only with DATABASE_URL). The invariant
// (src/orgs/invitations.ts lockAddress; the unique index of migration 0030): at most one open
// invitation per org and address, and two invitations sent at once act as if sent one after the
// other — the later revokes the earlier, as a re-invite does — never two live links, never a 500.
//
// What each one needs, checked by taking it away:
// - two invites at once: without the address lock (and without the index) both answer 201 and two
//   links stay live; with the index but without the lock the second answers 500 (a unique
//   violation), 409 once mapped — not the replacement a re-invite makes;
// - an admin creating the account of an address while it is invited: the address lock taken
//   before the address's invitations are locked (src/orgs/org-users.ts); taken only in
//   stageInvitation, after those row locks, the two deadlock (40P01: a 503);
// - a writer that skips the address lock: its unique violation is a 409 problem document, not a
//   500.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import type { TestApp } from '../test/app.ts';
import { GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { createUser, uniqueEmail } from '../test/factories.ts';
import { invitationFlows, startInvitationApp } from '../test/invitation-helpers.ts';
import { auditOf, type Person, team } from '../test/org-helpers.ts';
import { type Act, pgRaces } from '../test/pg-race.ts';
import { linkFrom, type TestSmtpServer } from '../test/smtp.ts';

let t: TestApp;
let smtp: TestSmtpServer;
beforeAll(async () => {
  ({ t, smtp } = await startInvitationApp());
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const { send, invite, accept } = invitationFlows(() => ({ t, smtp }));
const { during, openAct, someoneWaitsForALock } = pgRaces(() => t);

const inviteAs = (by: Person, email: string, role = 'member') =>
  send('POST', '/api/orgs/current/invitations', by.headers, { email, role });
const createUserAs = (by: Person, email: string) =>
  send('POST', '/api/orgs/current/users', by.headers, { email, role: 'member' });

/** The org's open invitations (neither accepted nor revoked) of `email`. */
function openInvitations(orgId: string, email: string) {
  return withSystem(t.database, (tx) =>
    tx
      .selectFrom('invitations')
      .select(['id', 'token_hash'])
      .where('org_id', '=', orgId)
      .where('email', '=', email)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute(),
  );
}

/** The token mailed for invitation `id` (the mail goes out after its commit). */
async function mailedTokenOf(id: string): Promise<string> {
  const row = await withSystem(t.database, (tx) =>
    tx
      .selectFrom('invitations')
      .select(['email', 'token_hash'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow(),
  );
  const tokenIn = (m: Parameters<typeof linkFrom>[0]) =>
    new URL(linkFrom(m, '/accept-invite?token=')).searchParams.get('token') ?? '';
  const mail = await smtp.waitFor(
    (m) =>
      m.to === row.email &&
      m.text.includes('/accept-invite?token=') &&
      hashToken(tokenIn(m)) === row.token_hash,
  );
  return tokenIn(mail);
}

/** The `replaced` count of each invitation.create entry of the org, by invitation id. */
async function replacedCounts(orgId: string): Promise<Record<string, unknown>> {
  const trail = await auditOf(t.database, orgId);
  return Object.fromEntries(
    trail
      .filter((e) => e.action === 'invitation.create')
      .map((e) => [e.target_id, (e.metadata as { replaced?: unknown }).replaced]),
  );
}

it('two admins invite one address at once: the later waits, then replaces the earlier', async () => {
  const a = await team(t, 'Double invite race');
  const email = uniqueEmail('invited-twice');
  const held = await openAct();
  // The first invite stops at its audit entry, its invitation written, its locks held.
  await held.q('LOCK TABLE audit_logs IN SHARE MODE');
  let first: ReturnType<typeof send> | undefined;
  let second: ReturnType<typeof send> | undefined;
  try {
    first = inviteAs(a.admin, email);
    expect(await someoneWaitsForALock(first)).toBe('waiting');
    second = inviteAs(a.owner, email, 'manager');
    // Waits for the first (the address lock); without it, at the audit entry too.
    expect(await someoneWaitsForALock(second, 2)).toBe('waiting');
  } finally {
    await held.rollback();
  }
  const [one, two] = await Promise.all([first, second]);
  expect(one.statusCode, one.body).toBe(201);
  expect(two.statusCode, two.body).toBe(201);
  const earlier = one.json().id as string;
  const later = two.json().id as string;

  // One live link, the later one; the audit trail tells it replaced the earlier.
  expect((await openInvitations(a.org.id, email)).map((i) => i.id)).toEqual([later]);
  expect(await replacedCounts(a.org.id)).toEqual({ [earlier]: 0, [later]: 1 });

  const stale = await accept({ token: await mailedTokenOf(earlier), password: GOOD_PASSWORD });
  expect(stale.statusCode, stale.body).toBe(410);
  expect(stale.json().code).toBe('invitation_revoked');
  const joined = await accept({ token: await mailedTokenOf(later), password: GOOD_PASSWORD });
  expect(joined.statusCode, joined.body).toBe(201);
  expect(joined.json().role).toBe('manager');
});

// POST /api/orgs/current/users for an address with an account elsewhere sends an invitation
// (src/orgs/org-users.ts). It locks the address's invitations before it writes anything; an invite
// of that address takes the address lock, then updates those invitations. Unless the creation
// takes the address lock before those row locks too, each holds what the other waits for.
it('an admin creates the account of an address while it is invited: one after the other, no deadlock', async () => {
  const a = await team(t, 'Create-user invite race');
  const email = uniqueEmail('has-an-account');
  await createUser(t.database, { email });
  const before = await invite(a.admin, email);
  const held = await openAct();
  // The creation stops as it tries the new account, the address's invitations locked.
  await held.q('LOCK TABLE users IN SHARE MODE');
  let created: ReturnType<typeof send> | undefined;
  let invited: ReturnType<typeof send> | undefined;
  try {
    created = createUserAs(a.owner, email);
    expect(await someoneWaitsForALock(created)).toBe('waiting');
    invited = inviteAs(a.admin, email, 'manager');
    expect(await someoneWaitsForALock(invited, 2)).toBe('waiting');
  } finally {
    await held.rollback();
  }
  const [cre, inv] = await Promise.all([created, invited]);
  // Deadlocked, one of them was answered 503 database_busy.
  expect(cre.statusCode, cre.body).toBe(202);
  expect(inv.statusCode, inv.body).toBe(201);
  const open = await openInvitations(a.org.id, email);
  expect(open.map((i) => i.id)).toEqual([inv.json().id]);
  const counts = await replacedCounts(a.org.id);
  // The first invitation, the creation's (it replaced that one), the invite's (it replaced the
  // creation's).
  expect(Object.values(counts)).toEqual([0, 1, 1]);
  expect(counts[before.id]).toBe(0);
  expect(counts[inv.json().id]).toBe(1);
});

it('an invitation written beside the address lock: the invite answers 409 conflict, not 500', async () => {
  const a = await team(t, 'Unlocked writer race');
  const email = uniqueEmail('written-beside');
  const bypass: Act = async (q) => {
    await q(
      `INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, expires_at)
       VALUES ($1, $2, $3, 'member', $4, $5, now() + interval '1 day')`,
      [newId(), a.org.id, email, hashToken(generateToken(32)), a.owner.user.id],
    );
  };
  // The invite's insert waits on the other row's unique check, which fails once it commits.
  const res = await during(bypass, () => inviteAs(a.admin, email));
  expect(res.statusCode, res.body).toBe(409);
  expect(res.json()).toMatchObject({ code: 'conflict', status: 409 });
  expect(await openInvitations(a.org.id, email)).toHaveLength(1);
});
