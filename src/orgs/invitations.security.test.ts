// An invitation carries its inviter's authority: it must not outlive it. Demoting or removing a
// member, or disabling their account, revokes their pending invitations that their new standing
// could not grant (in the same transaction, audited); and acceptance re-checks that the inviter is
// still an active member who may grant the role, so an invitation that slipped past (a change made
// some other way) is refused and made unusable for good.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { type CapturingMailer, capturingMailer } from '../test/mfa-helpers.ts';
import { ADMIN_ENV, auditOf, type Person, person, superuser, team } from '../test/org-helpers.ts';

let t: TestApp;
let mailer: CapturingMailer;
beforeAll(async () => {
  mailer = capturingMailer();
  t = await buildTestApp({ env: { ...ADMIN_ENV }, deps: { mailer } });
});
afterAll(() => t.close());

/** Invites `email` as `role`; answers the invitation id and the mailed token. */
async function invite(by: Person, role: string, email = uniqueEmail('invitee')) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/orgs/current/invitations',
    headers: by.headers,
    payload: { email, role },
  });
  expect(res.statusCode, res.body).toBe(201);
  const mails = mailer.to(email);
  const token = /accept-invite\?token=([A-Za-z0-9_-]+)/.exec(mails[mails.length - 1]!.text)?.[1];
  expect(token).toBeTruthy();
  return { id: res.json().id as string, email, token: token as string };
}

const accept = (token: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/invitations/accept',
    payload: { token, password: GOOD_PASSWORD },
  });

const setRole = (by: Person, target: Person, role: string) =>
  t.app.inject({
    method: 'PATCH',
    url: `/api/orgs/current/members/${target.user.id}`,
    headers: by.headers,
    payload: { role },
  });

const invitationRow = (id: string) =>
  withSystem(t.database, (tx) =>
    tx.selectFrom('invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
  );

describe('demotion and removal revoke what the inviter can no longer grant', () => {
  it('an admin demoted to member: every pending invitation of theirs is revoked and audited', async () => {
    const a = await team(t);
    const invs = [
      await invite(a.admin, 'admin'),
      await invite(a.admin, 'manager'),
      await invite(a.admin, 'member'),
    ];
    const others = await invite(a.owner, 'admin');

    const res = await setRole(a.owner, a.admin, 'member');
    expect(res.statusCode).toBe(200);

    for (const inv of invs) {
      const r = await accept(inv.token);
      expect(r.statusCode, inv.id).toBe(410);
      expect(r.json().code, inv.id).toBe('invitation_revoked');
      expect((await invitationRow(inv.id)).revoked_by).toBe(a.owner.user.id);
    }
    // Someone else's invitations are untouched.
    expect((await accept(others.token)).statusCode).toBe(201);

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
    const asOwner = await invite(second, 'owner');
    const asAdmin = await invite(second, 'admin');
    expect((await setRole(a.owner, second, 'admin')).statusCode).toBe(200);
    expect((await accept(asOwner.token)).json().code).toBe('invitation_revoked');
    const ok = await accept(asAdmin.token);
    expect(ok.statusCode).toBe(201);
    expect(ok.json().role).toBe('admin');
  });

  it('a removed admin: every pending invitation of theirs is revoked, in the removal', async () => {
    const a = await team(t);
    const inv = await invite(a.admin, 'admin');
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/orgs/current/members/${a.admin.user.id}`,
      headers: a.owner.headers,
    });
    expect(removed.statusCode).toBe(204);
    expect((await accept(inv.token)).json().code).toBe('invitation_revoked');
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
    const inA = await invite(a.admin, 'admin');
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
    expect((await accept(inA.token)).json().code).toBe('invitation_revoked');
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
    const inv = await invite(a.admin, 'admin');
    expect((await setRole(second, a.admin, 'owner')).statusCode).toBe(200);
    expect((await accept(inv.token)).statusCode).toBe(201);
  });
});

describe('acceptance re-checks the inviter', () => {
  /** Changes the inviter behind the services' back, as data from before this rule would be. */
  const direct = (fn: Parameters<typeof withSystem>[1]) => withSystem(t.database, fn);

  it('an inviter demoted some other way: refused, and the link stays dead after a re-promotion', async () => {
    const a = await team(t);
    const inv = await invite(a.admin, 'admin');
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
    const refused = await accept(inv.token);
    expect(refused.statusCode).toBe(410);
    expect(refused.json().code).toBe('invitation_authority_lost');
    expect(
      await withSystem(t.database, (tx) =>
        tx.selectFrom('users').select('id').where('email', '=', inv.email).executeTakeFirst(),
      ),
    ).toBeUndefined();
    // Unusable for good: the inviter's later return does not bring the link back.
    await setAdminRole('admin');
    const again = await accept(inv.token);
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
    const byRemoved = await invite(a.admin, 'member');
    const byDisabled = await invite(a.owner, 'member');
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
      const r = await accept(inv.token);
      expect(r.statusCode, inv.id).toBe(410);
      expect(r.json().code, inv.id).toBe('invitation_authority_lost');
    }
  });
});
