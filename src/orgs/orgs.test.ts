// Orgs over HTTP: listing and creating orgs, switching between them, the current org's settings,
// members (roles, removal, the last-owner rule) and what each leaves in the audit log.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, cookieHeader, cookiesFrom } from '../test/auth-helpers.ts';
import { addMember, createOrg } from '../test/factories.ts';
import { auditOf, logIn, person, removeMember, setRole, team } from '../test/org-helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const get = (url: string, headers: Record<string, string>) =>
  t.app.inject({ method: 'GET', url, headers });
const send = (
  method: 'POST' | 'PATCH' | 'DELETE',
  url: string,
  headers: object,
  payload?: object,
) => t.app.inject({ method, url, headers: headers as Record<string, string>, payload });

describe('GET/POST /api/orgs', () => {
  it('lists the caller’s active memberships with role and the current one marked', async () => {
    const a = await team(t);
    const other = await createOrg(t.database, 'Second Co');
    await addMember(t.database, other, a.member.user, 'admin');
    const res = await get('/api/orgs', a.member.headers);
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { id: string; role: string; current: boolean }[];
    expect(items).toHaveLength(2);
    expect(items.find((i) => i.id === a.org.id)).toMatchObject({ role: 'member', current: true });
    expect(items.find((i) => i.id === other.id)).toMatchObject({ role: 'admin', current: false });
  });

  it('creates an org owned by the caller, audited there', async () => {
    const a = await team(t);
    const res = await send('POST', '/api/orgs', a.member.headers, { name: '  Side Project ' });
    expect(res.statusCode).toBe(201);
    const org = res.json();
    expect(org).toMatchObject({
      name: 'Side Project',
      kind: 'company',
      settings: { mfa_required_roles: [], allowed_email_domains: [] },
    });
    const list = (await get('/api/orgs', a.member.headers)).json().items;
    expect(list.find((i: { id: string }) => i.id === org.id)).toMatchObject({ role: 'owner' });
    const trail = await auditOf(t.database, org.id);
    expect(trail.map((e) => [e.action, e.actor_user_id, e.actor_type])).toContainEqual([
      'org.create',
      a.member.user.id,
      'user',
    ]);
  });

  it('rejects a blank or oversized name and unknown fields', async () => {
    const a = await team(t);
    for (const payload of [
      { name: '   ' },
      { name: 'x'.repeat(201) },
      { name: 'X', kind: 'personal' },
    ]) {
      const res = await send('POST', '/api/orgs', a.owner.headers, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
  });
});

describe('POST /api/auth/switch-org', () => {
  it('answers tokens for the target org with the role held there; the old session ends', async () => {
    const a = await team(t);
    const b = await createOrg(t.database, 'Other Org');
    await addMember(t.database, b, a.manager.user, 'admin');
    const res = await send('POST', '/api/auth/switch-org', a.manager.headers, { org_id: b.id });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ org: { id: b.id }, role: 'admin', token_type: 'bearer' });
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ org: b.id, role: 'admin', sub: a.manager.user.id });

    const me = await get('/api/users/me', bearer(body.access_token));
    expect(me.json()).toMatchObject({ org: { id: b.id }, role: 'admin' });
    // The previous session (and its access token) ended at once.
    expect((await get('/api/users/me', a.manager.headers)).statusCode).toBe(401);
    const oldRefresh = await send(
      'POST',
      '/api/auth/refresh',
      {},
      {
        refresh_token: a.manager.refresh,
      },
    );
    expect(oldRefresh.statusCode).toBe(401);
    // The new refresh token stays in the new org.
    const refreshed = await send(
      'POST',
      '/api/auth/refresh',
      {},
      {
        refresh_token: body.refresh_token,
      },
    );
    expect(refreshed.statusCode).toBe(200);
    expect(decodeJwt(refreshed.json().access_token)).toMatchObject({ org: b.id, role: 'admin' });
    // Switching never extends the login: the new session keeps the old absolute expiry.
    const sessions = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('sessions')
        .select(['id', 'org_id', 'expires_at', 'revoked_reason'])
        .where('user_id', '=', a.manager.user.id)
        .orderBy('created_at')
        .execute(),
    );
    expect(sessions).toHaveLength(2);
    expect(sessions[0]!.revoked_reason).toBe('switched_org');
    expect(sessions[1]!.expires_at.getTime()).toBe(sessions[0]!.expires_at.getTime());
    const trail = await auditOf(t.database, b.id);
    expect(
      trail.some((e) => e.action === 'auth.switch_org' && e.actor_user_id === a.manager.user.id),
    ).toBe(true);
  });

  it('is 403 for an org the caller is not (or no longer) an active member of', async () => {
    const a = await team(t);
    const b = await team(t, 'Foreign');
    const res = await send('POST', '/api/auth/switch-org', a.owner.headers, { org_id: b.org.id });
    expect(res.statusCode).toBe(403);
    const c = await createOrg(t.database, 'Left Co');
    await addMember(t.database, c, a.owner.user, 'member');
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('memberships')
        .set({ status: 'deactivated' })
        .where('org_id', '=', c.id)
        .where('user_id', '=', a.owner.user.id)
        .execute(),
    );
    const again = await send('POST', '/api/auth/switch-org', a.owner.headers, { org_id: c.id });
    expect(again.statusCode).toBe(403);
    const unknown = await send('POST', '/api/auth/switch-org', a.owner.headers, {
      org_id: '01936b2e-0000-7000-8000-000000000000',
    });
    expect(unknown.statusCode).toBe(403);
    // The failed attempts ended nothing.
    expect((await get('/api/users/me', a.owner.headers)).statusCode).toBe(200);
  });

  it('with cookies: needs the CSRF header and answers fresh cookies', async () => {
    const a = await team(t);
    const b = await createOrg(t.database, 'Cookie Co');
    await addMember(t.database, b, a.admin.user, 'member');
    const login = await logIn(t.app, a.admin.email);
    const cookies = cookiesFrom(login.res);
    const noCsrf = await send(
      'POST',
      '/api/auth/switch-org',
      { cookie: cookieHeader(cookies) },
      {
        org_id: b.id,
      },
    );
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().code).toBe('csrf_failed');
    const ok = await send(
      'POST',
      '/api/auth/switch-org',
      { cookie: cookieHeader(cookies), 'x-csrf-token': cookies.sb_csrf! },
      { org_id: b.id },
    );
    expect(ok.statusCode).toBe(200);
    const fresh = cookiesFrom(ok);
    expect(decodeJwt(fresh.sb_access!)).toMatchObject({ org: b.id, role: 'member' });
    // A new session, with a CSRF token of its own: the old session's is refused with it.
    expect(fresh.sb_csrf).toBeDefined();
    expect(fresh.sb_csrf).not.toBe(cookies.sb_csrf);
    const jar = { ...cookies, ...fresh };
    const prompt = { name: 'After the switch', content: 'Hello' };
    const stale = await send(
      'POST',
      '/api/prompts',
      {
        cookie: cookieHeader({ ...jar, sb_csrf: cookies.sb_csrf! }),
        'x-csrf-token': cookies.sb_csrf!,
      },
      prompt,
    );
    expect(stale.statusCode).toBe(403);
    expect(stale.json().code).toBe('csrf_failed');
    const write = await send(
      'POST',
      '/api/prompts',
      { cookie: cookieHeader(jar), 'x-csrf-token': fresh.sb_csrf! },
      prompt,
    );
    expect(write.statusCode, write.body).toBe(201);
    expect(write.json().org_id).toBe(b.id);
  });
});

