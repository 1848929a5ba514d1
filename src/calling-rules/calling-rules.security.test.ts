// Calling rules, hostile cases: role × route × org (real logins and API keys), another org's
// list and window invisible and untouchable, and row-level security enabled, forced and holding
// in the database itself for the two new tables.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../db/schema.ts';
import { type Tx, withSystem, withTenant } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { createKey, type Team, team } from '../test/org-helpers.ts';
import { uniqueNumber } from '../test/twilio.ts';

let t: TestApp;
let a: Team;
let b: Team;

const WINDOW = '/api/orgs/current/calling-window';
const DNC = '/api/orgs/current/do-not-call';
const ROLES = ['owner', 'admin', 'manager', 'member'] as const;
const aWindow = { time_zone: 'Europe/Berlin', days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' };

beforeAll(async () => {
  t = await buildTestApp();
  a = await team(t, 'Org A');
  b = await team(t, 'Org B');
});
afterAll(async () => {
  await t?.close();
});

const req = (
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  payload?: unknown,
  contentType?: string,
) =>
  t.app.inject({
    method,
    url,
    headers: contentType ? { ...headers, 'content-type': contentType } : headers,
    ...(payload === undefined ? {} : { payload: payload as string }),
  });

describe('role × route', () => {
  it('everyone reads the window; only owners and admins change it', async () => {
    for (const role of ROLES) {
      const h = a[role].headers;
      expect((await req('GET', WINDOW, h)).statusCode, role).toBe(200);
      const put = await req('PUT', WINDOW, h, aWindow);
      const del = await req('DELETE', WINDOW, h);
      if (role === 'owner' || role === 'admin') {
        expect(put.statusCode, role).toBe(200);
        expect(del.statusCode, role).toBe(204);
      } else {
        expect(put.statusCode, role).toBe(403);
        expect(del.statusCode, role).toBe(403);
      }
    }
  });

  it('everyone reads the list; managers and up add, import and delete; members get 403', async () => {
    for (const role of ROLES) {
      const h = a[role].headers;
      expect((await req('GET', DNC, h)).statusCode, role).toBe(200);
      const add = await req('POST', DNC, h, { number: uniqueNumber(), reason: role });
      const csv = await req('POST', `${DNC}/import`, h, `${uniqueNumber()},${role}\n`, 'text/csv');
      if (role === 'member') {
        expect(add.statusCode).toBe(403);
        expect(csv.statusCode).toBe(403);
        const someone = (
          await req('POST', DNC, a.manager.headers, { number: uniqueNumber() })
        ).json();
        expect((await req('DELETE', `${DNC}/${someone.id}`, h)).statusCode).toBe(403);
      } else {
        expect(add.statusCode, role).toBe(201);
        expect(csv.statusCode, role).toBe(200);
        expect((await req('DELETE', `${DNC}/${add.json().id}`, h)).statusCode, role).toBe(204);
      }
    }
  });

  it('without credentials: 401 everywhere', async () => {
    for (const [method, url, body] of [
      ['GET', WINDOW, undefined],
      ['PUT', WINDOW, aWindow],
      ['DELETE', WINDOW, undefined],
      ['GET', DNC, undefined],
      ['POST', DNC, { number: uniqueNumber() }],
      ['DELETE', `${DNC}/${newId()}`, undefined],
    ] as const) {
      expect((await req(method, url, {}, body)).statusCode, `${method} ${url}`).toBe(401);
    }
    const csv = await req('POST', `${DNC}/import`, {}, `${uniqueNumber()}\n`, 'text/csv');
    expect(csv.statusCode).toBe(401);
  });
});

describe('API keys', () => {
  it('do_not_call:read lists; do_not_call:write adds; no scope reaches the window', async () => {
    const reader = await createKey(t.app, a.owner, ['do_not_call:read']);
    const writer = await createKey(t.app, a.admin, ['do_not_call:write', 'do_not_call:read']);
    expect((await req('GET', DNC, reader.headers)).statusCode).toBe(200);
    expect((await req('POST', DNC, reader.headers, { number: uniqueNumber() })).statusCode).toBe(
      403,
    );
    const added = await req('POST', DNC, writer.headers, { number: uniqueNumber() });
    expect(added.statusCode).toBe(201);
    expect(added.json().added_by).toBe(a.admin.user.id);
    expect((await req('GET', WINDOW, writer.headers)).statusCode).toBe(403);
    expect((await req('PUT', WINDOW, writer.headers, aWindow)).statusCode).toBe(403);
  });
});

describe('hostile CSV', () => {
  const importCsv = (body: string, type = 'text/csv') =>
    req('POST', `${DNC}/import`, a.manager.headers, body, type);

  it('NUL and control characters, a formula, binary junk: refused by line, never a 500', async () => {
    const n = uniqueNumber();
    const cases = [
      `${n},nul\u0000byte`,
      `${n},bell\u0007`,
      // C1 controls (CSI, NEL) and the Unicode line separators: terminal escapes and line breaks
      // in whatever later prints the list.
      `${n},csi\u009b31m`,
      `${n},next\u0085line`,
      `${n},line\u2028separator`,
      `\u0000${n}`,
      '=HYPERLINK("http://evil.example"),x',
      '\u00ff\u00fe\u0000\u0001garbage',
      `"${n}"x,reason`,
      `${n},"a""b`,
    ];
    for (const line of cases) {
      const res = await importCsv(`${line}\n`);
      expect(res.statusCode, JSON.stringify(line)).toBe(400);
      // NUL is refused by the app-wide guard on every body ("(body)"), the rest by the parser.
      expect(res.json().errors[0].field, JSON.stringify(line)).toMatch(/^(line 1|\(body\))$/);
    }
    const listed = await req('GET', `${DNC}?number=${encodeURIComponent(n)}`, a.manager.headers);
    expect(listed.json().items).toEqual([]);
  });

  it('a content type with parameters is taken; others are 415', async () => {
    const ok = await importCsv(`${uniqueNumber()}\n`, 'text/csv; charset=utf-8');
    expect(ok.statusCode).toBe(200);
    for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      const body = type === 'application/json' ? '"+14155550100"' : `${uniqueNumber()}`;
      expect((await importCsv(body, type)).statusCode, type).toBe(415);
    }
  });

  it("a CSV body on this plugin's JSON routes is 415 naming JSON, like on every other route", async () => {
    for (const [method, url] of [
      ['POST', DNC],
      ['PUT', WINDOW],
    ] as const) {
      const res = await req(method, url, a.owner.headers, `${uniqueNumber()},x\n`, 'text/csv');
      expect(res.statusCode, url).toBe(415);
      expect(res.json()).toMatchObject({
        code: 'unsupported_media_type',
        detail: 'This route accepts application/json',
      });
    }
  });
});

