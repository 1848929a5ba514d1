// Hostile callers of the agent API. Keys without the scope, keys whose creator is now a member,
// people of every role (and the superuser acting in the org), keys of another org, unknown,
// removed and disabled identities, revoked keys, and preferences that break the rules: each gets
// the answer the rules give (403, 404, 401, 422, 400, 413) and nothing is written. Row-level
// security holds the same lines in the database itself.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { withSystem, withTenant } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { appForFile } from '../test/app.ts';
import {
  ADMIN_ENV,
  auditOf,
  createKey,
  type Person,
  person,
  removeMember,
  setRole,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';
import { PREFERENCE_LIMITS } from '../users/preferences.ts';

const t = appForFile({ env: ADMIN_ENV });
let a: Team;
let b: Team;
let root: Person;
/** Org A's worker keys: both agent scopes, made by the owner. */
let keyA: { id: string; headers: Record<string, string> };
let keyB: Record<string, string>;

beforeAll(async () => {
  a = await team(t, 'Org A');
  b = await team(t, 'Org B');
  root = await superuser(t);
  keyA = await createKey(t.app, a.owner, ['agent:context', 'agent:preferences', 'users:read']);
  keyB = (await createKey(t.app, b.owner, ['agent:context', 'agent:preferences', 'users:read']))
    .headers;
  await t.app.inject({
    method: 'PUT',
    url: '/api/users/me/preferences',
    headers: a.member.headers,
    payload: { language: 'fr' },
  });
});

const context = (headers: Record<string, string>, identity: string) =>
  t.app.inject({ url: `/api/agent/context?identity=${identity}`, headers });
const write = (headers: Record<string, string>, identity: string, payload: unknown) =>
  t.app.inject({
    method: 'PUT',
    url: `/api/agent/preferences/${identity}`,
    headers,
    payload: payload as object,
  });
const storedPrefs = (orgId: string, userId: string) =>
  withSystem(t.database, (tx) =>
    tx
      .selectFrom('user_preferences')
      .select('preferences')
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst(),
  ).then((r) => r?.preferences ?? {});

describe('keys without the scope', () => {
  it.each([
    [['prompts:read']],
    [['users:read']],
    [['agent:preferences']],
    [['org:read', 'analytics:read', 'calls:read']],
  ])('%j cannot read the context (403)', async (scopes) => {
    const key = await createKey(t.app, a.owner, scopes);
    const res = await context(key.headers, a.member.user.id);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden');
    expect(res.body).not.toContain('fr');
  });

  it.each([[['agent:context']], [['prompts:write']], [['users:read']]])(
    '%j cannot write a preference (403), nothing stored',
    async (scopes) => {
      const key = await createKey(t.app, a.owner, scopes);
      const res = await write(key.headers, a.member.user.id, { key: 'language', value: 'de' });
      expect(res.statusCode).toBe(403);
      expect(await storedPrefs(a.org.id, a.member.user.id)).toEqual({ language: 'fr' });
    },
  );

  it('a key whose creator is now a member holds the scopes but not the permission (403)', async () => {
    const demoted = await person(t, a.org, 'admin', 'demoted');
    const key = await createKey(t.app, demoted, ['agent:context', 'agent:preferences']);
    const ok = await context(key.headers, a.member.user.id);
    expect(ok.statusCode).toBe(200);
    const res = await setRole(t.app, a.owner, demoted, 'member');
    expect(res.statusCode).toBe(200);
    expect((await context(key.headers, a.member.user.id)).statusCode).toBe(403);
    const w = await write(key.headers, a.member.user.id, { key: 'language', value: 'de' });
    expect(w.statusCode).toBe(403);
  });

  it('a revoked key is 401', async () => {
    const key = await createKey(t.app, a.owner, ['agent:context']);
    await t.app.inject({
      method: 'DELETE',
      url: `/api/api-keys/${key.id}`,
      headers: a.owner.headers,
    });
    expect((await context(key.headers, a.member.user.id)).statusCode).toBe(401);
  });

  it('no credential is 401', async () => {
    expect((await context({}, a.member.user.id)).statusCode).toBe(401);
    expect((await write({}, a.member.user.id, { key: 'k', value: 'v' })).statusCode).toBe(401);
  });
});

describe('people are refused, whatever their role', () => {
  it.each(['owner', 'admin', 'manager', 'member'] as const)(
    'the %s, with a bearer token: 403 on both routes',
    async (role) => {
      const headers = a[role].headers;
      const ctx = await context(headers, a.member.user.id);
      expect(ctx.statusCode).toBe(403);
      expect(ctx.json().code).toBe('forbidden');
      const w = await write(headers, a.member.user.id, { key: 'language', value: 'de' });
      expect(w.statusCode).toBe(403);
      const self = await write(headers, a[role].user.id, { key: 'language', value: 'de' });
      expect(self.statusCode).toBe(403);
    },
  );

  it('the platform superuser acting in the org: 403', async () => {
    const headers = { ...root.headers, 'x-switchboard-org': a.org.id };
    expect((await context(headers, a.member.user.id)).statusCode).toBe(403);
    const w = await write(headers, a.member.user.id, { key: 'language', value: 'de' });
    expect(w.statusCode).toBe(403);
    expect(await storedPrefs(a.org.id, a.member.user.id)).toEqual({ language: 'fr' });
  });
});

describe('identities outside the key’s org', () => {
  it('another org’s user is 404, like an unknown id; nothing is written there', async () => {
    const other = await context(keyB, a.member.user.id);
    const unknown = await context(keyB, newId());
    expect(other.statusCode).toBe(404);
    expect(unknown.statusCode).toBe(404);
    expect(other.json().detail).toBe(unknown.json().detail);
    expect(other.body).not.toContain('fr');
    const w = await write(keyB, a.member.user.id, { key: 'language', value: 'xx' });
    expect(w.statusCode).toBe(404);
    expect(await storedPrefs(a.org.id, a.member.user.id)).toEqual({ language: 'fr' });
    expect(await storedPrefs(b.org.id, a.member.user.id)).toEqual({});
  });

  it('the superuser (no membership in the org) is 404', async () => {
    expect((await context(keyA.headers, root.user.id)).statusCode).toBe(404);
  });

  it('a removed member is 404 for context and writes', async () => {
    const leaving = await person(t, a.org, 'member', 'leaving');
    expect((await context(keyA.headers, leaving.user.id)).statusCode).toBe(200);
    const removed = await removeMember(t.app, a.owner, leaving);
    expect(removed.statusCode).toBe(204);
    expect((await context(keyA.headers, leaving.user.id)).statusCode).toBe(404);
    const w = await write(keyA.headers, leaving.user.id, { key: 'language', value: 'de' });
    expect(w.statusCode).toBe(404);
    expect(await storedPrefs(a.org.id, leaving.user.id)).toEqual({});
  });

  it('a disabled account is 404', async () => {
    const disabled = await person(t, a.org, 'member', 'disabled');
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('users')
        .set({ status: 'disabled' })
        .where('id', '=', disabled.user.id)
        .execute(),
    );
    expect((await context(keyA.headers, disabled.user.id)).statusCode).toBe(404);
  });
});

