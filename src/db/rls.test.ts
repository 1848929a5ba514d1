// Row-level security, proven in the database itself (runs on PGlite and on PostgreSQL in CI).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { addMember, createTeam, createUser } from '../test/factories.ts';
import { withSystem, withTenant, withTenantRead, withTenantStatement } from './tenant.ts';

let database: TestDatabase;
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
const promptIds: Record<string, string> = {};

beforeAll(async () => {
  database = await createTestDatabase();
  a = await createTeam(database);
  b = await createTeam(database);
  for (const [key, org, owner] of [
    ['a-member', a.org, a.member],
    ['a-member2', a.org, a.member2],
    ['b-member', b.org, b.member],
  ] as const) {
    const id = newId();
    promptIds[key] = id;
    await withSystem(database, (tx) =>
      tx
        .insertInto('prompts')
        .values({ id, org_id: org.id, owner_id: owner.id, name: key, content: 'hello' })
        .execute(),
    );
  }
});
afterAll(() => database.close());

const ctx = (team: typeof a, role: 'owner' | 'admin' | 'manager' | 'member' | 'member2') => ({
  orgId: team.org.id,
  userId: team[role].id,
  role: role === 'member2' ? ('member' as const) : role,
});

describe('row-level security', () => {
  it('is enabled and forced on every table of the schema', async () => {
    const rows = await withSystem(database, (tx) =>
      sql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>`
        select c.relname, c.relrowsecurity, c.relforcerowsecurity from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r' and c.relname not like 'kysely_%'
        order by c.relname`.execute(tx),
    );
    expect(rows.rows.map((r) => r.relname)).toEqual(
      expect.arrayContaining(['audit_logs', 'memberships', 'orgs', 'prompts', 'sessions', 'users']),
    );
    for (const r of rows.rows) {
      expect(r, r.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
    }
  });

  it('every policy reads the tenant context once per statement, never once per row', async () => {
    // A bare call of a context function is evaluated for every row; `(SELECT f())` is an
    // InitPlan, evaluated once (migration 2026_12_01_0018). A policy added later must do the same.
    const policies = await withSystem(database, (tx) =>
      sql<{ name: string; expr: string }>`
        select pol.polname as name, concat_ws(' / ', pg_get_expr(pol.polqual, pol.polrelid),
          pg_get_expr(pol.polwithcheck, pol.polrelid)) as expr
        from pg_policy pol join pg_class c on c.oid = pol.polrelid
        where c.relnamespace = current_schema()::regnamespace`.execute(tx),
    );
    expect(policies.rows.length).toBeGreaterThan(30);
    const bare =
      /(?<!SELECT )\bapp_(?:org_id|user_id|role|privileged|sees_all_of_org|org_service)\(\)/;
    expect(policies.rows.filter((p) => bare.test(p.expr)).map((p) => p.name)).toEqual([]);
  });

  it('requests run as the unprivileged app role, which cannot bypass RLS', async () => {
    const who = await withTenant(database, ctx(a, 'owner'), (tx) =>
      sql<{ current_user: string; rolbypassrls: boolean; rolsuper: boolean }>`
        select current_user, r.rolbypassrls, r.rolsuper from pg_roles r where r.rolname = current_user`.execute(
        tx,
      ),
    );
    expect(who.rows[0]).toEqual({
      current_user: 'switchboard_app',
      rolbypassrls: false,
      rolsuper: false,
    });
  });

  it('with no tenant context a query sees zero rows', async () => {
    const none = { orgId: null, userId: null, role: null };
    const counts = await withTenant(database, none, async (tx) => ({
      prompts: (await tx.selectFrom('prompts').selectAll().execute()).length,
      orgs: (await tx.selectFrom('orgs').selectAll().execute()).length,
      users: (await tx.selectFrom('users').selectAll().execute()).length,
      memberships: (await tx.selectFrom('memberships').selectAll().execute()).length,
    }));
    expect(counts).toEqual({ prompts: 0, orgs: 0, users: 0, memberships: 0 });
  });

  it('a plain connection (no transaction context at all) as the app role sees zero rows', async () => {
    const n = await database.db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn);
      await sql`set local role switchboard_app`.execute(conn);
      const r = await sql<{ n: number }>`select count(*)::int as n from prompts`.execute(conn);
      await sql`rollback`.execute(conn);
      return r.rows[0]!.n;
    });
    expect(n).toBe(0);
  });

  it('an insert into another org is refused by the database', async () => {
    await expect(
      withTenant(database, ctx(a, 'owner'), (tx) =>
        tx
          .insertInto('prompts')
          .values({ id: newId(), org_id: b.org.id, owner_id: a.owner.id, name: 'x', content: 'y' })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('an update that moves a row into another org is refused by the database', async () => {
    await expect(
      withTenant(database, ctx(a, 'owner'), (tx) =>
        tx
          .updateTable('prompts')
          .set({ org_id: b.org.id })
          .where('id', '=', promptIds['a-member']!)
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it("an update of another org's row changes nothing", async () => {
    const res = await withTenant(database, ctx(a, 'owner'), (tx) =>
      tx
        .updateTable('prompts')
        .set({ name: 'pwned' })
        .where('id', '=', promptIds['b-member']!)
        .executeTakeFirst(),
    );
    expect(Number(res.numUpdatedRows)).toBe(0);
    const row = await withSystem(database, (tx) =>
      tx
        .selectFrom('prompts')
        .select('name')
        .where('id', '=', promptIds['b-member']!)
        .executeTakeFirstOrThrow(),
    );
    expect(row.name).toBe('b-member');
  });

  it("a member cannot read another member's prompt, even without an org filter", async () => {
    const seen = await withTenant(database, ctx(a, 'member'), (tx) =>
      tx.selectFrom('prompts').select('name').execute(),
    );
    expect(seen.map((r) => r.name)).toEqual(['a-member']);
  });

  it('a member cannot write a prompt owned by someone else', async () => {
    await expect(
      withTenant(database, ctx(a, 'member'), (tx) =>
        tx
          .insertInto('prompts')
          .values({
            id: newId(),
            org_id: a.org.id,
            owner_id: a.member2.id,
            name: 'x',
            content: 'y',
          })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it.each(['owner', 'admin', 'manager'] as const)(
    'a %s reads every prompt of its org and no other',
    async (role) => {
      const seen = await withTenant(database, ctx(a, role), (tx) =>
        tx.selectFrom('prompts').select('name').orderBy('name').execute(),
      );
      expect(seen.map((r) => r.name)).toEqual(['a-member', 'a-member2']);
    },
  );

  it('users: the caller sees themself and the members of the org they act in, nobody else', async () => {
    // `both` belongs to a and b; `loner` to no org. Acting in a, `both` sees a's members (and not
    // b's), although b's members share an org with them.
    const both = await createUser(database);
    const loner = await createUser(database);
    await addMember(database, a.org, both, 'member');
    await addMember(database, b.org, both, 'member');
    const seen = await withTenantRead(
      database,
      { orgId: a.org.id, userId: both.id, role: 'member' },
      (tx) => tx.selectFrom('users').select('id').execute(),
    );
    const aMembers = [a.owner, a.admin, a.manager, a.member, a.member2].map((u) => u.id);
    expect(seen.map((r) => r.id).sort()).toEqual([...aMembers, both.id].sort());
    // With no org (a session between orgs), only the caller's own row.
    const alone = await withTenantRead(
      database,
      { orgId: null, userId: loner.id, role: null },
      (tx) => tx.selectFrom('users').select('id').execute(),
    );
    expect(alone.map((r) => r.id)).toEqual([loner.id]);
  });

  it('orgs: the caller sees every org they belong to and no other', async () => {
    // Exact sets: every other org of the table (b's for a's member, the other tests' teams) is out.
    const both = await createUser(database);
    await addMember(database, a.org, both, 'member');
    await addMember(database, b.org, both, 'member');
    const seen = await withTenantRead(
      database,
      { orgId: a.org.id, userId: both.id, role: 'member' },
      (tx) => tx.selectFrom('orgs').select('id').execute(),
    );
    expect(seen.map((r) => r.id).sort()).toEqual([a.org.id, b.org.id].sort());
    const onlyA = await withTenantRead(database, ctx(a, 'member'), (tx) =>
      tx.selectFrom('orgs').select('id').execute(),
    );
    expect(onlyA.map((r) => r.id)).toEqual([a.org.id]);
  });

  it('every path sets every setting of the context, read back inside it', async () => {
    const settings = (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) =>
      sql<Record<string, string>>`
        select current_user as who, current_setting('app.org_id', true) as org_id,
          current_setting('app.user_id', true) as user_id, current_setting('app.role', true) as role,
          current_setting('app.superuser', true) as superuser,
          current_setting('app.system', true) as system,
          current_setting('transaction_read_only') as read_only`
        .execute(tx)
        .then((r) => r.rows[0]);
    const tenant = {
      who: 'switchboard_app',
      org_id: a.org.id,
      user_id: a.manager.id,
      role: 'manager',
      superuser: 'off',
      system: 'off',
    };
    const c = ctx(a, 'manager');
    expect(await withTenant(database, c, settings)).toEqual({ ...tenant, read_only: 'off' });
    expect(await withTenantRead(database, c, settings)).toEqual({ ...tenant, read_only: 'on' });
    expect(await withTenantStatement(database, c, settings)).toEqual({
      ...tenant,
      read_only: 'off',
    });
    expect(
      await withTenantRead(database, { ...c, superuser: true }, settings).then((s) => s?.superuser),
    ).toBe('on');
    expect(await withSystem(database, settings)).toEqual({
      who: 'switchboard_app',
      org_id: '',
      user_id: '',
      role: '',
      superuser: 'off',
      system: 'on',
      read_only: 'off',
    });
  });

  it('tenant context does not leak into the next transaction on the same connection', async () => {
    await withTenant(database, ctx(a, 'owner'), (tx) =>
      tx.selectFrom('prompts').selectAll().execute(),
    );
    const after = await withTenant(database, { orgId: null, userId: null, role: null }, (tx) =>
      tx.selectFrom('prompts').selectAll().execute(),
    );
    expect(after).toHaveLength(0);
  });

  it('a failed transaction writes nothing', async () => {
    const id = newId();
    await expect(
      withTenant(database, ctx(a, 'owner'), async (tx) => {
        await tx
          .insertInto('prompts')
          .values({ id, org_id: a.org.id, owner_id: a.owner.id, name: 'half', content: 'x' })
          .execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const row = await withSystem(database, (tx) =>
      tx.selectFrom('prompts').select('id').where('id', '=', id).executeTakeFirst(),
    );
    expect(row).toBeUndefined();
  });

  it('a single-statement write runs under the policies: another org is refused', async () => {
    await expect(
      withTenantStatement(database, ctx(a, 'owner'), (tx) =>
        tx
          .insertInto('prompts')
          .values({ id: newId(), org_id: b.org.id, owner_id: a.owner.id, name: 'x', content: 'y' })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    const touched = await withTenantStatement(database, ctx(a, 'owner'), (tx) =>
      tx.updateTable('prompts').set({ description: 'one statement' }).executeTakeFirst(),
    );
    // Its own org's two prompts, not b's.
    expect(Number(touched.numUpdatedRows)).toBe(2);
    const other = await withSystem(database, (tx) =>
      tx
        .selectFrom('prompts')
        .select('description')
        .where('id', '=', promptIds['b-member']!)
        .executeTakeFirstOrThrow(),
    );
    expect(other.description).toBeNull();
  });

  it('a single-statement write refuses a second statement, which would not be atomic with it', async () => {
    await expect(
      withTenantStatement(database, ctx(a, 'owner'), async (tx) => {
        await tx.updateTable('prompts').set({ description: 'first' }).execute();
        await tx.selectFrom('prompts').select('id').execute();
      }),
    ).rejects.toThrow(/exactly one statement/);
    // Its context ended with its implicit transaction: the connection carries nothing on.
    const after = await withTenant(database, { orgId: null, userId: null, role: null }, (tx) =>
      tx.selectFrom('prompts').selectAll().execute(),
    );
    expect(after).toHaveLength(0);
  });

  it('refuses a tenant context that is not a UUID (never reaches SQL)', async () => {
    await expect(
      withTenant(
        database,
        { orgId: "x'; drop table prompts; --", userId: null, role: null },
        async () => 1,
      ),
    ).rejects.toThrow(/invalid tenant context/);
  });
});
