// HTTP tests of /api/prompts: the pattern every tenant resource follows, and its audit trail.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { as, buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import { auditOf, createKey, team as realTeam } from '../test/org-helpers.ts';

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

// A prompt decides what an agent says to callers: who created, changed or deleted one must be in
// the log, in the transaction of the change, without its content (long, and possibly confidential).
describe('/api/prompts: the audit log', () => {
  const SECRET = 'CONFIDENTIAL-PRICING-42';
  const promptTrail = async (orgId: string) =>
    (await auditOf(t.database, orgId)).filter((e) => e.action.startsWith('prompt.'));
  const patch = (id: string, headers: Record<string, string>, payload: object) =>
    t.app.inject({ method: 'PATCH', url: `/api/prompts/${id}`, headers, payload });
  const remove = (id: string, headers: Record<string, string>) =>
    t.app.inject({ method: 'DELETE', url: `/api/prompts/${id}`, headers });

  it('records a create, each change (the fields sent) and a delete, with the name and the content length, never the content', async () => {
    const mine = await createTeam(t.database);
    const ua = { 'user-agent': 'prompt-editor/1.0' };
    const m = { ...as(mine.member, mine.org, 'member'), ...ua };
    const mgr = { ...as(mine.manager, mine.org, 'manager'), ...ua };
    // 📞 is one character of two UTF-16 units: the length counted is the characters'.
    const first = `📞 Greet the caller. ${SECRET}`;
    const created = await create(m, { name: 'Greeter', content: first, description: SECRET });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;

    // Reads are not audited.
    expect((await t.app.inject({ url: `/api/prompts/${id}`, headers: m })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/prompts', headers: mgr })).statusCode).toBe(200);
    expect(await promptTrail(mine.org.id)).toHaveLength(1);

    const second = `Quote ${SECRET} to every caller`;
    const edited = await patch(id, m, { content: second, name: 'Greeter v2' });
    expect(edited.statusCode, edited.body).toBe(200);
    const described = await patch(id, mgr, { description: null });
    expect(described.statusCode, described.body).toBe(200);
    const gone = await remove(id, mgr);
    expect(gone.statusCode).toBe(204);

    const trail = await promptTrail(mine.org.id);
    expect(
      trail.map((e) => [e.action, e.actor_user_id, e.actor_type, e.target_type, e.target_id]),
    ).toEqual([
      ['prompt.create', mine.member.id, 'user', 'prompt', id],
      ['prompt.update', mine.member.id, 'user', 'prompt', id],
      ['prompt.update', mine.manager.id, 'user', 'prompt', id],
      ['prompt.delete', mine.manager.id, 'user', 'prompt', id],
    ]);
    expect(trail.map((e) => e.metadata)).toEqual([
      { name: 'Greeter', content_length: [...first].length },
      { name: 'Greeter v2', changed: 'content name', content_length: second.length },
      { name: 'Greeter v2', changed: 'description', content_length: second.length },
      { name: 'Greeter v2', content_length: second.length },
    ]);
    expect([...first].length).toBe(first.length - 1);
    expect(trail.every((e) => e.org_id === mine.org.id && e.outcome === 'success')).toBe(true);
    expect(trail.every((e) => e.user_agent === 'prompt-editor/1.0')).toBe(true);
    expect(trail.map((e) => e.request_id)).toEqual(
      [created, edited, described, gone].map((r) => r.headers['x-request-id']),
    );
    expect(JSON.stringify(trail)).not.toContain(SECRET);
  });

  it('records nothing for a refused create, change or delete (400, 404), nor for a delete already done', async () => {
    const mine = await createTeam(t.database);
    const m1 = as(mine.member, mine.org, 'member');
    const m2 = as(mine.member2, mine.org, 'member');
    const other = await createTeam(t.database);
    const foreign = (
      await create(as(other.owner, other.org, 'owner'), { name: 'o', content: 'x' })
    ).json().id as string;
    const id = (await create(m1, { name: 'Mine', content: 'x' })).json().id as string;
    const refused = [
      await create(m1, { name: '   ', content: 'x' }),
      await create(m1, { name: 'x', content: 'y', org_id: other.org.id }),
      await patch(id, m1, {}),
      await patch(id, m1, { name: '   ' }),
      await patch(id, m1, { content: '' }),
      await patch(id, m1, { owner_id: mine.member2.id }),
      // Another member's prompt, another org's, an unknown one: the same 404.
      await patch(id, m2, { name: 'taken over' }),
      await remove(id, m2),
      await patch(foreign, m1, { name: 'taken over' }),
      await remove(foreign, m1),
      await patch(newId(), m1, { name: 'nobody' }),
      await remove(newId(), m1),
    ];
    expect(refused.map((r) => r.statusCode)).toEqual([
      400, 400, 400, 400, 400, 400, 404, 404, 404, 404, 404, 404,
    ]);
    expect((await remove(id, m1)).statusCode).toBe(204);
    expect((await remove(id, m1)).statusCode).toBe(404);
    expect((await patch(id, m1, { name: 'after' })).statusCode).toBe(404);
    expect((await promptTrail(mine.org.id)).map((e) => e.action)).toEqual([
      'prompt.create',
      'prompt.delete',
    ]);
    expect((await promptTrail(other.org.id)).map((e) => e.action)).toEqual(['prompt.create']);
  });

  it('names the API key that acted; a key that may not write records nothing (403)', async () => {
    const real = await buildTestApp({ database: t.database });
    try {
      const tm = await realTeam(real);
      const writer = await createKey(real.app, tm.owner, ['prompts:write']);
      const reader = await createKey(real.app, tm.owner, ['prompts:read']);
      const inject = (method: 'POST' | 'PATCH' | 'DELETE', url: string, h: object, body?: object) =>
        real.app.inject({ method, url, headers: h as Record<string, string>, payload: body });
      const made = await inject('POST', '/api/prompts', writer.headers, {
        name: 'From a worker',
        content: 'abc',
      });
      expect(made.statusCode, made.body).toBe(201);
      const id = made.json().id as string;
      const url = `/api/prompts/${id}`;
      expect(
        (await inject('POST', '/api/prompts', reader.headers, { name: 'r', content: 'r' }))
          .statusCode,
      ).toBe(403);
      expect(
        (await inject('PATCH', url, reader.headers, { content: 'overwritten' })).statusCode,
      ).toBe(403);
      expect((await inject('DELETE', url, reader.headers)).statusCode).toBe(403);
      expect((await inject('PATCH', url, writer.headers, { content: 'abcd' })).statusCode).toBe(
        200,
      );
      expect((await inject('DELETE', url, writer.headers)).statusCode).toBe(204);

      const trail = await promptTrail(tm.org.id);
      expect(trail.map((e) => [e.action, e.actor_user_id, e.actor_type, e.metadata])).toEqual([
        [
          'prompt.create',
          tm.owner.user.id,
          'api_key',
          { name: 'From a worker', content_length: 3, api_key_id: writer.id },
        ],
        [
          'prompt.update',
          tm.owner.user.id,
          'api_key',
          { name: 'From a worker', changed: 'content', content_length: 4, api_key_id: writer.id },
        ],
        [
          'prompt.delete',
          tm.owner.user.id,
          'api_key',
          { name: 'From a worker', content_length: 4, api_key_id: writer.id },
        ],
      ]);
    } finally {
      await real.close();
    }
  });

  it('commits the entry with the change: no change without its entry, no entry without its change', async () => {
    const mine = await createTeam(t.database);
    const h = as(mine.owner, mine.org, 'owner');
    const id = (await create(h, { name: 'Kept', content: 'original' })).json().id as string;
    const row = () =>
      withSystem(t.database, (tx) =>
        tx
          .selectFrom('prompts')
          .select(['name', 'content', 'deleted_at'])
          .where('org_id', '=', mine.org.id)
          .orderBy('id')
          .execute(),
      );
    const before = await row();
    expect(before).toEqual([{ name: 'Kept', content: 'original', deleted_at: null }]);

    // The log refuses the entries of prompts (a full disk, a revoked grant would do the same).
    await sql`create function zz_refuse_prompt_audit() returns trigger language plpgsql as $$
      begin
        if new.action like 'prompt.%' then raise exception 'audit log refused'; end if;
        return new;
      end $$`.execute(t.database.db);
    await sql`create trigger zz_refuse_prompt_audit before insert on audit_logs
      for each row execute function zz_refuse_prompt_audit()`.execute(t.database.db);
    try {
      expect((await create(h, { name: 'Unlogged', content: 'x' })).statusCode).toBe(500);
      expect((await patch(id, h, { name: 'Unlogged' })).statusCode).toBe(500);
      expect((await remove(id, h)).statusCode).toBe(500);
    } finally {
      await sql`drop trigger zz_refuse_prompt_audit on audit_logs`.execute(t.database.db);
      await sql`drop function zz_refuse_prompt_audit()`.execute(t.database.db);
    }
    expect(await row()).toEqual(before);

    // The change fails at its commit, after its entry was written: the entry goes with it.
    await sql`create function zz_refuse_prompt_commit() returns trigger language plpgsql as $$
      begin
        if new.name = 'Rolled back' then raise exception 'commit refused'; end if;
        return new;
      end $$`.execute(t.database.db);
    await sql`create constraint trigger zz_refuse_prompt_commit after update on prompts
      deferrable initially deferred
      for each row execute function zz_refuse_prompt_commit()`.execute(t.database.db);
    try {
      expect((await patch(id, h, { name: 'Rolled back' })).statusCode).toBe(500);
      expect(await row()).toEqual(before);
      expect((await patch(id, h, { name: 'Renamed' })).statusCode).toBe(200);
    } finally {
      await sql`drop trigger zz_refuse_prompt_commit on prompts`.execute(t.database.db);
      await sql`drop function zz_refuse_prompt_commit()`.execute(t.database.db);
    }
    expect((await promptTrail(mine.org.id)).map((e) => [e.action, e.metadata])).toEqual([
      ['prompt.create', { name: 'Kept', content_length: 8 }],
      ['prompt.update', { name: 'Renamed', changed: 'name', content_length: 8 }],
    ]);
  });
});