describe('preferences that break the rules: 422 or 400, nothing written, nothing audited', () => {
  const L = PREFERENCE_LIMITS;
  it.each([
    ['a key with spaces', { key: 'my key', value: 'v' }, 422],
    ['an empty key', { key: '', value: 'v' }, 422],
    ['a key too long', { key: 'k'.repeat(L.maxKeyLength + 1), value: 'v' }, 422],
    ['an empty value', { key: 'language', value: '' }, 422],
    ['a value too long', { key: 'language', value: 'x'.repeat(L.maxValueLength + 1) }, 422],
    // The same rule answers the same, whatever the size (as on /api/users/me/preferences).
    ['a key far too long', { key: 'k'.repeat(300), value: 'v' }, 422],
    ['a value far too long', { key: 'language', value: 'x'.repeat(20_000) }, 422],
    ['a key with a line feed', { key: 'a\nb', value: 'v' }, 422],
    ['a number value', { key: 'language', value: 3 }, 400],
    ['no value', { key: 'language' }, 400],
    ['an extra field', { key: 'language', value: 'de', admin: true }, 400],
    ['a NUL in the value', { key: 'language', value: 'd\u0000e' }, 400],
  ])('%s', async (_label, payload, status) => {
    const before = (await auditOf(t.database, a.org.id)).length;
    const res = await write(keyA.headers, a.member.user.id, payload);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(status === 422 ? 'invalid_preferences' : 'validation_failed');
    expect(await storedPrefs(a.org.id, a.member.user.id)).toEqual({ language: 'fr' });
    expect((await auditOf(t.database, a.org.id)).length).toBe(before);
  });

  it('a key beyond the maximum count is refused; changing an existing key still works', async () => {
    const full = await person(t, a.org, 'member', 'full');
    const map = Object.fromEntries(Array.from({ length: L.maxKeys }, (_, i) => [`k${i}`, 'v']));
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/users/me/preferences',
      headers: full.headers,
      payload: map,
    });
    expect(put.statusCode).toBe(200);
    const more = await write(keyA.headers, full.user.id, { key: 'one_more', value: 'v' });
    expect(more.statusCode).toBe(422);
    expect(more.json().errors[0].rule).toBe('max_keys');
    const change = await write(keyA.headers, full.user.id, { key: 'k0', value: 'changed' });
    expect(change.statusCode).toBe(200);
    const remove = await write(keyA.headers, full.user.id, { key: 'k1', value: null });
    expect(remove.statusCode).toBe(200);
    expect(Object.keys(remove.json().preferences)).toHaveLength(L.maxKeys - 1);
  });

  it('the map’s size is counted as stored: escaped control characters never reach the database’s limit', async () => {
    // Each U+0001 is stored as the 6 bytes \u0001: 11 such values of 1000 characters passed a
    // count of raw bytes and broke the column's CHECK (a 500).
    const who = await person(t, a.org, 'member', 'controls');
    const answers: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await write(keyA.headers, who.user.id, {
        key: `c${i}`,
        value: '\u0001'.repeat(L.maxValueLength),
      });
      answers.push(res.statusCode);
      if (res.statusCode === 422) expect(res.json().errors[0].rule).toBe('max_total_bytes');
    }
    expect(answers.filter((s) => s !== 200 && s !== 422)).toEqual([]);
    expect(answers).toContain(422);
    const stored = await storedPrefs(a.org.id, who.user.id);
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThanOrEqual(L.maxTotalBytes);
  });

  it('a body far over the size limit is 413, nothing written', async () => {
    const res = await write(keyA.headers, a.member.user.id, {
      key: 'language',
      value: 'x'.repeat(2_000_000),
    });
    expect(res.statusCode).toBe(413);
    expect(await storedPrefs(a.org.id, a.member.user.id)).toEqual({ language: 'fr' });
  });
});

