// HTTP tests of /api/prompts: the pattern every tenant resource follows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';

let t: TestApp;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
  team = await createTeam(t.database);
});
afterAll(() => t.close());

const owner = () => as(team.owner, team.org, 'owner');
const member = () => as(team.member, team.org, 'member');
const manager = () => as(team.manager, team.org, 'manager');

async function create(headers: Record<string, string>, body: object) {
  return t.app.inject({ method: 'POST', url: '/api/prompts', headers, payload: body });
}

describe('/api/prompts', () => {
  it('creates, gets, updates and soft-deletes a prompt with snake_case JSON', async () => {
    const res = await create(owner(), {
      name: 'Greeter',
      content: 'Say hello',
      description: 'first',
    });
    expect(res.statusCode).toBe(201);
    const p = res.json();
    expect(p).toMatchObject({
      name: 'Greeter',
      content: 'Say hello',
      description: 'first',
      org_id: team.org.id,
      owner_id: team.owner.id,
    });
    expect(Object.keys(p).sort()).toEqual(
      [
        'content',
        'created_at',
        'description',
        'id',
        'name',
        'org_id',
        'owner_id',
        'updated_at',
      ].sort(),
    );

    const got = await t.app.inject({ url: `/api/prompts/${p.id}`, headers: owner() });
    expect(got.statusCode).toBe(200);
    expect(got.json().id).toBe(p.id);

    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/prompts/${p.id}`,
      headers: owner(),
      payload: { content: 'Say hi', description: null },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Greeter', content: 'Say hi', description: null });

    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/prompts/${p.id}`,
      headers: owner(),
    });
    expect(del.statusCode).toBe(204);
    const gone = await t.app.inject({ url: `/api/prompts/${p.id}`, headers: owner() });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().code).toBe('not_found');
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/prompts/${p.id}`,
      headers: owner(),
    });
    expect(again.statusCode).toBe(404);
  });

  it('lists newest first with cursor pagination and no duplicates or gaps', async () => {
    const mine = await createTeam(t.database);
    const h = as(mine.owner, mine.org, 'owner');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await create(h, { name: `p${i}`, content: 'x' })).json().id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await t.app.inject({ url: `/api/prompts?limit=3${q}`, headers: h });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items.map((x: { id: string }) => x.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by name', async () => {
    const mine = await createTeam(t.database);
    const h = as(mine.owner, mine.org, 'owner');
    await create(h, { name: 'Sales opener', content: 'x' });
    await create(h, { name: 'Support', content: 'x' });
    const res = await t.app.inject({ url: '/api/prompts?q=sales', headers: h });
    expect(res.json().items.map((x: { name: string }) => x.name)).toEqual(['Sales opener']);
  });

  it('members see only their own prompts; managers see all of the org', async () => {
    const mine = await createTeam(t.database);
    const m1 = as(mine.member, mine.org, 'member');
    const m2 = as(mine.member2, mine.org, 'member');
    const p1 = (await create(m1, { name: 'm1', content: 'x' })).json();
    const p2 = (await create(m2, { name: 'm2', content: 'x' })).json();

    const list1 = await t.app.inject({ url: '/api/prompts', headers: m1 });
    expect(list1.json().items.map((x: { id: string }) => x.id)).toEqual([p1.id]);
    expect((await t.app.inject({ url: `/api/prompts/${p2.id}`, headers: m1 })).statusCode).toBe(
      404,
    );
    const edit = await t.app.inject({
      method: 'PATCH',
      url: `/api/prompts/${p2.id}`,
      headers: m1,
      payload: { name: 'mine now' },
    });
    expect(edit.statusCode).toBe(404);
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/api/prompts/${p2.id}`, headers: m1 }))
        .statusCode,
    ).toBe(404);

    const mgr = as(mine.manager, mine.org, 'manager');
    const all = await t.app.inject({ url: '/api/prompts', headers: mgr });
    expect(
      all
        .json()
        .items.map((x: { id: string }) => x.id)
        .sort(),
    ).toEqual([p1.id, p2.id].sort());
    const mgrEdit = await t.app.inject({
      method: 'PATCH',
      url: `/api/prompts/${p2.id}`,
      headers: mgr,
      payload: { name: 'edited by manager' },
    });
    expect(mgrEdit.statusCode).toBe(200);
    for (const role of ['admin', 'owner'] as const) {
      const res = await t.app.inject({
        url: `/api/prompts/${p1.id}`,
        headers: as(mine[role], mine.org, role),
      });
      expect(res.statusCode).toBe(200);
    }
  });

  it('requires authentication', async () => {
    const res = await t.app.inject({ url: '/api/prompts' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'unauthenticated', status: 401 });
  });

  it('manager and member can both create', async () => {
    expect((await create(manager(), { name: 'a', content: 'b' })).statusCode).toBe(201);
    expect((await create(member(), { name: 'a', content: 'b' })).statusCode).toBe(201);
  });
});
