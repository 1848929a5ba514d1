// lockStanding on both databases: what it answers for each standing, that it leaves the org row
// and the account row locked by the transaction (the order and the races are in
// standing.pg.test.ts), and that both locking statements cost one round trip.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Org, User } from '../db/schema.ts';
import { type Tx, withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { countingFlights, createTestDatabase, type TestDatabase } from '../test/db.ts';
import { addMember, createOrg, createUser } from '../test/factories.ts';
import { lockMember, lockStanding } from './standing.ts';

let database: TestDatabase;
let org: Org;
let admin: User;
let outsider: User;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 1 });
  org = await createOrg(database, 'Standing Co');
  admin = await createUser(database);
  outsider = await createUser(database);
  await addMember(database, org, admin, 'admin');
});
afterAll(() => database.close());

const judged = (orgId: string, userId: string) =>
  withSystem(database, (tx) => lockStanding(tx, orgId, userId));

/** True when the row's lock is held by the current transaction (xmax is its id, locker only). */
async function lockedHere(tx: Tx, table: 'orgs' | 'users', id: string): Promise<boolean> {
  const r = await sql<{ mine: boolean }>`
    select xmax::text = (pg_current_xact_id()::text::bigint % 4294967296)::text as mine
      from ${sql.table(table)} where id = ${id}`.execute(tx);
  return r.rows[0]?.mine === true;
}

describe('lockStanding', () => {
  it("answers the org, today's role and the account, in one round trip", async () => {
    const { db, flights } = countingFlights(database);
    const s = await withSystem(db, (tx) => lockStanding(tx, org.id, admin.id));
    expect(s).toMatchObject({ role: 'admin', superuser: false, fullName: admin.full_name });
    expect(s.org).toMatchObject({ id: org.id, name: 'Standing Co', suspended_at: null });
    // [BEGIN, context, the org's lock, the account's lock and the read]; the COMMIT sends nothing
    // else, but is a flight of its own.
    expect(flights()).toBe(2);
  });

  it('leaves the org row and then the account row locked by its transaction', async () => {
    const locks = await withSystem(database, async (tx) => {
      await lockStanding(tx, org.id, admin.id);
      return [await lockedHere(tx, 'orgs', org.id), await lockedHere(tx, 'users', admin.id)];
    });
    expect(locks).toEqual([true, true]);
  });

  it('a non-member has no role; lockMember refuses them', async () => {
    expect(await judged(org.id, outsider.id)).toMatchObject({ role: null, superuser: false });
    await expect(
      withSystem(database, (tx) => lockMember(tx, org.id, outsider.id)),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('an unknown org or account is forbidden', async () => {
    await expect(judged(newId(), admin.id)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(judged(org.id, newId())).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('a disabled account and a suspended org are refused; the superuser is not', async () => {
    const disabled = await createUser(database);
    await addMember(database, org, disabled, 'member');
    const suspended = await createOrg(database, 'Suspended Co');
    const member = await createUser(database);
    const superuser = await createUser(database);
    await addMember(database, suspended, member, 'owner');
    await withSystem(database, async (tx) => {
      await tx
        .updateTable('users')
        .set({ status: 'disabled' })
        .where('id', '=', disabled.id)
        .execute();
      await tx
        .updateTable('users')
        .set({ is_superuser: true })
        .where('id', '=', superuser.id)
        .execute();
      await tx
        .updateTable('orgs')
        .set({ suspended_at: new Date(), suspension_kind: 'suspension', suspended_reason: 'test' })
        .where('id', '=', suspended.id)
        .execute();
    });
    await expect(judged(org.id, disabled.id)).rejects.toMatchObject({ code: 'account_disabled' });
    await expect(judged(suspended.id, member.id)).rejects.toMatchObject({ code: 'org_suspended' });
    expect(await judged(suspended.id, superuser.id)).toMatchObject({ role: null, superuser: true });
  });
});