describe('GET/PATCH /api/orgs/current', () => {
  it('everyone reads it; owners and admins change name and policy settings', async () => {
    const a = await team(t);
    const read = await get('/api/orgs/current', a.member.headers);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id: a.org.id, name: 'Acme Voice' });

    const patch = {
      name: 'Acme Voice Ltd',
      settings: {
        mfa_required_roles: ['admin', 'owner'],
        allowed_email_domains: ['Acme.example', 'xn--bcher-kva.example'],
      },
    };
    for (const p of [a.manager, a.member]) {
      const denied = await send('PATCH', '/api/orgs/current', p.headers, patch);
      expect(denied.statusCode).toBe(403);
    }
    const res = await send('PATCH', '/api/orgs/current', a.admin.headers, patch);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'Acme Voice Ltd',
      settings: {
        mfa_required_roles: ['owner', 'admin'],
        allowed_email_domains: ['acme.example', 'xn--bcher-kva.example'],
      },
    });
    // Stored under the exact key the MFA policy reads.
    const stored = await withSystem(t.database, (tx) =>
      tx.selectFrom('orgs').select('settings').where('id', '=', a.org.id).executeTakeFirstOrThrow(),
    );
    expect(stored.settings.mfa_required_roles).toEqual(['owner', 'admin']);
    // A partial settings patch leaves the other setting as it was.
    const partial = await send('PATCH', '/api/orgs/current', a.owner.headers, {
      settings: { mfa_required_roles: [] },
    });
    expect(partial.json().settings).toEqual({
      mfa_required_roles: [],
      allowed_email_domains: ['acme.example', 'xn--bcher-kva.example'],
    });
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.filter((e) => e.action === 'org.update').map((e) => e.actor_user_id)).toEqual([
      a.admin.user.id,
      a.owner.user.id,
    ]);
  });

  it('rejects unknown roles, bad domains, unknown settings and empty patches', async () => {
    const a = await team(t);
    for (const payload of [
      { settings: { mfa_required_roles: ['root'] } },
      { settings: { mfa_required_roles: ['owner', 'owner'] } },
      { settings: { allowed_email_domains: ['not a domain'] } },
      { settings: { allowed_email_domains: ['@acme.example'] } },
      { settings: { allowed_email_domains: ['localhost'] } },
      { settings: { signup: true } },
      { id: a.org.id },
      {},
    ]) {
      const res = await send('PATCH', '/api/orgs/current', a.owner.headers, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });
});

