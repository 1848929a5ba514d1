// Prepared statements on a database session (database.ts PreparedStatements), over a pool of ONE
// connection so every request shares the session: the hot statements are prepared once and bound
// by name afterwards, a failed flight never leaves a name behind that was not prepared, and a
// migration that reshapes a table under a prepared `select *` costs no request. Both databases.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { type TenantContext, withSystem, withTenant, withTenantRead } from './tenant.ts';

let database: TestDatabase;
let team: Awaited<ReturnType<typeof createTeam>>;
let owner: TenantContext;

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 1 });
  team = await createTeam(database);
  owner = { orgId: team.org.id, userId: team.owner.id, role: 'owner' };
  await withSystem(database, (tx) =>
    tx
      .insertInto('prompts')
      .values({
        id: newId(),
        org_id: team.org.id,
        owner_id: team.owner.id,
        name: 'p',
        content: 'x',
      })
      .execute(),
  );
});
afterAll(() => database.close());

/** The statements prepared on the (one) session, as the server lists them. */
async function prepared(): Promise<string[]> {
  const { rows } = await withTenantRead(database, owner, (tx) =>
    sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(tx),
  );
  return rows.map((r) => r.statement);
}

const listNames = (ctx: TenantContext) =>
  withTenantRead(database, ctx, (tx) =>
    tx.selectFrom('prompts').selectAll().where('name', '=', 'p').execute(),
  );

describe('prepared statements', () => {
  it('a repeated read is prepared once, with its tenant context, and answers the same', async () => {
    const first = await listNames(owner);
    const before = await prepared();
    const second = await listNames(owner);
    const after = await prepared();
    expect(second).toEqual(first);
    expect(first).toHaveLength(1);
    // The context statement and the query are both there, once, and the repeat added nothing.
    expect(before.filter((s) => s.includes("set_config('transaction_read_only'"))).toHaveLength(1);
    expect(before.filter((s) => s.includes('"name" = $1'))).toHaveLength(1);
    expect(after).toEqual(before);
  });

  it('the bound context is the caller’s own: another org through the same statements sees nothing', async () => {
    const other = await createTeam(database);
    const rows = await listNames({ orgId: other.org.id, userId: other.owner.id, role: 'owner' });
    expect(rows).toEqual([]);
    expect((await listNames(owner)).map((r) => r.org_id)).toEqual([team.org.id]);
  });

  it('a flight that fails leaves its session usable: the same statement works next time', async () => {
    const novel = (divisor: number) =>
      withTenantRead(database, owner, (tx) =>
        sql<{ v: number }>`select 10 / ${divisor}::int as v, 'novel-statement' as tag`.execute(tx),
      );
    await expect(novel(0)).rejects.toThrow(/division by zero/);
    expect((await novel(2)).rows[0]?.v).toBe(5);
    expect((await novel(5)).rows[0]?.v).toBe(2);
  });

  it('a write transaction after a failed one runs on the same prepared statements', async () => {
    await expect(
      withTenant(database, owner, async (tx) => {
        await tx
          .updateTable('prompts')
          .set({ description: 'tmp' })
          .where('name', '=', 'p')
          .execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const n = await withTenant(database, owner, (tx) =>
      tx.updateTable('prompts').set({ description: 'kept' }).where('name', '=', 'p').execute(),
    );
    expect(Number(n[0]?.numUpdatedRows)).toBe(1);
  });

  it('a migration that adds a column under a prepared select * costs no request', async () => {
    const read = () =>
      withTenantRead(database, owner, (tx) => tx.selectFrom('prompts').selectAll().execute());
    const write = () =>
      withTenant(database, owner, (tx) =>
        tx.selectFrom('prompts').selectAll().where('name', '=', 'p').forUpdate().execute(),
      );
    expect(await read()).toHaveLength(1);
    expect(await write()).toHaveLength(1);
    // What another instance's migration does while this one serves.
    await sql`alter table prompts add column prepared_test_extra text`.execute(database.db);
    try {
      const rows = await read();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toHaveProperty('prepared_test_extra', null);
      expect(await write()).toHaveLength(1);
    } finally {
      await sql`alter table prompts drop column prepared_test_extra`.execute(database.db);
    }
    expect(Object.keys((await read())[0]!)).not.toContain('prepared_test_extra');
  });
});
