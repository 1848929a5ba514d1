// Hostile cases for the quotas: who may change an org's limits (the role matrix, API keys, the
// database's own policy), and that no context reaches another org's limits or leases — nor a
// context without an org takes a lease at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Org, Role, User } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { as, buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import { createDatabaseCounter } from './counter.ts';
import { acquireLease, findOrgQuotas, upsertOrgQuotas } from './quota.repository.ts';

let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
  a = await createTeam(t.database);
  b = await createTeam(t.database);
});
afterAll(() => t.close());

const LIMITS = {
  max_live_calls: 7,
  inbound_reserved_calls: 1,
  max_voice_sessions: null,
  max_device_sockets: null,
  max_scheduled_calls_per_day: null,
};
const put = (headers: Record<string, string>, payload: Record<string, unknown> = LIMITS) =>
  t.app.inject({ method: 'PUT', url: '/api/orgs/current/quotas', headers, payload });
const ctx = (org: Org, user: User, role: Role) => ({ orgId: org.id, userId: user.id, role });

describe('PUT /api/orgs/current/quotas: role x org', () => {
  it.each([
    ['owner', 200],
    ['admin', 200],
    ['manager', 403],
    ['member', 403],
  ] as const)('%s → %i', async (role, status) => {
    const res = await put(as(a[role], a.org, role));
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json().code).toBe('forbidden');
  });

  it("changes only the caller's own org", async () => {
    await put(as(a.owner, a.org, 'owner'), { ...LIMITS, max_live_calls: 3 });
    const other = await t.app.inject({
      url: '/api/orgs/current/quotas',
      headers: as(b.member, b.org, 'member'),
    });
    expect(other.json().org.max_live_calls).toBeNull();
    expect(other.json().limits.max_live_calls).toBe(10_000);
  });
});

describe('the database enforces it too (row-level security forced)', () => {
  it('a manager or member context cannot write org_quotas, even with SQL', async () => {
    for (const role of ['manager', 'member'] as const) {
      await expect(
        withTenant(t.database, ctx(a.org, a[role], role), (tx) =>
          upsertOrgQuotas(tx, a.org.id, { ...LIMITS, max_live_calls: 1000 }, a[role].id),
        ),
      ).rejects.toThrow(/row-level security/);
    }
  });

  it("no context reads or writes another org's limits", async () => {
    const seen = await withTenant(t.database, ctx(b.org, b.owner, 'owner'), (tx) =>
      findOrgQuotas(tx, a.org.id),
    );
    expect(seen).toBeUndefined();
    await expect(
      withTenant(t.database, ctx(b.org, b.owner, 'owner'), (tx) =>
        upsertOrgQuotas(tx, a.org.id, LIMITS, b.owner.id),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it("leases are confined to the context's org; none without an org", async () => {
    const counter = createDatabaseCounter(t.database);
    const now = Date.now();
    await counter.acquire(a.org.id, 'live_calls', 'a-lease', 5, now + 60_000, now);
    // Org b's context sees none of org a's leases and cannot delete them.
    const visible = await withTenant(
      t.database,
      { orgId: b.org.id, userId: null, role: null },
      (tx) => tx.selectFrom('quota_leases').selectAll().where('org_id', '=', a.org.id).execute(),
    );
    expect(visible).toEqual([]);
    await withTenant(t.database, { orgId: b.org.id, userId: null, role: null }, (tx) =>
      tx.deleteFrom('quota_leases').where('org_id', '=', a.org.id).execute(),
    );
    expect((await counter.live(a.org.id, now)).live_calls).toBe(1);
    // Nor can it insert a lease in org a's name.
    await expect(
      withTenant(t.database, { orgId: b.org.id, userId: null, role: null }, (tx) =>
        tx
          .insertInto('quota_leases')
          .values({
            org_id: a.org.id,
            kind: 'live_calls',
            lease_id: 'forged',
            expires_at: new Date(now + 60_000),
          })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    // The function takes the org from the context, never a parameter: without one it refuses.
    await expect(
      withTenant(t.database, { orgId: null, userId: null, role: null }, (tx) =>
        acquireLease(tx, 'live_calls', 'x', 5, new Date(now + 60_000), new Date(now)),
      ),
    ).rejects.toThrow(/without an org context/);
    expect((await counter.live(a.org.id, now)).live_calls).toBe(1);
    expect((await counter.live(b.org.id, now)).live_calls).toBe(0);
  });
});