describe('members', () => {
  it('everyone in the org lists its members; nobody sees another org’s', async () => {
    const a = await team(t);
    const b = await team(t, 'Foreign');
    const res = await get('/api/orgs/current/members', a.member.headers);
    expect(res.statusCode).toBe(200);
    const ids = res.json().items.map((m: { user_id: string }) => m.user_id);
    expect(ids.sort()).toEqual(
      [a.owner, a.admin, a.manager, a.member].map((p) => p.user.id).sort(),
    );
    expect(ids).not.toContain(b.owner.user.id);
    const paged = await get('/api/orgs/current/members?limit=3', a.member.headers);
    expect(paged.json().items).toHaveLength(3);
    const next = await get(
      `/api/orgs/current/members?limit=3&cursor=${paged.json().next_cursor}`,
      a.member.headers,
    );
    expect(next.json()).toMatchObject({ next_cursor: null });
    expect(next.json().items).toHaveLength(1);
  });

  it('a role change applies at once: the member’s sessions in that org end', async () => {
    const a = await team(t);
    const res = await setRole(t.app, a.admin, a.member, 'manager');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      user_id: a.member.user.id,
      role: 'manager',
      status: 'active',
    });
    expect((await get('/api/users/me', a.member.headers)).statusCode).toBe(401);
    const relog = await logIn(t.app, a.member.email);
    expect(decodeJwt(relog.access)).toMatchObject({ role: 'manager' });
    const trail = await auditOf(t.database, a.org.id);
    const entry = trail.find((e) => e.action === 'member.role_change');
    expect(entry).toMatchObject({
      actor_user_id: a.admin.user.id,
      actor_type: 'user',
      target_id: a.member.user.id,
      metadata: { from: 'member', to: 'manager', sessions_ended: 1 },
    });
  });

  it('removal deactivates the membership and ends the user’s sessions in this org only, at once', async () => {
    const a = await team(t);
    const elsewhere = await createOrg(t.database, 'Elsewhere');
    await addMember(t.database, elsewhere, a.manager.user, 'member');
    // A second session, in the other org.
    const second = await logIn(t.app, a.manager.email);
    const switched = await send('POST', '/api/auth/switch-org', bearer(second.access), {
      org_id: elsewhere.id,
    });
    expect(switched.statusCode).toBe(200);
    const elsewhereToken = switched.json().access_token as string;

    const res = await removeMember(t.app, a.owner, a.manager);
    expect(res.statusCode).toBe(204);
    // Access token and refresh token of the session in this org: dead at once.
    expect((await get('/api/users/me', a.manager.headers)).statusCode).toBe(401);
    const refresh = await send(
      'POST',
      '/api/auth/refresh',
      {},
      { refresh_token: a.manager.refresh },
    );
    expect(refresh.statusCode).toBe(401);
    // The session in the other org lives on.
    expect((await get('/api/users/me', bearer(elsewhereToken))).statusCode).toBe(200);
    // Soft: the membership is kept, deactivated; switching back is refused.
    const list = await get('/api/orgs/current/members?status=deactivated', a.owner.headers);
    expect(list.json().items).toEqual([
      expect.objectContaining({ user_id: a.manager.user.id, status: 'deactivated' }),
    ]);
    const back = await send('POST', '/api/auth/switch-org', bearer(elsewhereToken), {
      org_id: a.org.id,
    });
    expect(back.statusCode).toBe(403);
    // Removing again: no such active member.
    const again = await removeMember(t.app, a.owner, a.manager);
    expect(again.statusCode).toBe(404);
    const trail = await auditOf(t.database, a.org.id);
    expect(trail.find((e) => e.action === 'member.remove')).toMatchObject({
      actor_user_id: a.owner.user.id,
      actor_type: 'user',
      target_type: 'user',
      target_id: a.manager.user.id,
      outcome: 'success',
    });
  });

  it('a removed member is refused by another instance within one revocation poll', async () => {
    const a = await team(t);
    const second = await buildTestApp({
      database: t.database,
      env: { REVOCATION_POLL_MS: '200' },
    });
    try {
      expect(
        (await second.app.inject({ url: '/api/users/me', headers: a.member.headers })).statusCode,
      ).toBe(200);
      const res = await removeMember(t.app, a.admin, a.member);
      expect(res.statusCode).toBe(204);
      let status = 200;
      for (let i = 0; i < 50 && status === 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await second.app.inject({ url: '/api/users/me', headers: a.member.headers }))
          .statusCode;
      }
      expect(status).toBe(401);
    } finally {
      await second.close();
    }
  });
});

