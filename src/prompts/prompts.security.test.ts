// Hostile cases for a tenant resource: other tenants' ids, mass assignment, malformed input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { as, buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import {
  ADMIN_ENV,
  auditOf,
  type Person,
  postPrompt,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';

let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
let bPrompt: { id: string };

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true, env: { BODY_LIMIT_BYTES: '4096' } });
  a = await createTeam(t.database);
  b = await createTeam(t.database);
  const res = await postPrompt(t.app, as(b.owner, b.org, 'owner'), {
    name: 'secret',
    content: 'b only',
  });
  bPrompt = res.json();
});
afterAll(() => t.close());

const ownerA = () => as(a.owner, a.org, 'owner');

describe('prompts: another tenant', () => {
  it("cannot get, update, delete or list another org's prompt (404, unchanged)", async () => {
    expect(
      (await t.app.inject({ url: `/api/prompts/${bPrompt.id}`, headers: ownerA() })).statusCode,
    ).toBe(404);
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/prompts/${bPrompt.id}`,
      headers: ownerA(),
      payload: { name: 'pwned' },
    });
    expect(patch.statusCode).toBe(404);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/prompts/${bPrompt.id}`,
      headers: ownerA(),
    });
    expect(del.statusCode).toBe(404);
    const list = await t.app.inject({ url: '/api/prompts?limit=100', headers: ownerA() });
    expect(list.json().items.map((x: { id: string }) => x.id)).not.toContain(bPrompt.id);
    const row = await withSystem(t.database, (tx) =>
      tx.selectFrom('prompts').selectAll().where('id', '=', bPrompt.id).executeTakeFirstOrThrow(),
    );
    expect(row).toMatchObject({ name: 'secret', deleted_at: null });
  });

  it('an unknown id is the same 404 as a foreign id', async () => {
    const res = await t.app.inject({ url: `/api/prompts/${newId()}`, headers: ownerA() });
    const foreign = await t.app.inject({ url: `/api/prompts/${bPrompt.id}`, headers: ownerA() });
    expect(res.statusCode).toBe(404);
    const strip = (x: Record<string, unknown>) => ({
      ...x,
      request_id: undefined,
      instance: undefined,
    });
    expect(strip(res.json())).toEqual(strip(foreign.json()));
  });
});

