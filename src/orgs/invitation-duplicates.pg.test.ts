// Migration 0030 over what a running system already holds: addresses with several open
// invitations into one org (two admins inviting at the same moment left two live links; a
// re-invite after an expiry left the expired one open beside the new one). The newest of each
// (org, address) is kept; the older ones are revoked with no revoker; then the unique index admits
// no second one. Runs only with DATABASE_URL: the database is taken back to before 0030 by hand,
// with rows, and migrated again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashToken } from '../crypto/tokens.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam, uniqueEmail } from '../test/factories.ts';
import { undoMigrationsFrom } from '../test/migration-undo.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

const HOUR = 3_600_000;

it('0030 keeps the newest open invitation of each address into an org, revokes the others, then refuses a second', async () => {
  await undoMigrationsFrom(database.url!, '2026_12_05_0030');
  const a = await createTeam(database);
  const b = await createTeam(database);
  const twice = uniqueEmail('two-links');
  const expiredOnly = uniqueEmail('expired-link');
  const used = uniqueEmail('used-link');
  const now = Date.now();
  const ids: Record<string, string> = {};
  const row = (
    name: string,
    orgId: string,
    email: string,
    createdHoursAgo: number,
    more: { expiresInHours?: number; accepted?: boolean; revoked?: boolean } = {},
  ) => {
    ids[name] = newId(now - createdHoursAgo * HOUR);
    const invitedBy = orgId === a.org.id ? a.owner.id : b.owner.id;
    return {
      id: ids[name],
      org_id: orgId,
      email,
      role: 'member' as const,
      token_hash: hashToken(`token of ${ids[name]}`),
      invited_by: invitedBy,
      created_at: new Date(now - createdHoursAgo * HOUR),
      expires_at: new Date(now + (more.expiresInHours ?? 24) * HOUR),
      accepted_at: more.accepted ? new Date(now - HOUR) : null,
      revoked_at: more.revoked ? new Date(now - HOUR) : null,
      revoked_by: more.revoked ? invitedBy : null,
    };
  };
  await withSystem(database, (tx) =>
    tx
      .insertInto('invitations')
      .values([
        // Three open links to one address: one expired, two live (two admins at once).
        row('expiredDup', a.org.id, twice, 200, { expiresInHours: -30 }),
        row('olderLive', a.org.id, twice, 3),
        row('newest', a.org.id, twice, 2),
        // The same address into another org: its own.
        row('otherOrg', b.org.id, twice, 1),
        // An expired link alone: left open (a re-invite closes it).
        row('expiredAlone', a.org.id, expiredOnly, 200, { expiresInHours: -30 }),
        // Accepted and revoked ones are not open: they count for nothing.
        row('accepted', a.org.id, used, 5, { accepted: true }),
        row('revoked', a.org.id, used, 4, { revoked: true }),
        row('openBesideThem', a.org.id, used, 6),
      ])
      .execute(),
  );

  expect(await migrateToLatest(database.db)).toEqual([
    '2026_12_05_0030_invitation_one_open_per_address',
  ]);
  const after = await withSystem(database, (tx) =>
    tx
      .selectFrom('invitations')
      .select(['id', 'accepted_at', 'revoked_at', 'revoked_by'])
      .where('id', 'in', Object.values(ids))
      .execute(),
  );
  const state = Object.fromEntries(
    Object.entries(ids).map(([name, id]) => {
      const r = after.find((x) => x.id === id)!;
      const s = r.accepted_at ? 'accepted' : r.revoked_at ? 'revoked' : 'open';
      return [name, s === 'revoked' && r.revoked_by === null ? 'revoked by the system' : s];
    }),
  );
  expect(state).toEqual({
    expiredDup: 'revoked by the system',
    olderLive: 'revoked by the system',
    newest: 'open',
    otherOrg: 'open',
    expiredAlone: 'open',
    accepted: 'accepted',
    revoked: 'revoked',
    openBesideThem: 'open',
  });

  // The index now refuses a second open invitation of an address into an org.
  await expect(
    withSystem(database, (tx) =>
      tx
        .insertInto('invitations')
        .values({ ...row('second', a.org.id, twice, 0), created_at: new Date() })
        .execute(),
    ),
  ).rejects.toMatchObject({ code: '23505', constraint: 'invitations_one_open_per_address' });
});
