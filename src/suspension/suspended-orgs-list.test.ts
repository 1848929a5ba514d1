// The platform superuser's list of suspended orgs reads as an incident log: the latest suspension
// first, whatever the orgs' ages (it was ordered by org id, so an old org suspended today sank
// below every newer one suspended months ago), and its cursor walks that order without skipping
// or repeating an org.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { createOrg } from '../test/factories.ts';
import { ADMIN_ENV, type Person, superuser } from '../test/org-helpers.ts';

let t: TestApp;
let su: Person;
beforeAll(async () => {
  t = await buildTestApp({ env: ADMIN_ENV });
  su = await superuser(t);
});
afterAll(() => t.close());

const suspend = async (orgId: string) => {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/admin/orgs/${orgId}/suspend`,
    headers: su.headers,
    payload: { reason: 'Incident' },
  });
  expect(res.statusCode, res.body).toBe(200);
};

const list = (query: string) =>
  t.app.inject({ url: `/api/admin/suspended-orgs${query}`, headers: su.headers });

it('lists the latest suspension first, and pages through that order', async () => {
  const oldest = await createOrg(t.database, 'Oldest org');
  const middle = await createOrg(t.database, 'Middle org');
  const newest = await createOrg(t.database, 'Newest org');
  // Suspended in the order opposite to their creation, except the middle one, last of all.
  await suspend(newest.id);
  await suspend(oldest.id);
  await suspend(middle.id);
  // Two suspensions in the same millisecond are ordered by id, newest first.
  await withSystem(t.database, (tx) =>
    tx
      .updateTable('orgs')
      .set({ suspended_at: new Date('2026-12-01T10:00:00.123Z') })
      .where('id', 'in', [oldest.id, newest.id])
      .execute(),
  );
  const expected = [middle.id, newest.id, oldest.id];

  const whole = await list('');
  expect(whole.statusCode, whole.body).toBe(200);
  expect(whole.json().items.map((o: { id: string }) => o.id)).toEqual(expected);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await list(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.statusCode, res.body).toBe(200);
    seen.push(...res.json().items.map((o: { id: string }) => o.id));
    cursor = res.json().next_cursor;
  } while (cursor);
  expect(seen).toEqual(expected);
});

it('a forged cursor is 400 invalid_cursor', async () => {
  for (const cursor of [
    'not-a-cursor',
    Buffer.from('01936b2e-0000-7000-8000-000000000000').toString('base64url'),
    Buffer.from('2026-13-01T00:00:00.000Z/01936b2e-0000-7000-8000-000000000000').toString(
      'base64url',
    ),
    // Instants JavaScript holds and PostgreSQL does not.
    ...[
      '-271821-04-20T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      '0000-06-01T00:00:00.000Z',
    ].map((iso) =>
      Buffer.from(`${iso}/01936b2e-0000-7000-8000-000000000000`).toString('base64url'),
    ),
  ]) {
    const res = await list(`?cursor=${cursor}`);
    expect(res.statusCode, cursor).toBe(400);
    expect(res.json().code).toBe('invalid_cursor');
  }
});