describe('another org', () => {
  it("never sees, removes or is bound by another org's numbers and window", async () => {
    await req('PUT', WINDOW, a.owner.headers, aWindow);
    const n = uniqueNumber();
    const listed = (
      await req('POST', DNC, a.manager.headers, { number: n, reason: 'A only' })
    ).json();

    expect((await req('GET', WINDOW, b.owner.headers)).json()).toEqual({ window: null });
    const bList = await req('GET', `${DNC}?number=${encodeURIComponent(n)}`, b.owner.headers);
    expect(bList.json().items).toEqual([]);
    const bAll = (await req('GET', `${DNC}?limit=100`, b.owner.headers)).json();
    expect(bAll.items.map((x: { id: string }) => x.id)).not.toContain(listed.id);
    // Deleting A's entry from B: the same 404 as a missing id, and A's entry stays.
    expect((await req('DELETE', `${DNC}/${listed.id}`, b.owner.headers)).statusCode).toBe(404);
    expect((await req('DELETE', `${DNC}/${newId()}`, b.owner.headers)).statusCode).toBe(404);
    const aList = await req('GET', `${DNC}?number=${encodeURIComponent(n)}`, a.member.headers);
    expect(aList.json().items).toHaveLength(1);
    // B may list the same number itself: the list is per org.
    expect((await req('POST', DNC, b.manager.headers, { number: n })).statusCode).toBe(201);
    await req('DELETE', WINDOW, a.owner.headers);
  });
});

describe('row-level security on the new tables', () => {
  const TABLES = ['org_calling_windows', 'do_not_call_numbers'] as const;
  const count = (tx: Tx, table: (typeof TABLES)[number]) =>
    sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`
      .execute(tx)
      .then((r) => r.rows[0]!.n);
  const ctx = (team: Team, role: Role) => ({
    orgId: team.org.id,
    userId: team[role as 'owner'].user.id,
    role,
  });

  beforeAll(async () => {
    await withSystem(t.database, async (tx) => {
      for (const team of [a, b]) {
        await tx
          .insertInto('do_not_call_numbers')
          .values({
            id: newId(),
            org_id: team.org.id,
            number: uniqueNumber(),
            reason: 'rls',
            added_by: null,
          })
          .execute();
        await tx
          .insertInto('org_calling_windows')
          .values({
            org_id: team.org.id,
            time_zone: 'UTC',
            days: sql`'{1,2}'::smallint[]`,
            start_minute: 0,
            end_minute: 60,
            updated_by: null,
            updated_at: new Date(),
          })
          .onConflict((oc) => oc.column('org_id').doNothing())
          .execute();
      }
    });
  });

  it('is enabled and forced', async () => {
    const { rows } = await withSystem(t.database, (tx) =>
      sql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>`
        select relname, relrowsecurity, relforcerowsecurity from pg_class
        where relname in (${sql.join([...TABLES])})`.execute(tx),
    );
    expect(rows).toHaveLength(TABLES.length);
    for (const r of rows) {
      expect(r, r.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
    }
  });

  it('no context sees nothing; an org sees only its own rows', async () => {
    await withTenant(t.database, { orgId: null, userId: null, role: null }, async (tx) => {
      for (const table of TABLES) expect(await count(tx, table), table).toBe(0);
    });
    await withTenant(t.database, ctx(b, 'member'), async (tx) => {
      const orgs = await tx.selectFrom('do_not_call_numbers').select('org_id').distinct().execute();
      expect(orgs.map((o) => o.org_id)).toEqual([b.org.id]);
      const windows = await tx.selectFrom('org_calling_windows').select('org_id').execute();
      expect(windows.map((o) => o.org_id)).toEqual([b.org.id]);
    });
  });

  it("a member cannot write the tables; nobody writes into another org's", async () => {
    const memberInsert = withTenant(t.database, ctx(a, 'member'), (tx) =>
      tx
        .insertInto('do_not_call_numbers')
        .values({ id: newId(), org_id: a.org.id, number: uniqueNumber(), added_by: null })
        .execute(),
    );
    await expect(memberInsert).rejects.toThrow(/row-level security/);
    const crossOrg = withTenant(t.database, ctx(a, 'owner'), (tx) =>
      tx
        .insertInto('do_not_call_numbers')
        .values({ id: newId(), org_id: b.org.id, number: uniqueNumber(), added_by: null })
        .execute(),
    );
    await expect(crossOrg).rejects.toThrow(/row-level security/);
    const deleted = await withTenant(t.database, ctx(a, 'owner'), (tx) =>
      tx.deleteFrom('org_calling_windows').where('org_id', '=', b.org.id).executeTakeFirst(),
    );
    expect(Number(deleted.numDeletedRows)).toBe(0);
  });
});
