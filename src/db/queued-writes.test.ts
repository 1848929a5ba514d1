// Writes queued with sendWithNext (tenant.ts): they ride in the flight of the transaction's next
// statement or of its COMMIT, keep their order, stay atomic with the transaction, and never leave a
// pooled connection inside a transaction. Over a pool of ONE connection, on both databases; the
// round trips are counted on the connection itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { countingFlights, createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { sendWithNext, type TenantContext, type Tx, withTenant, withTenantRead } from './tenant.ts';

let database: TestDatabase;
let team: Awaited<ReturnType<typeof createTeam>>;
let owner: TenantContext;

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 1 });
  team = await createTeam(database);
  owner = { orgId: team.org.id, userId: team.owner.id, role: 'owner' };
});
afterAll(() => database.close());

const counting = () => countingFlights(database);

const prompt = (tx: Tx, name: string, id = newId()) =>
  tx.insertInto('prompts').values({
    id,
    org_id: team.org.id,
    owner_id: team.owner.id,
    name,
    content: 'x',
  });

const named = (name: string) =>
  withTenantRead(database, owner, (tx) =>
    tx.selectFrom('prompts').select('name').where('name', 'like', `${name}%`).execute(),
  );

describe('writes queued with sendWithNext', () => {
  it('a transaction of queued writes only is one round trip, and commits them all', async () => {
    const { db, flights } = counting();
    await withTenant(db, owner, async (tx) => {
      await sendWithNext(tx, prompt(tx, 'only-a'));
      await sendWithNext(tx, prompt(tx, 'only-b'));
    });
    expect(flights()).toBe(1);
    expect((await named('only-')).map((r) => r.name).sort()).toEqual(['only-a', 'only-b']);
  });

  it('queued writes ride with the next statement, which sees them, and the COMMIT', async () => {
    const { db, flights } = counting();
    const seen = await withTenant(db, owner, async (tx) => {
      await sendWithNext(tx, prompt(tx, 'next-a'));
      const rows = await tx
        .selectFrom('prompts')
        .select('name')
        .where('name', 'like', 'next-%')
        .execute();
      await sendWithNext(tx, prompt(tx, 'next-b'));
      return rows.map((r) => r.name);
    });
    expect(seen).toEqual(['next-a']);
    // [BEGIN, context, insert, select] and [insert, COMMIT].
    expect(flights()).toBe(2);
    expect(await named('next-')).toHaveLength(2);
  });

  it('a failing queued write fails the whole transaction; nothing of it stays', async () => {
    const id = newId();
    await withTenant(database, owner, async (tx) => {
      await sendWithNext(tx, prompt(tx, 'dup-first', id));
    });
    for (const queuedOnly of [true, false]) {
      await expect(
        withTenant(database, owner, async (tx) => {
          if (!queuedOnly) await prompt(tx, `dup-sent-${queuedOnly}`).execute();
          await sendWithNext(tx, prompt(tx, `dup-queued-${queuedOnly}`));
          await sendWithNext(tx, prompt(tx, 'dup-again', id)); // primary key taken
        }),
      ).rejects.toThrow();
    }
    expect((await named('dup-')).map((r) => r.name)).toEqual(['dup-first']);
    // The one pooled connection is usable and in no transaction.
    await withTenant(database, owner, (tx) => prompt(tx, 'dup-after').execute());
    expect(await named('dup-after')).toHaveLength(1);
  });

  it('when the transaction throws, what is queued is never sent', async () => {
    const { db, flights } = counting();
    await expect(
      withTenant(db, owner, async (tx) => {
        await sendWithNext(tx, prompt(tx, 'dropped'));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(flights()).toBe(0);
    expect(await named('dropped')).toHaveLength(0);
  });

  it('outside a write transaction it runs at once', async () => {
    await sendWithNext(database.db, prompt(database.db as unknown as Tx, 'at-once'));
    expect(await named('at-once')).toHaveLength(1);
  });
});
