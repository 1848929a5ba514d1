// A credential written while a removal, role change, disable or suspension of its holder is
// under way: on PostgreSQL (one pool, real row locks) the act holds its locks in a transaction
// of its own while the request runs into them; once the act commits, the request must see it.
// Before the locks of src/access/standing.ts, each of these answered 2xx and left a session, a
// key or an account the act never ended. Runs only with DATABASE_URL (PGlite runs one
// transaction at a time, so nothing can interleave there).
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../auth/password.ts';
import { PASSWORD_BOUND_PURPOSES } from '../auth/password-reset.ts';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, LIVEKIT_ENV, type TestApp } from '../test/app.ts';
import { bearer, GOOD_PASSWORD, loginUser } from '../test/auth-helpers.ts';
import { addMember, createOrg } from '../test/factories.ts';
import { enrolMfa } from '../test/mfa-helpers.ts';
import { person, team } from '../test/org-helpers.ts';
import { pgRaces, type Query } from '../test/pg-race.ts';
import { findUserById, setPasswordHash } from '../users/user.repository.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ env: LIVEKIT_ENV });
});
afterAll(() => t?.close());

const { during } = pgRaces(() => t);

const removal = (orgId: string, userId: string) => async (q: Query) => {
  await q('SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE', [orgId]);
  await q(`UPDATE memberships SET status = 'deactivated' WHERE org_id = $1 AND user_id = $2`, [
    orgId,
    userId,
  ]);
};

