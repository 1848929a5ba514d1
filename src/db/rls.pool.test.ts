// Row-level security over a pool of ONE connection: requests of two orgs interleave on the same
// database session (PostgreSQL: DATABASE_URL with a pool of one; PGlite: its single session),
// some failing mid-transaction, and no row ever crosses to the other org. Runs on both databases.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { type TenantContext, withSystem, withTenant, withTenantRead } from './tenant.ts';

let database: TestDatabase;
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 1 });
  a = await createTeam(database);
  b = await createTeam(database);
  for (const team of [a, b])
    for (let i = 0; i < 3; i++)
      await withSystem(database, (tx) =>
        tx
          .insertInto('prompts')
          .values({
            id: newId(),
            org_id: team.org.id,
            owner_id: team.owner.id,
            name: `seed ${i}`,
            content: 'x',
          })
          .execute(),
      );
});
afterAll(() => database.close());

const owner = (team: typeof a): TenantContext => ({
  orgId: team.org.id,
  userId: team.owner.id,
  role: 'owner',
});

/** What the session says about itself, read inside the caller's context. */
const settingsOf = (tx: Parameters<Parameters<typeof withTenantRead>[2]>[0]) =>
  sql<{ org: string; user: string; who: string }>`
    select current_setting('app.org_id', true) as org, current_setting('app.user_id', true) as user,
      current_user as who`
    .execute(tx)
    .then((r) => r.rows[0]!);

describe('row-level security over a pool of one connection', () => {
  it('interleaved reads, writes and mid-transaction failures of two orgs never cross', async () => {
    const failedIds: string[] = [];
    const work = Array.from({ length: 60 }, (_, i) => {
      const team = i % 2 === 0 ? a : b;
      const other = team === a ? b : a;
      const ctx = owner(team);
      switch (i % 6) {
        case 0:
        case 1:
          // A read of two statements: the context rides with each.
          return withTenantRead(database, ctx, async (tx) => {
            const rows = await tx.selectFrom('prompts').select(['org_id', 'name']).execute();
            const settings = await settingsOf(tx);
            return { team, rows, settings };
          });
        case 2:
        case 3: {
          // A write: insert, then read back everything the transaction sees.
          return withTenant(database, ctx, async (tx) => {
            await tx
              .insertInto('prompts')
              .values({
                id: newId(),
                org_id: team.org.id,
                owner_id: team.owner.id,
                name: `w${i}`,
                content: 'x',
              })
              .execute();
            const rows = await tx.selectFrom('prompts').select(['org_id', 'name']).execute();
            return { team, rows, settings: await settingsOf(tx) };
          });
        }
        case 4: {
          // A write whose second statement fails: the first must be rolled back.
          const id = newId();
          failedIds.push(id);
          return withTenant(database, ctx, async (tx) => {
            await tx
              .insertInto('prompts')
              .values({
                id,
                org_id: team.org.id,
                owner_id: team.owner.id,
                name: 'half',
                content: 'x',
              })
              .execute();
            // Refused by the policy: a row of the other org (a statement error, not a JS throw).
            await tx
              .insertInto('prompts')
              .values({
                id: newId(),
                org_id: other.org.id,
                owner_id: other.owner.id,
                name: 'cross',
                content: 'x',
              })
              .execute();
            return { team, rows: [], settings: null };
          }).catch((err: Error) => ({ team, rows: [], settings: null, err }));
        }
        default:
          // A read whose statement fails (division by zero) in the middle of the interleaving.
          return withTenantRead(database, ctx, async (tx) => {
            await sql`select 1 / 0`.execute(tx);
            return { team, rows: [], settings: null };
          }).catch((err: Error) => ({ team, rows: [], settings: null, err }));
      }
    });
    const results = await Promise.all(work);

    let reads = 0;
    let failures = 0;
    for (const r of results) {
      if ('err' in r) {
        failures++;
        continue;
      }
      for (const row of r.rows) expect(row.org_id).toBe(r.team.org.id);
      if (r.rows.length > 0) reads++;
      expect(r.settings).toEqual({
        org: r.team.org.id,
        user: r.team.owner.id,
        who: 'switchboard_app',
      });
    }
    expect(reads).toBe(40);
    expect(failures).toBe(20);

    // Nothing of a failed write survived.
    const survivors = await withSystem(database, (tx) =>
      tx.selectFrom('prompts').select('id').where('id', 'in', failedIds).execute(),
    );
    expect(survivors).toEqual([]);
    // Each org sees exactly its seeds and its own successful writes.
    for (const team of [a, b]) {
      const names = await withTenantRead(database, owner(team), (tx) =>
        tx.selectFrom('prompts').select(['org_id', 'name']).execute(),
      );
      expect(names.every((n) => n.org_id === team.org.id)).toBe(true);
      expect(names).toHaveLength(3 + 10);
    }
  });

  it('after a failure, the same connection outside any tenant context carries none', async () => {
    await withTenant(database, owner(a), async (tx) => {
      await tx.selectFrom('prompts').selectAll().execute();
      await sql`select 1 / 0`.execute(tx);
    }).catch(() => {});
    await withTenantRead(database, owner(b), (tx) => sql`select 1 / 0`.execute(tx)).catch(() => {});
    // The pool's only connection, used bare: the owner role, no org, no user.
    const bare = await sql<{ org: string | null; user: string | null; who: string }>`
      select current_setting('app.org_id', true) as org, current_setting('app.user_id', true) as user,
        current_user as who`.execute(database.db);
    expect(bare.rows[0]!.org || null).toBeNull();
    expect(bare.rows[0]!.user || null).toBeNull();
    expect(bare.rows[0]!.who).not.toBe('switchboard_app');
    // And a context-less tenant read sees nothing.
    const none = await withTenantRead(database, { orgId: null, userId: null, role: null }, (tx) =>
      tx.selectFrom('prompts').selectAll().execute(),
    );
    expect(none).toEqual([]);
  });

  it('a read path refuses to write (the database enforces read-only)', async () => {
    const id = newId();
    await expect(
      withTenantRead(database, owner(a), (tx) =>
        tx
          .insertInto('prompts')
          .values({ id, org_id: a.org.id, owner_id: a.owner.id, name: 'ro', content: 'x' })
          .execute(),
      ),
    ).rejects.toThrow(/read-only/);
    const row = await withSystem(database, (tx) =>
      tx.selectFrom('prompts').select('id').where('id', '=', id).executeTakeFirst(),
    );
    expect(row).toBeUndefined();
  });
});
