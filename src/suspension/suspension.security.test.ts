// Who may pull the kill switch, and how: only the platform superuser suspends and resumes (any
// org, either kind); only an org's owner, in person and re-authenticated (password AND a current
// TOTP code when MFA is on), locks it down; nobody else - admins, managers, members, API keys, the
// superuser acting inside the org - and never another org. Bad input is a 4xx and changes
// nothing; the database refuses a resume from the org's own context even if the code forgot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import { withSystem, withTenant } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { enrolMfa, totpNow } from '../test/mfa-helpers.ts';
import {
  ADMIN_ENV,
  auditOf,
  createKey,
  listPrompts,
  type Person,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';

let t: TestApp;
let su: Person;

beforeAll(async () => {
  t = await buildTestApp({ env: ADMIN_ENV });
  su = await superuser(t);
});
afterAll(() => t.close());

const post = (url: string, headers: Record<string, string>, payload: object) =>
  t.app.inject({ method: 'POST', url, headers, payload });
const suspendedAt = (orgId: string) =>
  withSystem(t.database, (tx) =>
    tx
      .selectFrom('orgs')
      .select(['suspended_at', 'suspension_kind'])
      .where('id', '=', orgId)
      .executeTakeFirstOrThrow(),
  );

function expectProblem(
  res: { statusCode: number; json(): { code: string } },
  s: number,
  code: string,
) {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(s);
  expect(res.json().code).toBe(code);
}

describe('suspend and resume: the platform superuser only', () => {
  let a: Team;
  let b: Team;
  beforeAll(async () => {
    a = await team(t, 'Target');
    b = await team(t, 'Elsewhere');
  });

  it('no role of the org, nor its API keys, nor the superuser acting in it, may suspend or resume', async () => {
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    const callers = [a.owner, a.admin, a.manager, a.member, b.owner].map((p) => p.headers);
    callers.push(key.headers, { ...su.headers, 'x-switchboard-org': a.org.id });
    for (const headers of callers) {
      for (const act of ['suspend', 'resume']) {
        const res = await post(`/api/admin/orgs/${a.org.id}/${act}`, headers, { reason: 'x' });
        expect(res.statusCode).toBe(403);
      }
      expect((await t.app.inject({ url: '/api/admin/suspended-orgs', headers })).statusCode).toBe(
        403,
      );
    }
    expect((await suspendedAt(a.org.id)).suspended_at).toBeNull();
  });

  it('bad input is a 400 and changes nothing; an unknown org is a 404', async () => {
    const url = `/api/admin/orgs/${a.org.id}/suspend`;
    for (const body of [
      {},
      { reason: '' },
      { reason: '   ' },
      { reason: 'x'.repeat(501) },
      { reason: 'ok', extra: true },
      { reason: 42 },
    ]) {
      expect((await post(url, su.headers, body)).statusCode).toBe(400);
    }
    expect(
      (await post('/api/admin/orgs/not-a-uuid/suspend', su.headers, { reason: 'x' })).statusCode,
    ).toBe(400);
    expectProblem(
      await post(`/api/admin/orgs/${crypto.randomUUID()}/suspend`, su.headers, { reason: 'x' }),
      404,
      'not_found',
    );
    expect((await suspendedAt(a.org.id)).suspended_at).toBeNull();
  });

  it('the superuser suspends (409 twice), other orgs are untouched, then resumes (409 twice)', async () => {
    const url = (act: string) => `/api/admin/orgs/${a.org.id}/${act}`;
    expect((await post(url('suspend'), su.headers, { reason: 'Fraud' })).statusCode).toBe(200);
    expectProblem(await post(url('suspend'), su.headers, { reason: 'Again' }), 409, 'conflict');
    expectProblem(await listPrompts(t.app, a.owner.headers), 403, 'org_suspended');
    expect((await listPrompts(t.app, b.member.headers)).statusCode).toBe(200);
    // The superuser's own session (in another org) is untouched, and may list it.
    const list = await t.app.inject({ url: '/api/admin/suspended-orgs', headers: su.headers });
    expect(list.json().items.map((o: { id: string }) => o.id)).toEqual([a.org.id]);
    expect((await post(url('resume'), su.headers, { reason: 'Cleared' })).statusCode).toBe(200);
    expectProblem(await post(url('resume'), su.headers, { reason: 'Again' }), 409, 'conflict');
    expect((await suspendedAt(a.org.id)).suspended_at).toBeNull();
  });

  it('suspending the org the superuser is logged into leaves them logged in', async () => {
    // Their tokens are never refused by the kill switch: they are who resumes it.
    const own = await t.app.inject({ url: '/api/orgs/current', headers: su.headers });
    const platform = own.json().id as string;
    const url = (act: string) => `/api/admin/orgs/${platform}/${act}`;
    expect((await post(url('suspend'), su.headers, { reason: 'Drill' })).statusCode).toBe(200);
    const list = await t.app.inject({ url: '/api/admin/suspended-orgs', headers: su.headers });
    expect(list.statusCode, list.body).toBe(200);
    expect((await post(url('resume'), su.headers, { reason: 'Drill over' })).statusCode).toBe(200);
    const live = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', su.user.id)
        .where('revoked_at', 'is', null)
        .execute(),
    );
    expect(live.length).toBeGreaterThan(0);
  });
});