// The act as changePassword and resetPassword run it: the new hash, the sessions ended.
const newPassword = (userId: string) => async (q: Query) => {
  await q(`UPDATE users SET password_hash = 'changed' WHERE id = $1`, [userId]);
  await q(`UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [
    userId,
  ]);
};

const disable = (userId: string) => async (q: Query) => {
  await q(`UPDATE users SET status = 'disabled' WHERE id = $1`, [userId]);
};

describe('a login', () => {
  it('racing its removal from the org opens no session', async () => {
    const a = await team(t, 'Login race');
    const p = await person(t, a.org, 'member', 'login-removed');
    const res = await during(removal(a.org.id, p.user.id), () =>
      loginUser(t.app, p.email, GOOD_PASSWORD),
    );
    expect(res.statusCode, res.body).toBe(403);
  });

  it('racing the account disable opens no session', async () => {
    const a = await team(t, 'Login disable race');
    const p = await person(t, a.org, 'member', 'login-disabled');
    const res = await during(disable(p.user.id), () => loginUser(t.app, p.email, GOOD_PASSWORD));
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe('account_disabled');
  });
});

describe('a login racing a password change or reset', () => {
  const liveSessions = async (userId: string) =>
    (
      await withSystem(t.database, (tx) =>
        tx
          .selectFrom('sessions')
          .select('id')
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .execute(),
      )
    ).length;

  it('opens no session with the password checked before the change', async () => {
    const a = await team(t, 'Login password race');
    const p = await person(t, a.org, 'member', 'login-password');
    const res = await during(newPassword(p.user.id), () =>
      loginUser(t.app, p.email, GOOD_PASSWORD),
    );
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json().code).toBe('invalid_credentials');
    expect(await liveSessions(p.user.id)).toBe(0);
    const refused = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select('metadata')
        .where('actor_user_id', '=', p.user.id)
        .where('action', '=', 'auth.login')
        .where('outcome', '=', 'failure')
        .execute(),
    );
    expect(refused.map((r) => r.metadata)).toEqual([{ reason: 'password_changed' }]);
  });

  it('hands out no MFA step for the password checked before the change', async () => {
    const a = await team(t, 'MFA password race');
    const p = await person(t, a.org, 'member', 'mfa-password');
    await enrolMfa(t.app, p);
    const changeAndRetire = async (q: Query) => {
      await newPassword(p.user.id)(q);
      // What a change or reset retires with the password (src/auth/password-change.ts).
      await q(
        `UPDATE user_tokens SET used_at = now()
          WHERE user_id = $1 AND purpose = ANY($2) AND used_at IS NULL`,
        [p.user.id, [...PASSWORD_BOUND_PURPOSES]],
      );
    };
    const res = await during(changeAndRetire, () => loginUser(t.app, p.email, GOOD_PASSWORD));
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json().code).toBe('invalid_credentials');
    const pending = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('user_tokens')
        .select('id')
        .where('user_id', '=', p.user.id)
        .where('purpose', '=', 'mfa_login')
        .where('used_at', 'is', null)
        .execute(),
    );
    expect(pending).toEqual([]);
  });

  it("never upgrades the old password's hash over the new one", async () => {
    const a = await team(t, 'Rehash race');
    const p = await person(t, a.org, 'member', 'login-rehash');
    // A hash made at other parameters than the configured ones: the login upgrades it.
    const older = await hashPassword(GOOD_PASSWORD, { ...t.config.auth.argon2, timeCost: 2 });
    await withSystem(t.database, (tx) => setPasswordHash(tx, p.user.id, older));
    const res = await during(newPassword(p.user.id), () =>
      loginUser(t.app, p.email, GOOD_PASSWORD),
    );
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json().code).toBe('invalid_credentials');
    expect(await liveSessions(p.user.id)).toBe(0);
    const stored = await withSystem(t.database, (tx) => findUserById(tx, p.user.id));
    expect(stored?.password_hash).toBe('changed');
  });
});

describe('a password change racing a reset (or another change)', () => {
  it('checked against the password before it, changes nothing: the reset stays', async () => {
    // A thief's session changes the password while the owner's reset (which ends every session)
    // commits: the change's old-password proof was against the password the reset replaced.
    const a = await team(t, 'Change vs reset');
    const p = await person(t, a.org, 'member', 'change-reset');
    const res = await during(newPassword(p.user.id), () =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/password/change',
        headers: p.headers,
        payload: { current_password: GOOD_PASSWORD, new_password: 'a thief chose this one 42' },
      }),
    );
    expect(res.statusCode, res.body).toBe(401);
    const stored = await withSystem(t.database, (tx) => findUserById(tx, p.user.id));
    expect(stored?.password_hash).toBe('changed');
  });
});

describe('an act on the own second factor racing a reset', () => {
  it('MFA disabled from a session the reset ended: refused, MFA stays on', async () => {
    const a = await team(t, 'Disable vs reset');
    const p = await person(t, a.org, 'member', 'disable-reset');
    const { backupCodes } = await enrolMfa(t.app, p);
    const res = await during(newPassword(p.user.id), () =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/mfa/disable',
        headers: p.headers,
        payload: { password: GOOD_PASSWORD, code: backupCodes[0] },
      }),
    );
    expect(res.statusCode, res.body).toBe(401);
    const stored = await withSystem(t.database, (tx) => findUserById(tx, p.user.id));
    expect(stored?.mfa_enabled_at).not.toBeNull();
  });
});

describe('logging out everywhere', () => {
  it('racing a switch-org of another device ends the session the switch opens too', async () => {
    // Device B switches orgs (a new session C in place of B) while device A logs out everywhere:
    // the logout's UPDATE waited on B, found it ended, and never saw C, which stayed live.
    const a = await team(t, 'Logout-all vs switch');
    const p = await person(t, a.org, 'member', 'logout-switch');
    const deviceB = await loginUser(t.app, p.email, GOOD_PASSWORD);
    const { sid: sessionB } = decodeJwt(deviceB.json().access_token) as { sid: string };
    const other = await createOrg(t.database, 'Switch during logout-all');
    await addMember(t.database, other, p.user, 'member');
    const sessionC = newId();
    // The switch as switch-org.ts runs it: the account share-locked, B locked, C inserted…
    const switchB = async (q: Query) => {
      await q('SELECT 1 FROM users WHERE id = $1 FOR SHARE', [p.user.id]);
      await q('SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [sessionB]);
      await q(
        `INSERT INTO sessions (id, user_id, org_id, amr, expires_at)
           VALUES ($1, $2, $3, '["pwd"]', now() + interval '1 hour')`,
        [sessionC, p.user.id, other.id],
      );
    };
    // …and B ended, then the commit.
    const endB = async (q: Query) => {
      await q(
        `UPDATE sessions SET revoked_at = now(), revoked_reason = 'switched_org' WHERE id = $1`,
        [sessionB],
      );
    };
    const res = await during(
      switchB,
      () => t.app.inject({ method: 'POST', url: '/api/auth/logout-all', headers: p.headers }),
      endB,
    );
    expect(res.statusCode, res.body).toBe(204);
    const live = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', p.user.id)
        .where('revoked_at', 'is', null)
        .execute(),
    );
    expect(live).toEqual([]);
  });
});

describe('switching into an org', () => {
  it('racing the removal from it opens no session there', async () => {
    const a = await team(t, 'Switch home');
    const other = await createOrg(t.database, 'Switch target');
    await addMember(t.database, other, a.member.user, 'member');
    const res = await during(removal(other.id, a.member.user.id), () =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/switch-org',
        headers: a.member.headers,
        payload: { org_id: other.id },
      }),
    );
    expect(res.statusCode, res.body).toBe(403);
  });

  it('racing the end of the login it switches (a logout, another switch) opens no session', async () => {
    // The session the switch replaces ends while the switch runs: a logout in another tab, or a
    // second switch-org sent with the same token. The switch had read the session unlocked,
    // found it live and opened its successor: a login that was logged out went on, and two
    // concurrent switches forked one login into two.
    const a = await team(t, 'Switch from ended');
    const other = await createOrg(t.database, 'Switch target 2');
    await addMember(t.database, other, a.member.user, 'member');
    const { sid } = decodeJwt(a.member.access) as { sid: string };
    const logout = async (q: Query) => {
      await q(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE id = $1`, [
        sid,
      ]);
    };
    const res = await during(logout, () =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/switch-org',
        headers: a.member.headers,
        payload: { org_id: other.id },
      }),
    );
    expect(res.statusCode, res.body).toBe(401);
    const live = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', a.member.user.id)
        .where('revoked_at', 'is', null)
        .execute(),
    );
    expect(live).toEqual([]);
  });
});

