// Do-not-call imports at the same moment, on PostgreSQL (one pool, real locks; PGlite runs one
// transaction at a time). An insert of a number another open transaction has just inserted waits
// for that transaction (the (org_id, number) unique index). Two imports naming the same numbers in
// different orders each took the first of their own and then waited for the other's: a deadlock
// (40P01), answered 500 internal_error. Every writer now inserts in one order (by number), so the
// one that waits holds nothing the other needs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { type Team, team } from '../test/org-helpers.ts';
import { pgRaces, type Query } from '../test/pg-race.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t?.close());

const { during } = pgRaces(() => t);

const importCsv = (a: Team, body: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/orgs/current/do-not-call/import',
    headers: { ...a.manager.headers, 'content-type': 'text/csv' },
    payload: body,
  });

/** A do-not-call insert as another import's runs it, in the act's open transaction. */
const listed = (orgId: string, number: string) => async (q: Query) => {
  await q(
    `INSERT INTO do_not_call_numbers (id, org_id, number, reason, added_by)
       VALUES ($1, $2, $3, 'other import', NULL) ON CONFLICT DO NOTHING`,
    [newId(), orgId, number],
  );
};

it('an import waiting for another holds none of the numbers the other still inserts', async () => {
  const a = await team(t, 'DNC import order');
  const low = '+14155550001';
  const high = '+14155550009';
  // The other import has inserted `low` and, once this import waits, goes on to `high`. This file
  // names `high` first: inserted in file order, this import holds `high` while it waits for `low`,
  // and the two wait for each other.
  const res = await during(
    listed(a.org.id, low),
    () => importCsv(a, `${high}\n${low}\n`),
    listed(a.org.id, high),
  );
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toMatchObject({ lines: 2, added: 0, already_listed: 2 });
});

it('two imports of the same 3000 numbers, one file reversed, both answer', async () => {
  const a = await team(t, 'DNC import race');
  const numbers = Array.from({ length: 3000 }, (_, i) => `+1415${String(5_000_000 + i)}`);
  for (let round = 0; round < 3; round++) {
    const some = numbers.map((n) => n.replace(/^\+1415/, `+1${416 + round}`));
    const [x, y] = await Promise.all([
      importCsv(a, some.join('\n')),
      importCsv(a, [...some].reverse().join('\n')),
    ]);
    expect([x.statusCode, y.statusCode], `${x.body} ${y.body}`).toEqual([200, 200]);
    expect(x.json().added + y.json().added).toBe(3000);
  }
});