describe('lockdown: the owner, re-authenticated', () => {
  let a: Team;
  let b: Team;
  let secret: string;
  beforeAll(async () => {
    a = await team(t, 'Breached');
    b = await team(t, 'Fine');
    ({ secret } = await enrolMfa(t.app, a.owner));
  });
  const url = '/api/orgs/current/lockdown';
  const good = () => ({
    reason: 'Owner laptop stolen',
    password: GOOD_PASSWORD,
    code: totpNow(secret, 1),
  });

  it('admins, managers, members, API keys and the superuser acting in the org are refused', async () => {
    const key = await createKey(t.app, a.owner, ['prompts:read']);
    for (const headers of [
      a.admin.headers,
      a.manager.headers,
      a.member.headers,
      key.headers,
      { ...su.headers, 'x-switchboard-org': a.org.id },
    ]) {
      expectProblem(
        await post(url, headers, { reason: 'x', password: GOOD_PASSWORD }),
        403,
        'forbidden',
      );
    }
    expect((await suspendedAt(a.org.id)).suspended_at).toBeNull();
  });

  it('a wrong password, a missing code or a wrong code is refused and audited', async () => {
    expectProblem(
      await post(url, a.owner.headers, { ...good(), password: 'wrong password entirely' }),
      401,
      'invalid_credentials',
    );
    const { code: _drop, ...noCode } = good();
    expectProblem(await post(url, a.owner.headers, noCode), 400, 'validation_failed');
    const wrong = totpNow(secret, 1) === '000000' ? '111111' : '000000';
    expectProblem(
      await post(url, a.owner.headers, { ...good(), code: wrong }),
      400,
      'invalid_code',
    );
    // A backup code is not a current TOTP code.
    expect((await post(url, a.owner.headers, { ...good(), code: 'abcd-efgh' })).statusCode).toBe(
      400,
    );
    expect((await suspendedAt(a.org.id)).suspended_at).toBeNull();
    const failures = (await auditOf(t.database, a.org.id)).filter(
      (e) => e.action === 'org.lockdown' && e.outcome === 'failure',
    );
    expect(failures.length).toBeGreaterThanOrEqual(2);
  });

  it('the owner with password and a current code locks the org down; only the superuser resumes', async () => {
    const res = await post(url, a.owner.headers, good());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'lockdown', reason: 'Owner laptop stolen' });
    expect(await suspendedAt(a.org.id)).toMatchObject({ suspension_kind: 'lockdown' });
    // The owner's own session ended with everyone's; another org is untouched.
    expect([401, 403]).toContain((await listPrompts(t.app, a.owner.headers)).statusCode);
    expect((await listPrompts(t.app, b.owner.headers)).statusCode).toBe(200);
    const entry = (await auditOf(t.database, a.org.id)).find(
      (e) => e.action === 'org.lockdown' && e.outcome === 'success',
    );
    expect(entry).toMatchObject({ actor_user_id: a.owner.user.id, actor_type: 'user' });
    expect(entry?.metadata).toMatchObject({ reason: 'Owner laptop stolen' });

    // Not the owner, not from another org: the admin route is the superuser's.
    expect(
      (await post(`/api/admin/orgs/${a.org.id}/resume`, b.owner.headers, { reason: 'x' }))
        .statusCode,
    ).toBe(403);
    // Nor the org's own database context, whatever the code does: the trigger refuses it.
    await expect(
      withTenant(t.database, { orgId: a.org.id, userId: a.owner.user.id, role: 'owner' }, (tx) =>
        tx
          .updateTable('orgs')
          .set({ suspended_at: null, suspended_reason: null, suspension_kind: null })
          .where('id', '=', a.org.id)
          .execute(),
      ),
    ).rejects.toThrow(/only the platform resumes/);
    expect(
      (await post(`/api/admin/orgs/${a.org.id}/resume`, su.headers, { reason: 'Rotated all' }))
        .statusCode,
    ).toBe(200);
  });

  it('an owner without MFA locks down with the password alone', async () => {
    const res = await post(url, b.owner.headers, { reason: 'Test drill', password: GOOD_PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect((await suspendedAt(b.org.id)).suspension_kind).toBe('lockdown');
    expectProblem(await listPrompts(t.app, b.member.headers), 403, 'org_suspended');
  });
});

describe("a locked-down org in another org member's session", () => {
  it('a suspended org never reaches into another org through a shared member', async () => {
    const x = await team(t, 'X');
    const y = await team(t, 'Y');
    await post(`/api/admin/orgs/${x.org.id}/suspend`, su.headers, { reason: 'Fraud' });
    expect((await listPrompts(t.app, y.owner.headers)).statusCode).toBe(200);
    const viaKey = await createKey(t.app, y.owner, ['prompts:read']);
    expect((await listPrompts(t.app, viaKey.headers)).statusCode).toBe(200);
    expect((await listPrompts(t.app, bearer(x.member.access))).statusCode).toBe(403);
  });
});

describe('joining a suspended org', () => {
  it('an invitation is not accepted while the org is suspended (403 org_suspended), and is after', async () => {
    const x = await team(t, 'Invites');
    const token = generateToken(32);
    await withSystem(t.database, (tx) =>
      tx
        .insertInto('invitations')
        .values({
          id: newId(),
          org_id: x.org.id,
          email: uniqueEmail('joiner'),
          role: 'member',
          token_hash: hashToken(token),
          invited_by: x.owner.user.id,
          expires_at: new Date(Date.now() + 86_400_000),
        })
        .execute(),
    );
    await post(`/api/admin/orgs/${x.org.id}/suspend`, su.headers, { reason: 'Fraud' });
    const accept = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/invitations/accept',
        payload: { token, password: GOOD_PASSWORD },
      });
    expectProblem(await accept(), 403, 'org_suspended');
    await post(`/api/admin/orgs/${x.org.id}/resume`, su.headers, { reason: 'Cleared' });
    expect((await accept()).statusCode).toBe(201);
  });
});