describe('an admin', () => {
  it('being disabled creates no API key', async () => {
    const a = await team(t, 'Key race');
    const res = await during(disable(a.admin.user.id), () =>
      t.app.inject({
        method: 'POST',
        url: '/api/api-keys',
        headers: a.admin.headers,
        payload: { name: 'racing', scopes: ['prompts:read'] },
      }),
    );
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe('account_disabled');
  });

  it('being demoted creates no account with a role it no longer holds', async () => {
    const a = await team(t, 'Create-user race');
    const demote = async (q: Query) => {
      await q('SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE', [a.org.id]);
      await q(`UPDATE memberships SET role = 'member' WHERE org_id = $1 AND user_id = $2`, [
        a.org.id,
        a.admin.user.id,
      ]);
    };
    const res = await during(demote, () =>
      t.app.inject({
        method: 'POST',
        url: '/api/orgs/current/users',
        headers: bearer(a.admin.access),
        payload: { email: `racing-${Date.now()}@example.test`, role: 'manager' },
      }),
    );
    expect(res.statusCode, res.body).toBe(403);
  });
});

describe('a LiveKit room token', () => {
  it('asked for while the org is being suspended is refused', async () => {
    const a = await team(t, 'Token race');
    const suspend = async (q: Query) => {
      await q('SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE', [a.org.id]);
      await q(
        `UPDATE orgs SET suspended_at = now(), suspension_kind = 'suspension',
           suspended_reason = 'race' WHERE id = $1`,
        [a.org.id],
      );
    };
    const res = await during(suspend, () =>
      t.app.inject({
        method: 'POST',
        url: '/api/livekit/token',
        headers: a.member.headers,
        payload: { room_name: 'standup' },
      }),
    );
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe('org_suspended');
  });
});
