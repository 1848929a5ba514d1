// Acts that grant or take away access are judged by the role the caller holds now, not the one
// their access token claims. A demotion or removal made on one instance reaches another's
// revocation list only at its next poll (REVOCATION_POLL_MS); within that window a demoted owner's
// token on the other instance could grant owner, restore its own role, remove members, invite
// beyond its new role or change the org's policy. Two instances over one database, no waiting.
import { describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { twoAppsForFile } from '../test/app.ts';
import { createOrg } from '../test/factories.ts';
import { person, removeMember, setRole } from '../test/org-helpers.ts';

const [one, two] = twoAppsForFile();

/** POST /api/orgs/current/invitations on instance two, and whether a row was written for it. */
async function inviteOnTwo(by: { headers: Record<string, string> }, email: string, role: string) {
  const res = await two.app.inject({
    method: 'POST',
    url: '/api/orgs/current/invitations',
    headers: by.headers,
    payload: { email, role },
  });
  const written = await withSystem(one.database, (tx) =>
    tx.selectFrom('invitations').select('id').where('email', '=', email).execute(),
  );
  return { res, written: written.length };
}

const roleOf = async (orgId: string, userId: string) =>
  (
    await withSystem(one.database, (tx) =>
      tx
        .selectFrom('memberships')
        .select(['role', 'status'])
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .executeTakeFirst(),
    )
  )?.role;

describe('a role taken away on one instance grants nothing on another', () => {
  it('a demoted owner can neither make an owner nor restore their own role', async () => {
    const org = await createOrg(one.database, 'Stale Co');
    const o1 = await person(one, org, 'owner', 'o1');
    const o2 = await person(one, org, 'owner', 'o2');
    const m = await person(one, org, 'member', 'm');
    expect((await setRole(one.app, o2, o1, 'admin')).statusCode).toBe(200);

    // o1's token still says owner on instance two (its revocation poll has not run).
    const promote = await setRole(two.app, o1, m, 'owner');
    expect(promote.statusCode, promote.body).toBe(403);
    const restore = await setRole(two.app, o1, o1, 'owner');
    expect(restore.statusCode, restore.body).toBe(403);
    expect(await roleOf(org.id, m.user.id)).toBe('member');
    expect(await roleOf(org.id, o1.user.id)).toBe('admin');
  });

  it('a removed admin can no longer remove, invite or change the settings', async () => {
    const org = await createOrg(one.database, 'Removed Co');
    const owner = await person(one, org, 'owner', 'owner');
    const admin = await person(one, org, 'admin', 'admin');
    const m = await person(one, org, 'member', 'm2');
    expect((await removeMember(one.app, owner, admin)).statusCode).toBe(204);

    expect((await removeMember(two.app, admin, m)).statusCode).toBe(403);
    expect(await roleOf(org.id, m.user.id)).toBe('member');
    const invite = await inviteOnTwo(admin, 'late-invite@example.com', 'member');
    expect(invite.res.statusCode, invite.res.body).toBe(403);
    expect(invite.written).toBe(0);
    const settings = await two.app.inject({
      method: 'PATCH',
      url: '/api/orgs/current',
      headers: admin.headers,
      payload: { name: 'Taken over' },
    });
    expect(settings.statusCode, settings.body).toBe(403);
    const name = await withSystem(one.database, (tx) =>
      tx.selectFrom('orgs').select('name').where('id', '=', org.id).executeTakeFirstOrThrow(),
    );
    expect(name.name).toBe('Removed Co');
  });

  it('a demoted admin cannot invite at the role they lost', async () => {
    const org = await createOrg(one.database, 'Demoted Co');
    const owner = await person(one, org, 'owner', 'owner3');
    const admin = await person(one, org, 'admin', 'admin3');
    expect((await setRole(one.app, owner, admin, 'member')).statusCode).toBe(200);
    const invite = await inviteOnTwo(admin, 'admin-invite@example.com', 'admin');
    expect(invite.res.statusCode, invite.res.body).toBe(403);
    expect(invite.written).toBe(0);
  });

  it('a demoted admin cannot revoke the invitations they may no longer manage', async () => {
    const org = await createOrg(one.database, 'Revoke Co');
    const owner = await person(one, org, 'owner', 'owner4');
    const admin = await person(one, org, 'admin', 'admin4');
    const sent = await one.app.inject({
      method: 'POST',
      url: '/api/orgs/current/invitations',
      headers: owner.headers,
      payload: { email: 'kept-invite@example.com', role: 'member' },
    });
    expect(sent.statusCode, sent.body).toBe(201);
    expect((await setRole(one.app, owner, admin, 'member')).statusCode).toBe(200);
    const revoke = await two.app.inject({
      method: 'DELETE',
      url: `/api/orgs/current/invitations/${sent.json().id}`,
      headers: admin.headers,
    });
    expect(revoke.statusCode, revoke.body).toBe(403);
    const row = await withSystem(one.database, (tx) =>
      tx
        .selectFrom('invitations')
        .select('revoked_at')
        .where('id', '=', sent.json().id)
        .executeTakeFirstOrThrow(),
    );
    expect(row.revoked_at).toBeNull();
  });
});