describe('owners are protected', () => {
  const activeOwners = (orgId: string) =>
    withSystem(t.database, (tx) =>
      tx
        .selectFrom('memberships')
        .select('user_id')
        .where('org_id', '=', orgId)
        .where('role', '=', 'owner')
        .where('status', '=', 'active')
        .execute(),
    );

  it('only an owner may grant owner, demote or remove an owner', async () => {
    const a = await team(t);
    const second = await person(t, a.org, 'owner', 'owner2');
    const url = `/api/orgs/current/members/${second.user.id}`;
    const promote = await setRole(t.app, a.admin, a.member, 'owner');
    expect(promote.statusCode).toBe(403);
    expect(promote.json().code).toBe('role_above_caller');
    const demote = await send('PATCH', url, a.admin.headers, { role: 'member' });
    expect(demote.statusCode).toBe(403);
    expect(demote.json().code).toBe('owner_required');
    const remove = await send('DELETE', url, a.admin.headers);
    expect(remove.statusCode).toBe(403);
    expect(remove.json().code).toBe('owner_required');
    for (const p of [a.manager, a.member]) {
      expect((await send('DELETE', url, p.headers)).statusCode).toBe(403);
      expect((await send('PATCH', url, p.headers, { role: 'member' })).statusCode).toBe(403);
    }
    // An owner may, while another owner remains.
    expect((await send('PATCH', url, a.owner.headers, { role: 'admin' })).statusCode).toBe(200);
  });

  /** The owner tries to step down, then to leave: both refused as the last owner (409). */
  async function expectLastOwner(owner: { user: { id: string }; headers: Record<string, string> }) {
    const self = `/api/orgs/current/members/${owner.user.id}`;
    for (const res of [
      await send('PATCH', self, owner.headers, { role: 'admin' }),
      await send('DELETE', self, owner.headers),
    ]) {
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('last_owner');
    }
  }

  it('the last owner can never be demoted or removed, not even by themselves', async () => {
    const a = await team(t);
    const self = `/api/orgs/current/members/${a.owner.user.id}`;
    await expectLastOwner(a.owner);
    // With a second owner, the first may step down — and then the second is the last one.
    const second = await person(t, a.org, 'owner', 'owner2');
    expect((await send('DELETE', self, a.owner.headers)).statusCode).toBe(204);
    const last = await setRole(t.app, second, second, 'member');
    expect(last.statusCode).toBe(409);
    const owners = await activeOwners(a.org.id);
    expect(owners).toEqual([{ user_id: second.user.id }]);
  });

  it('an owner whose account is disabled does not count: the last one who can log in stays', async () => {
    const a = await team(t);
    const disabled = await person(t, a.org, 'owner', 'owner-disabled');
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('users')
        .set({ status: 'disabled' })
        .where('id', '=', disabled.user.id)
        .execute(),
    );
    await expectLastOwner(a.owner);
    expect(await activeOwners(a.org.id)).toHaveLength(2);
  });

  it('two owners demoting each other at once leave one owner', async () => {
    const a = await team(t);
    const second = await person(t, a.org, 'owner', 'owner2');
    const [r1, r2] = await Promise.all([
      setRole(t.app, a.owner, second, 'admin'),
      setRole(t.app, second, a.owner, 'admin'),
    ]);
    // One wins. The loser is refused as the last owner (409); or, judged after the winner's
    // demotion with the role it holds now, as no longer an owner (403 owner_required); or, when
    // that demotion already ended the loser's session, is no longer logged in at all (401).
    const codes = [r1.statusCode, r2.statusCode].sort();
    expect(codes[0]).toBe(200);
    expect([401, 403, 409]).toContain(codes[1]);
    const owners = await activeOwners(a.org.id);
    expect(owners).toHaveLength(1);
  });

  it('another org’s member ids answer 404, and bad ids 400', async () => {
    const a = await team(t);
    const b = await team(t, 'Foreign');
    const res = await removeMember(t.app, a.owner, b.member);
    expect(res.statusCode).toBe(404);
    const patch = await setRole(t.app, a.owner, b.member, 'member');
    expect(patch.statusCode).toBe(404);
    expect(
      (await send('DELETE', '/api/orgs/current/members/not-a-uuid', a.owner.headers)).statusCode,
    ).toBe(400);
    const badRole = await setRole(t.app, a.owner, a.member, 'superuser');
    expect(badRole.statusCode).toBe(400);
    // b's member is untouched.
    expect((await get('/api/users/me', b.member.headers)).statusCode).toBe(200);
  });
});

describe('POST /api/orgs rate limit', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await buildTestApp({ env: { RATE_LIMIT_ORG_CREATE: '2/3600' } });
  });
  afterAll(() => limited.close());

  it('refuses a user’s orgs beyond RATE_LIMIT_ORG_CREATE with 429, others unaffected', async () => {
    const a = await team(limited);
    const b = await team(limited);
    const create = (headers: Record<string, string>, name: string) =>
      limited.app.inject({ method: 'POST', url: '/api/orgs', headers, payload: { name } });
    expect((await create(a.owner.headers, 'One')).statusCode).toBe(201);
    expect((await create(a.owner.headers, 'Two')).statusCode).toBe(201);
    const third = await create(a.owner.headers, 'Three');
    expect(third.statusCode).toBe(429);
    expect(third.json().code).toBe('rate_limited');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    // Nothing was created by the refused request.
    const names = (await limited.app.inject({ url: '/api/orgs', headers: a.owner.headers }))
      .json()
      .items.map((i: { name: string }) => i.name);
    expect(names).not.toContain('Three');
    // The limit is per user.
    expect((await create(b.owner.headers, 'Elsewhere')).statusCode).toBe(201);
  });
});