describe('prompts: malformed and hostile input', () => {
  it.each([
    ['org_id', { name: 'x', content: 'y', org_id: newId() }],
    ['owner_id', { name: 'x', content: 'y', owner_id: newId() }],
    ['id', { name: 'x', content: 'y', id: newId() }],
    ['deleted_at', { name: 'x', content: 'y', deleted_at: null }],
  ])('rejects the unknown field %s with 400 and writes nothing', async (field, body) => {
    const before = await countPrompts();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/prompts',
      headers: ownerA(),
      payload: body,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
    expect(res.json().errors).toContainEqual({ field, message: 'is not an allowed field' });
    expect(await countPrompts()).toBe(before);
  });

  it('rejects unknown fields on PATCH too', async () => {
    const mine = await postPrompt(t.app, ownerA(), { name: 'n', content: 'c' });
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/prompts/${mine.json().id}`,
      headers: ownerA(),
      payload: { org_id: b.org.id },
    });
    expect(res.statusCode).toBe(400);
    const empty = await t.app.inject({
      method: 'PATCH',
      url: `/api/prompts/${mine.json().id}`,
      headers: ownerA(),
      payload: {},
    });
    expect(empty.statusCode).toBe(400);
  });

  it.each([
    ['missing name', { content: 'y' }],
    ['blank name', { name: '   ', content: 'y' }],
    ['number as name (no coercion)', { name: 5, content: 'y' }],
    ['null content', { name: 'x', content: null }],
    ['array body', [1, 2]],
  ])('rejects %s with a 400 problem document', async (_label, body) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/prompts',
      headers: ownerA(),
      payload: body as object,
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(res.json().request_id).toBe(res.headers['x-request-id']);
  });

  it('malformed JSON is a 400 malformed_json, never a 500', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/prompts',
      headers: { ...ownerA(), 'content-type': 'application/json' },
      payload: '{"name": "x", ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('malformed_json');
  });

  it('a body over the configured limit is a 413', async () => {
    const res = await postPrompt(t.app, ownerA(), { name: 'big', content: 'x'.repeat(10_000) });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('payload_too_large');
  });

  it('an unsupported content type is a 415', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/prompts',
      headers: { ...ownerA(), 'content-type': 'text/xml' },
      payload: '<x/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
  });

  it.each(['not-a-uuid', '1%27%20or%201=1'])('a malformed id (%s) is a 400', async (id) => {
    const res = await t.app.inject({ url: `/api/prompts/${id}`, headers: ownerA() });
    expect(res.statusCode).toBe(400);
  });

  it.each(['garbage', Buffer.from("' or 1=1 --").toString('base64url'), '%00'])(
    'a forged cursor (%s) is a 400 invalid_cursor or validation error',
    async (cursor) => {
      const res = await t.app.inject({ url: `/api/prompts?cursor=${cursor}`, headers: ownerA() });
      expect(res.statusCode).toBe(400);
      expect(['invalid_cursor', 'validation_failed']).toContain(res.json().code);
    },
  );

  it('limit out of range and unknown query parameters are 400', async () => {
    expect(
      (await t.app.inject({ url: '/api/prompts?limit=0', headers: ownerA() })).statusCode,
    ).toBe(400);
    expect(
      (await t.app.inject({ url: '/api/prompts?limit=1000', headers: ownerA() })).statusCode,
    ).toBe(400);
    expect(
      (await t.app.inject({ url: '/api/prompts?org_id=x', headers: ownerA() })).statusCode,
    ).toBe(400);
  });
});

// X-Switchboard-Org is honoured only for the platform superuser's own token, and only through the
// real token authenticator (the header authenticator above never sets the superuser flag), so this
// runs a second app over the same database with real logins.
describe('prompts: a tenant header for another org', () => {
  let real: TestApp;
  let ra: Team;
  let rb: Team;
  let su: Person;
  let rbPrompt: { id: string };

  beforeAll(async () => {
    real = await buildTestApp({ database: t.database, env: ADMIN_ENV });
    ra = await team(real);
    rb = await team(real, 'Other Co');
    su = await superuser(real);
    const res = await postPrompt(real.app, rb.owner.headers, { name: 'secret', content: 'b only' });
    rbPrompt = res.json();
  });
  afterAll(() => real.close());

  it('is refused for a normal user: the principal comes from auth only', async () => {
    for (const p of [ra.owner, ra.member]) {
      const res = await real.app.inject({
        url: `/api/prompts/${rbPrompt.id}`,
        headers: { ...p.headers, 'x-switchboard-org': rb.org.id },
      });
      expect(res.statusCode).toBe(403);
    }
    expect(
      (await auditOf(real.database, rb.org.id)).filter((e) => e.action === 'superuser.request'),
    ).toEqual([]);
  });

  it('is honoured for the platform superuser, and audited in that org', async () => {
    const res = await real.app.inject({
      url: `/api/prompts/${rbPrompt.id}`,
      headers: { ...su.headers, 'x-switchboard-org': rb.org.id },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: rbPrompt.id, org_id: rb.org.id });
    const acts = (await auditOf(real.database, rb.org.id)).filter(
      (e) => e.action === 'superuser.request',
    );
    expect(acts).toEqual([
      expect.objectContaining({
        actor_user_id: su.user.id,
        actor_type: 'superuser',
        target_id: 'GET /api/prompts/:id',
        outcome: 'success',
      }),
    ]);
  });
});

async function countPrompts() {
  const r = await withSystem(t.database, (tx) =>
    tx
      .selectFrom('prompts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  );
  return Number(r.n);
}
