// A preference written while the person is being removed from the org, on PostgreSQL (real row
// locks; PGlite runs one transaction at a time, so these run only with DATABASE_URL). The removal
// (src/orgs/members.ts) locks the org row exclusively, deactivates the membership and deletes the
// person's preferences there; here it holds those locks in a transaction of its own while the
// write runs into them, then commits (src/test/pg-race.ts). The write must then find no active
// member and leave nothing behind.
//
// What each one needs of src/users/preferences.ts: the membership judged under the org's share
// lock (preference.repository.ts activeMemberUnderOrgLock). Read without it, the write's read sees
// the membership still active, its insert waits for the removal's delete and then runs: 200 (the
// person's own write) and 200 (an agent's), and a map stays behind for someone no longer in the org.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { createKey, type Team, team } from '../test/org-helpers.ts';
import { type Act, pgRaces } from '../test/pg-race.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t?.close());

const { during } = pgRaces(() => t);

/** What a member's removal does, as its transaction holds it: org lock, deactivation, deletion. */
const removal =
  (a: Team): Act =>
  async (q) => {
    await q('SELECT id FROM orgs WHERE id = $1 FOR UPDATE', [a.org.id]);
    await q(`UPDATE memberships SET status = 'deactivated' WHERE org_id = $1 AND user_id = $2`, [
      a.org.id,
      a.member.user.id,
    ]);
    await q('DELETE FROM user_preferences WHERE org_id = $1 AND user_id = $2', [
      a.org.id,
      a.member.user.id,
    ]);
  };

const mapOf = (a: Team) =>
  withSystem(t.database, (tx) =>
    tx
      .selectFrom('user_preferences')
      .select('preferences')
      .where('org_id', '=', a.org.id)
      .where('user_id', '=', a.member.user.id)
      .execute(),
  );

async function rememberedTeam() {
  const a = await team(t);
  const put = await t.app.inject({
    method: 'PUT',
    url: '/api/users/me/preferences',
    headers: a.member.headers,
    payload: { language: 'fr' },
  });
  expect(put.statusCode).toBe(200);
  return a;
}

it('the person’s own write during their removal: 403, nothing left', async () => {
  const a = await rememberedTeam();
  const res = await during(removal(a), () =>
    t.app.inject({
      method: 'PUT',
      url: '/api/users/me/preferences',
      headers: a.member.headers,
      payload: { language: 'de' },
    }),
  );
  expect(res.statusCode).toBe(403);
  expect(await mapOf(a)).toEqual([]);
});

it('an agent’s write for the person during their removal: 404, nothing left', async () => {
  const a = await rememberedTeam();
  const key = await createKey(t.app, a.owner, ['agent:preferences']);
  const res = await during(removal(a), () =>
    t.app.inject({
      method: 'PUT',
      url: `/api/agent/preferences/${a.member.user.id}`,
      headers: key.headers,
      payload: { key: 'language', value: 'de' },
    }),
  );
  expect(res.statusCode).toBe(404);
  expect(await mapOf(a)).toEqual([]);
});
