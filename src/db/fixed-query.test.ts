// fixedQuery (src/db/fixed-query.ts): the builder runs once per shape, every call binds its own
// values, the shape follows which arguments are set, an argument used other than as a parameter
// is refused, and row-level security still decides what a tenant sees. Both databases.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { fixedQuery, verifyFixedQueries } from './fixed-query.ts';
import { type TenantContext, withSystem, withSystemRead, withTenantRead } from './tenant.ts';

let database: TestDatabase;
let a: TenantContext;
let b: TenantContext;
const names = new Map<string, string[]>();

beforeAll(async () => {
  database = await createTestDatabase();
  for (const side of ['a', 'b'] as const) {
    const team = await createTeam(database);
    const ctx = { orgId: team.org.id, userId: team.owner.id, role: 'owner' as const };
    if (side === 'a') a = ctx;
    else b = ctx;
    const rows = ['alpha', 'beta', 'gamma'].map((n) => ({
      id: newId(),
      org_id: team.org.id,
      owner_id: team.owner.id,
      name: `${side}-${n}`,
      content: 'x',
    }));
    await withSystem(database, (tx) => tx.insertInto('prompts').values(rows).execute());
    // Newest first: by id, as the statements order (ids made in one millisecond need not
    // follow the order they were made in).
    const newestFirst = [...rows].sort((x, y) => (x.id < y.id ? 1 : -1));
    names.set(
      side,
      newestFirst.map((r) => r.name),
    );
  }
});
afterAll(() => database.close());

/**
 * The suite verifies every call by building it again (src/test/setup.ts); the tests that count
 * builds see fixedQuery as production runs it.
 */
async function unverified<T>(fn: () => Promise<T>): Promise<T> {
  verifyFixedQueries(false);
  try {
    return await fn();
  } finally {
    verifyFixedQueries(true);
  }
}

function promptsQuery() {
  let builds = 0;
  const run = fixedQuery(
    (db, p: { orgId: string; before?: string; pattern?: string; newestFirst: boolean }) => {
      builds++;
      let query = db.selectFrom('prompts').select(['id', 'name']).where('org_id', '=', p.orgId);
      if (p.before) query = query.where('id', '<', p.before);
      if (p.pattern) query = query.where('name', 'like', p.pattern);
      return query.orderBy('id', p.newestFirst ? 'desc' : 'asc');
    },
  );
  return { run, builds: () => builds };
}

describe('fixedQuery', () => {
  it('builds once and binds each call its own values', () =>
    unverified(async () => {
      const q = promptsQuery();
      const read = (orgId: string) =>
        withSystemRead(database, (tx) => q.run(tx, { orgId, newestFirst: true }));
      expect((await read(a.orgId!)).map((r) => r.name)).toEqual(names.get('a'));
      expect((await read(b.orgId!)).map((r) => r.name)).toEqual(names.get('b'));
      expect((await read(a.orgId!)).map((r) => r.name)).toEqual(names.get('a'));
      expect(q.builds()).toBe(1);
    }));

  it('keeps one statement per shape: which arguments are set, and the falsy ones as themselves', () =>
    unverified(async () => {
      const q = promptsQuery();
      const run = (p: Parameters<typeof q.run>[1]) =>
        withSystemRead(database, (tx) => q.run(tx, p)).then((rows) => rows.map((r) => r.name));
      const all = names.get('a')!;
      const [newest] = await withSystemRead(database, (tx) =>
        q.run(tx, { orgId: a.orgId!, newestFirst: true }),
      );
      expect(await run({ orgId: a.orgId!, newestFirst: true })).toEqual(all);
      expect(await run({ orgId: a.orgId!, before: newest!.id, newestFirst: true })).toEqual(
        all.slice(1),
      );
      expect(await run({ orgId: a.orgId!, newestFirst: false })).toEqual([...all].reverse());
      expect(await run({ orgId: a.orgId!, pattern: '%gam%', newestFirst: true })).toEqual([
        'a-gamma',
      ]);
      expect(await run({ orgId: a.orgId!, pattern: '%zzz%', newestFirst: true })).toEqual([]);
      // An empty pattern is falsy: no filter, as the builder's own `if` says.
      expect(await run({ orgId: a.orgId!, pattern: '', newestFirst: true })).toEqual(all);
      expect(await run({ orgId: a.orgId!, before: undefined, newestFirst: true })).toEqual(all);
      // (org), (org, before), (org, asc), (org, pattern: both patterns), (org, '') and
      // (org, before: undefined).
      expect(q.builds()).toBe(6);
    }));

  it('refuses an argument spliced into the SQL text', async () => {
    const q = fixedQuery((db, p: { column: string }) =>
      db.selectFrom('prompts').select(sql.ref(`prompts.${p.column}`).as('x')),
    );
    await expect(withSystemRead(database, (tx) => q(tx, { column: 'name' }))).rejects.toThrow(
      "argument 'column' was used as text",
    );
  });

  it('refuses an argument that decides the shape by its content, not as a parameter', async () => {
    const q = fixedQuery((db, p: { orgId: string; sort: string }) =>
      db
        .selectFrom('prompts')
        .select('name')
        .where('org_id', '=', p.orgId)
        .orderBy('name', p.sort === 'desc' ? 'desc' : 'asc'),
    );
    await expect(
      withSystemRead(database, (tx) => q(tx, { orgId: a.orgId!, sort: 'desc' })),
    ).rejects.toThrow("argument 'sort' does not reach the statement as a parameter");
  });

  it('in the test suite, refuses a call whose argument decides a branch by its content as well', async () => {
    // `status` is a parameter, so the check at compile time passes; its marker never equals
    // 'archived', so the shape is the other branch's, and a call with 'archived' would silently
    // run it (one more filter dropped). The suite's verification compares each call's own build.
    const q = fixedQuery((db, p: { orgId: string; status: string }) => {
      const query = db
        .selectFrom('prompts')
        .select('name')
        .where('org_id', '=', p.orgId)
        .where('name', '<>', p.status);
      return p.status === 'archived' ? query.where('description', 'is not', null) : query;
    });
    const run = (status: string) =>
      withSystemRead(database, (tx) => q(tx, { orgId: a.orgId!, status }));
    expect(await run('a-alpha')).toHaveLength(2);
    await expect(run('archived')).rejects.toThrow("this call's own statement is not its shape's");
    // As production runs it (no verification): the wrong branch's statement, no error.
    expect(await unverified(() => run('archived'))).toHaveLength(3);
  });

  it('still runs under the caller’s row-level security', async () => {
    const q = promptsQuery();
    // Org a's context asking for org b's rows: the explicit filter says b, the policy says a.
    const crossed = await withTenantRead(database, a, (tx) =>
      q.run(tx, { orgId: b.orgId!, newestFirst: true }),
    );
    expect(crossed).toEqual([]);
    const own = await withTenantRead(database, b, (tx) =>
      q.run(tx, { orgId: b.orgId!, newestFirst: true }),
    );
    expect(own.map((r) => r.name)).toEqual(names.get('b'));
  });
});
