// Row-level security of the 0005 migration, against the database itself: invitations and API
// keys belong to their org's owners and admins; admins may read and revoke the sessions of their
// own org, never open one for someone else.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../db/schema.ts';
import { type TenantContext, withSystem, withTenant } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';

let db: TestDatabase;
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;

const ctx = (org: { id: string }, user: { id: string }, role: Role): TenantContext => ({
  orgId: org.id,
  userId: user.id,
  role,
});

beforeAll(async () => {
  db = await createTestDatabase();
  a = await createTeam(db);
  b = await createTeam(db);
  await withSystem(db, async (tx) => {
    for (const team of [a, b]) {
      await tx
        .insertInto('invitations')
        .values({
          id: newId(),
          org_id: team.org.id,
          email: `x-${newId()}@example.test`,
          role: 'member',
          token_hash: newId(),
          invited_by: team.owner.id,
          expires_at: new Date(Date.now() + 60_000),
        })
        .execute();
      await tx
        .insertInto('api_keys')
        .values({
          id: newId(),
          org_id: team.org.id,
          created_by: team.owner.id,
          name: 'k',
          prefix: randomBytes(6).toString('hex'),
          key_hash: newId(),
          scopes: '["prompts:read"]',
        })
        .execute();
      for (const user of [team.admin, team.member]) {
        await tx
          .insertInto('sessions')
          .values({
            id: newId(),
            user_id: user.id,
            org_id: team.org.id,
            user_agent: null,
            ip: null,
            expires_at: new Date(Date.now() + 60_000),
          })
          .execute();
      }
    }
  });
});
afterAll(() => db.close());

const count = (c: TenantContext, table: 'invitations' | 'api_keys' | 'sessions') =>
  withTenant(db, c, async (tx) => (await tx.selectFrom(table).select('id').execute()).length);

describe('invitations and api_keys', () => {
  it('owners and admins see their own org’s rows only; managers and members none', async () => {
    for (const table of ['invitations', 'api_keys'] as const) {
      expect(await count(ctx(a.org, a.owner, 'owner'), table)).toBe(1);
      expect(await count(ctx(a.org, a.admin, 'admin'), table)).toBe(1);
      expect(await count(ctx(a.org, a.manager, 'manager'), table)).toBe(0);
      expect(await count(ctx(a.org, a.member, 'member'), table)).toBe(0);
      expect(await count({ orgId: null, userId: null, role: null }, table)).toBe(0);
    }
  });

  it('an admin cannot write into another org', async () => {
    await expect(
      withTenant(db, ctx(a.org, a.admin, 'admin'), (tx) =>
        tx
          .insertInto('invitations')
          .values({
            id: newId(),
            org_id: b.org.id,
            email: 'y@example.test',
            role: 'owner',
            token_hash: newId(),
            invited_by: a.admin.id,
            expires_at: new Date(Date.now() + 60_000),
          })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    const revoked = await withTenant(db, ctx(a.org, a.admin, 'admin'), (tx) =>
      tx
        .updateTable('api_keys')
        .set({ revoked_at: new Date() })
        .where('org_id', '=', b.org.id)
        .returning('id')
        .execute(),
    );
    expect(revoked).toEqual([]);
  });
});

describe('sessions', () => {
  it('admins read and revoke their org’s sessions; members only their own', async () => {
    expect(await count(ctx(a.org, a.admin, 'admin'), 'sessions')).toBe(2);
    expect(await count(ctx(a.org, a.member, 'member'), 'sessions')).toBe(1);
    expect(await count(ctx(a.org, a.manager, 'manager'), 'sessions')).toBe(0);
    const ended = await withTenant(db, ctx(a.org, a.admin, 'admin'), (tx) =>
      tx
        .updateTable('sessions')
        .set({ revoked_at: new Date(), revoked_reason: 'test' })
        .where('user_id', 'in', [a.member.id, b.member.id])
        .returning('user_id')
        .execute(),
    );
    expect(ended).toEqual([{ user_id: a.member.id }]);
  });

  it('an admin cannot open a session for someone else, nor move one to another org', async () => {
    await expect(
      withTenant(db, ctx(a.org, a.admin, 'admin'), (tx) =>
        tx
          .insertInto('sessions')
          .values({
            id: newId(),
            user_id: a.member.id,
            org_id: a.org.id,
            user_agent: null,
            ip: null,
            expires_at: new Date(Date.now() + 60_000),
          })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      withTenant(db, ctx(a.org, a.owner, 'owner'), (tx) =>
        tx
          .updateTable('sessions')
          .set({ org_id: b.org.id })
          .where('user_id', '=', a.admin.id)
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
  });
});
