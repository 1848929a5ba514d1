// The platform's audit trail: acts in no org (a failed login before any org is known, a key
// rotation, a password reset) are recorded with org_id null, which no org's log shows. The
// superuser's own login reads them at GET /api/admin/audit-logs; nobody else does, and an org's
// entries never appear there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_HEADER } from '../admin/act-in-org.ts';
import type { TestApp } from '../test/app.ts';
import { loginUser } from '../test/auth-helpers.ts';
import { createKey, type Person, superuserApp, type Team, team } from '../test/org-helpers.ts';

let t: TestApp;
let su: Person;
let a: Team;
beforeAll(async () => {
  ({ t, su } = await superuserApp());
  a = await team(t, 'Org A');
});
afterAll(() => t.close());

const platformLog = (headers: Record<string, string>, query = '') =>
  t.app.inject({ url: `/api/admin/audit-logs${query}`, headers });

describe('GET /api/admin/audit-logs', () => {
  it('shows the superuser the acts of no org: a failed login and a key rotation', async () => {
    const failed = await loginUser(t.app, a.member.user.email, 'definitely the wrong password 1');
    expect(failed.statusCode).toBe(401);
    const rotated = await t.app.inject({
      method: 'POST',
      url: '/api/admin/signing-keys/rotate',
      headers: su.headers,
    });
    expect(rotated.statusCode, rotated.body).toBe(200);

    const res = await platformLog(su.headers);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as { org_id: string | null; action: string; outcome: string }[];
    expect(items.every((e) => e.org_id === null)).toBe(true);
    expect(items.map((e) => e.action)).toEqual(
      expect.arrayContaining(['signing_key.rotate', 'auth.login']),
    );
    expect(items.find((e) => e.action === 'auth.login')?.outcome).toBe('failure');

    // The filters of the org log apply.
    const onlyRotations = await platformLog(su.headers, '?action=signing_key.*');
    expect(onlyRotations.json().items.map((e: { action: string }) => e.action)).toEqual([
      'signing_key.rotate',
    ]);
  });

  it('never shows an org’s entries (they are in that org’s log)', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/prompts',
      headers: a.owner.headers,
      payload: { name: 'in org A', content: 'hi' },
    });
    expect(created.statusCode).toBe(201);
    const res = await platformLog(su.headers, '?action=prompt.create');
    expect(res.json().items).toEqual([]);
  });

  it('is refused to everyone else: owners, an API key, the superuser acting in an org', async () => {
    for (const p of [a.owner, a.admin, a.member]) {
      const res = await platformLog(p.headers);
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('superuser_required');
    }
    const key = await createKey(t.app, a.owner, ['calls:read']);
    const byKey = await platformLog(key.headers);
    expect(byKey.statusCode).toBe(403);
    const acting = await platformLog({ ...su.headers, [ORG_HEADER]: a.org.id });
    expect(acting.statusCode).toBe(403);
    expect((await platformLog({})).statusCode).toBe(401);
  });
});