describe('row-level security on user_preferences', () => {
  const inTenant = <T>(
    orgId: string,
    userId: string | null,
    role: 'owner' | 'admin' | 'manager' | 'member' | null,
    fn: Parameters<typeof withTenant<T>>[2],
  ) => withTenant(t.database, { orgId, userId, role }, fn);
  const readAll = (orgId: string) =>
    sql<{ user_id: string }>`SELECT user_id FROM user_preferences WHERE org_id = ${orgId}`;

  it('a person sees their own row only, even as the org’s owner', async () => {
    for (const role of ['owner', 'manager', 'member'] as const) {
      const p = a[role];
      const rows = await inTenant(a.org.id, p.user.id, role, async (tx) =>
        (await readAll(a.org.id).execute(tx)).rows.map((r) => r.user_id),
      );
      expect(
        rows.every((id) => id === p.user.id),
        role,
      ).toBe(true);
      // The member has a row (set in beforeAll): only they see it.
      if (role === 'member') expect(rows).toEqual([a.member.user.id]);
      else expect(rows).not.toContain(a.member.user.id);
    }
  });

  it('a person cannot write another member’s row', async () => {
    await expect(
      inTenant(a.org.id, a.owner.user.id, 'owner', (tx) =>
        sql`INSERT INTO user_preferences (org_id, user_id, preferences)
            VALUES (${a.org.id}, ${a.manager.user.id}, '{"x":"y"}')
            ON CONFLICT (org_id, user_id) DO UPDATE SET preferences = EXCLUDED.preferences`.execute(
          tx,
        ),
      ),
    ).rejects.toThrow();
    const updated = await inTenant(a.org.id, a.owner.user.id, 'owner', (tx) =>
      sql`UPDATE user_preferences SET preferences = '{}' WHERE user_id = ${a.member.user.id}`.execute(
        tx,
      ),
    );
    expect(Number(updated.numAffectedRows ?? 0)).toBe(0);
    expect(await storedPrefs(a.org.id, a.member.user.id)).toEqual({ language: 'fr' });
  });

  it('the org service context sees its own org’s rows, never another org’s', async () => {
    const inB = await inTenant(
      b.org.id,
      null,
      null,
      async (tx) => (await readAll(a.org.id).execute(tx)).rows,
    );
    expect(inB).toEqual([]);
    const inA = await inTenant(a.org.id, null, null, async (tx) =>
      (await readAll(a.org.id).execute(tx)).rows.map((r) => r.user_id),
    );
    expect(inA).toContain(a.member.user.id);
    await expect(
      inTenant(b.org.id, null, null, (tx) =>
        sql`INSERT INTO user_preferences (org_id, user_id) VALUES (${a.org.id}, ${a.member.user.id})`.execute(
          tx,
        ),
      ),
    ).rejects.toThrow();
  });

  it('without any context nothing is visible', async () => {
    const rows = await withTenant(
      t.database,
      { orgId: null, userId: null, role: null },
      async (tx) => (await sql`SELECT 1 FROM user_preferences`.execute(tx)).rows,
    );
    expect(rows).toEqual([]);
  });
});
