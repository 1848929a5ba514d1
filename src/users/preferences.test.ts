// /api/users/me/preferences: a member reads and replaces their own map in their current org; the
// rules (key charset and length, value length, count, total size) answer 422 with every broken
// rule named and change nothing; the audit log names keys, never values; another org (the same
// person's other membership) has its own map; the digest follows the content, not the order;
// removing a member from an org deletes their map there, in the removal's transaction.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TenantContext, withSystem, withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { activateMembership } from '../orgs/member.repository.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer } from '../test/auth-helpers.ts';
import { addMember, createOrg } from '../test/factories.ts';
import { auditOf, createKey, logIn, removeMember, type Team, team } from '../test/org-helpers.ts';
import { ensurePreferencesRow, savePreferences } from './preference.repository.ts';
import {
  checkPreferences,
  digestOf,
  jsonBytes,
  PREFERENCE_LIMITS,
  preferencesDigest,
  setOnePreference,
} from './preferences.ts';

let t: TestApp;
let a: Team;
const url = '/api/users/me/preferences';

beforeAll(async () => {
  t = await buildTestApp();
  a = await team(t);
});
afterAll(() => t.close());

const put = (headers: Record<string, string>, payload: unknown) =>
  t.app.inject({ method: 'PUT', url, headers, payload: payload as object });
const get = (headers: Record<string, string>) => t.app.inject({ url, headers });

describe('a member’s own preferences', () => {
  it('start empty, then hold exactly the map last put, keys sorted', async () => {
    const empty = await get(a.member.headers);
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual({ preferences: {}, updated_at: null });

    const first = await put(a.member.headers, { preferred_name: 'Sam', language: 'fr' });
    expect(first.statusCode).toBe(200);
    expect(first.json().preferences).toEqual({ language: 'fr', preferred_name: 'Sam' });
    expect(Object.keys(first.json().preferences)).toEqual(['language', 'preferred_name']);
    expect(Date.parse(first.json().updated_at)).not.toBeNaN();

    const second = await put(a.member.headers, { language: 'de', 'voice.speed': '1.2' });
    expect(second.json().preferences).toEqual({ language: 'de', 'voice.speed': '1.2' });
    expect((await get(a.member.headers)).json().preferences).toEqual({
      language: 'de',
      'voice.speed': '1.2',
    });
  });

  it('are the caller’s only: another member of the same org sees their own', async () => {
    await put(a.member.headers, { language: 'fr' });
    expect((await get(a.manager.headers)).json().preferences).toEqual({});
    await put(a.manager.headers, { language: 'en' });
    expect((await get(a.member.headers)).json().preferences).toEqual({ language: 'fr' });
  });

  it('are audited with key names only, never values', async () => {
    await put(a.admin.headers, { secret_word: 'swordfish', language: 'fr' });
    await put(a.admin.headers, { language: 'it' });
    const rows = (await auditOf(t.database, a.org.id)).filter(
      (r) => r.action === 'preferences.replace' && r.target_id === a.admin.user.id,
    );
    expect(rows.map((r) => r.metadata)).toEqual([
      { keys_set: 'language,secret_word', keys_removed: '' },
      { keys_set: 'language', keys_removed: 'secret_word' },
    ]);
    expect(JSON.stringify(rows)).not.toContain('swordfish');
    expect(rows.every((r) => r.actor_user_id === a.admin.user.id && r.actor_type === 'user')).toBe(
      true,
    );
  });

  it('are kept per org: the same person’s other membership has its own map', async () => {
    const other = await createOrg(t.database, 'Other Co');
    await addMember(t.database, other, a.owner.user, 'member');
    await put(a.owner.headers, { language: 'fr' });
    const switched = await t.app.inject({
      method: 'POST',
      url: '/api/auth/switch-org',
      headers: a.owner.headers,
      payload: { org_id: other.id },
    });
    expect(switched.statusCode).toBe(200);
    const there = bearer(switched.json().access_token);
    expect((await get(there)).json().preferences).toEqual({});
    await put(there, { language: 'ja' });
    const back = await logIn(t.app, a.owner.email);
    expect((await get(bearer(back.access))).json().preferences).toEqual({ language: 'fr' });
  });

  it('{} forgets everything', async () => {
    await put(a.member.headers, { a: '1' });
    const res = await put(a.member.headers, {});
    expect(res.statusCode).toBe(200);
    expect(res.json().preferences).toEqual({});
  });
});

describe('the rules: 422 invalid_preferences, nothing changed', () => {
  const L = PREFERENCE_LIMITS;
  const manyKeys = Object.fromEntries(
    Array.from({ length: L.maxKeys + 1 }, (_, i) => [`k${i}`, 'v']),
  );
  const big = Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`k${i}`, 'x'.repeat(L.maxValueLength)]),
  );
  const cases: [string, Record<string, string>, string][] = [
    ['a key with a space', { 'my key': 'v' }, 'key_charset'],
    ['a key starting with _', { _proto: 'v' }, 'key_charset'],
    ['a key with a slash', { 'a/b': 'v' }, 'key_charset'],
    ['a non-ASCII key', { langue_é: 'v' }, 'key_charset'],
    ['an empty key', { '': 'v' }, 'key_length'],
    ['a key too long', { ['k'.repeat(L.maxKeyLength + 1)]: 'v' }, 'key_length'],
    ['an empty value', { language: '' }, 'value_empty'],
    ['a blank value', { language: '   ' }, 'value_empty'],
    ['a value too long', { language: 'x'.repeat(L.maxValueLength + 1) }, 'value_length'],
    ['too many keys', manyKeys, 'max_keys'],
    ['too many bytes in all', big, 'max_total_bytes'],
  ];

  it.each(cases)('%s', async (_label, body, rule) => {
    await put(a.member.headers, { language: 'fr' });
    const res = await put(a.member.headers, body);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const problem = res.json();
    expect(problem.code).toBe('invalid_preferences');
    expect(problem.errors.map((e: { rule: string }) => e.rule)).toContain(rule);
    expect((await get(a.member.headers)).json().preferences).toEqual({ language: 'fr' });
  });

  it('a value of exactly the maximum length, in multi-byte characters, is accepted', async () => {
    const res = await put(a.member.headers, { name: 'é'.repeat(L.maxValueLength) });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['a number value', { language: 1 }],
    ['a nested object', { language: { code: 'fr' } }],
    ['an array body', ['language']],
    ['a null value', { language: null }],
    // A JSON Schema pattern's `.` stops at line terminators: a map schema that checked values only
    // through a pattern of keys left these keys' values unchecked (a 500 when read as strings).
    ['a number under a key with a line feed', { 'a\nb': 1 }],
    ['an object under a key with a carriage return', { 'a\rb': { x: 1 } }],
    ['a number under a key with U+2028', { 'a\u2028b': 1 }],
    ['a null under a key with U+2029', { 'a\u2029b': null }],
  ])('%s is not the shape: 400 validation_failed', async (_label, body) => {
    await put(a.member.headers, { language: 'fr' });
    const res = await put(a.member.headers, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect((await get(a.member.headers)).json().preferences).toEqual({ language: 'fr' });
  });

  it('a key with a line break and a string value is a bad key, echoed on one line', async () => {
    const res = await put(a.member.headers, { 'a\nb': 'v', 'c\u2028d': 'v' });
    expect(res.statusCode, res.body).toBe(422);
    const errors: { field: string; rule: string }[] = res.json().errors;
    expect(errors.map((e) => e.rule)).toEqual(['key_charset', 'key_charset']);
    expect(errors.map((e) => e.field)).toEqual(['a\\u000ab', 'c\\u2028d']);
    const one = await put(a.member.headers, { 'x\r\ny': 'v' });
    expect(one.json().detail).toBe(`x\\u000d\\u000ay: ${one.json().errors[0].message}`);
  });

  it('the map check refuses a value that is not a string itself (400), whatever the schema', () => {
    const refused = (() => {
      try {
        checkPreferences({ language: 'fr', 'a\nb': 1 as unknown as string });
      } catch (e) {
        return e;
      }
    })();
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('validation_failed');
  });

  it('the size counts the map as stored: 11 values of 1000 control characters are refused', async () => {
    // Raw, 11,000 bytes; as JSON (and in the jsonb column) each U+0001 is the 6 bytes \u0001.
    await put(a.member.headers, { language: 'fr' });
    const map = Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`k${i}`, '\u0001'.repeat(L.maxValueLength)]),
    );
    const res = await put(a.member.headers, map);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().errors.map((e: { rule: string }) => e.rule)).toEqual(['max_total_bytes']);
    expect((await get(a.member.headers)).json().preferences).toEqual({ language: 'fr' });
  });

  it('a map of exactly the maximum size, as JSON, is stored; one byte more is not', async () => {
    // Worst case for the database's own limit: values of characters JSON escapes.
    const c = '\u0001';
    const map = { k0: c.repeat(L.maxValueLength), k1: c.repeat(L.maxValueLength), k2: '' };
    while (jsonBytes(map) + 6 <= L.maxTotalBytes) map.k2 += c;
    while (jsonBytes(map) < L.maxTotalBytes) map.k2 += 'x';
    expect(jsonBytes(map)).toBe(L.maxTotalBytes);
    expect(checkPreferences(map)).toEqual([]);
    expect((await put(a.member.headers, map)).statusCode).toBe(200);
    const over = await put(a.member.headers, { ...map, k2: `${map.k2}x` });
    expect(over.statusCode).toBe(422);
    expect(over.json().errors[0].rule).toBe('max_total_bytes');
  });

  it('the measure is the stored jsonb text less its ", " and ": " spaces', async () => {
    const map = {
      k: 'a\u0001\u001f\n\r\t\b\f"\\/\u007f\u0085\u2028\u2029é€😀',
      'k.2': 'x',
      '10': '"quoted"',
    };
    const stored = await withSystem(t.database, (tx) =>
      sql<{ n: number }>`select octet_length(${JSON.stringify(map)}::jsonb::text) as n`.execute(tx),
    );
    const n = Object.keys(map).length;
    expect(Number(stored.rows[0]?.n)).toBe(jsonBytes(map) + 2 * n - 1);
  });

  it('names every broken entry, and echoes a long key shortened', async () => {
    const long = 'k'.repeat(500);
    const res = await put(a.member.headers, { 'bad key': 'v', [long]: 'v', ok: '' });
    expect(res.statusCode).toBe(422);
    const fields = res.json().errors.map((e: { field: string }) => e.field);
    expect(fields).toContain('bad key');
    expect(fields).toContain('ok');
    expect(fields.some((f: string) => f.startsWith('kkkk') && f.length <= 81)).toBe(true);
  });
});

describe('a map stored under the older count (raw bytes of keys and values)', () => {
  it('can be trimmed by an agent write that grows nothing; a write that grows it is refused', async () => {
    // 16 values of 1000 quotes: 16 KiB of raw text (the old rule's count) but twice that as JSON.
    const legacy = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`k${String(i).padStart(2, '0')}`, '"'.repeat(1000)]),
    );
    expect(jsonBytes(legacy)).toBeGreaterThan(PREFERENCE_LIMITS.maxTotalBytes);
    const { org_id: orgId, user_id: userId } = { org_id: a.org.id, user_id: a.admin.user.id };
    await withSystem(t.database, async (tx) => {
      await ensurePreferencesRow(tx, orgId, userId);
      await savePreferences(tx, orgId, userId, legacy);
    });
    const write = (key: string, value: string | null) =>
      withSystem(t.database, (tx) => setOnePreference(tx, orgId, userId, key, value));

    const trimmed = await write('k00', 'short');
    expect(trimmed.changed).toBe(true);
    expect(trimmed.preferences.k00).toBe('short');
    await expect(write('k01', `${'"'.repeat(999)}'`)).resolves.toMatchObject({ changed: true });
    // Over the rule and growing: a new key, or a longer value.
    await expect(write('k99', 'x')).rejects.toMatchObject({ code: 'invalid_preferences' });
    await expect(write('k00', 'longer than before')).rejects.toMatchObject({
      code: 'invalid_preferences',
    });
    expect((await write('k02', null)).preferences.k02).toBeUndefined();
  });
});

describe('the digest', () => {
  it('depends on the entries, not their order, and changes with any value', () => {
    expect(digestOf({ a: '1', b: '2' })).toBe(digestOf({ b: '2', a: '1' }));
    expect(digestOf({ a: '1', b: '2' })).not.toBe(digestOf({ a: '1', b: '3' }));
    expect(digestOf({ ab: 'c' })).not.toBe(digestOf({ a: 'bc' }));
    expect(digestOf({ a: '1' })).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(digestOf({})).toBeNull();
  });

  it('hashes the entries in code-point order, integer-like keys too', () => {
    const expected = createHash('sha256')
      .update(
        JSON.stringify([
          ['10', 'b'],
          ['2', 'a'],
          ['a', 'c'],
        ]),
        'utf8',
      )
      .digest('base64url')
      .slice(0, 16);
    expect(digestOf({ '2': 'a', a: 'c', '10': 'b' })).toBe(expected);
  });

  it('is unchanged for maps without integer-like keys (pinned)', () => {
    const map = { preferred_name: 'Sam', language: 'fr', 'voice.speed': '1.2', A1: 'x', '01': 'y' };
    expect(digestOf(map)).toBe('vxdZF06nGSXBq3BF');
  });

  it('preferencesDigest reads the stored map in the caller’s transaction', async () => {
    await put(a.member.headers, { language: 'fr', preferred_name: 'Sam' });
    const ctx = { orgId: a.org.id, userId: a.member.user.id, role: 'member' as const };
    const digest = await withTenant(t.database, ctx, (tx) =>
      preferencesDigest(tx, a.member.user.id, a.org.id),
    );
    expect(digest).toBe(digestOf({ preferred_name: 'Sam', language: 'fr' }));
  });
});

describe('removing a member from the org', () => {
  /** Every stored map, straight from the database: [org, user, map]. */
  const stored = (...userIds: string[]) =>
    withSystem(t.database, (tx) =>
      tx
        .selectFrom('user_preferences')
        .select(['org_id', 'user_id', 'preferences'])
        .where('user_id', 'in', userIds)
        .orderBy('org_id')
        .orderBy('user_id')
        .execute(),
    );
  const removal = async (orgId: string, userId: string) =>
    (await auditOf(t.database, orgId)).filter(
      (e) => e.action === 'member.remove' && e.target_id === userId,
    );

  it('deletes exactly their map in that org, says so in the removal’s audit entry, and a return finds none', async () => {
    const b = await team(t, 'Removal Co');
    const other = await createOrg(t.database, 'Their Other Co');
    await addMember(t.database, other, b.member.user, 'member');
    expect((await put(b.member.headers, { preferred_name: 'Sam' })).statusCode).toBe(200);
    expect((await put(b.manager.headers, { language: 'en' })).statusCode).toBe(200);
    const switched = await t.app.inject({
      method: 'POST',
      url: '/api/auth/switch-org',
      headers: b.member.headers,
      payload: { org_id: other.id },
    });
    expect(switched.statusCode).toBe(200);
    expect((await put(bearer(switched.json().access_token), { language: 'ja' })).statusCode).toBe(
      200,
    );

    // An admin (not the owner): the row-level security of the admin's context allows it.
    expect((await removeMember(t.app, b.admin, b.member)).statusCode).toBe(204);

    const ids = [b.member.user.id, b.manager.user.id];
    const left = await stored(...ids);
    expect(left.map((r) => [r.org_id, r.user_id, r.preferences])).toEqual(
      [
        [b.org.id, b.manager.user.id, { language: 'en' }],
        [other.id, b.member.user.id, { language: 'ja' }],
      ].sort((x, y) => (x[0] as string).localeCompare(y[0] as string)),
    );
    const entries = await removal(b.org.id, b.member.user.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.metadata).toMatchObject({ role: 'member', preferences_removed: 1 });
    expect(JSON.stringify(entries)).not.toContain('Sam');

    // Added back (a membership brought back, as an invitation or an admin does): nothing is
    // remembered, neither for the person nor for the org's agent workers.
    await withSystem(t.database, (tx) =>
      activateMembership(tx, b.org.id, b.member.user.id, 'member'),
    );
    const back = await logIn(t.app, b.member.email);
    expect((await get(bearer(back.access))).json()).toEqual({ preferences: {}, updated_at: null });
    const key = await createKey(t.app, b.owner, ['agent:context']);
    const context = await t.app.inject({
      url: `/api/agent/context?identity=${b.member.user.id}`,
      headers: key.headers,
    });
    expect(context.statusCode).toBe(200);
    expect(context.json().preferences).toEqual({});
  });

  it('a member who stored nothing: 0 removed, said so', async () => {
    const b = await team(t, 'Nothing Stored Co');
    expect((await removeMember(t.app, b.owner, b.manager)).statusCode).toBe(204);
    const entries = await removal(b.org.id, b.manager.user.id);
    expect(entries.map((e) => e.metadata)).toEqual([
      expect.objectContaining({ role: 'manager', preferences_removed: 0 }),
    ]);
  });

  /** A DELETE of a member's map sent straight under `ctx`: the rows the database let it take. */
  const deleteUnderContext = (ctx: TenantContext, orgId: string, userId: string) =>
    withTenant(t.database, ctx, (tx) =>
      tx
        .deleteFrom('user_preferences')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .returning('user_id')
        .execute(),
    );

  it("only a removal deletes a map: neither its person nor the org's agents (service context) can", async () => {
    const b = await team(t, 'Delete Only On Removal Co');
    expect((await put(b.member.headers, { language: 'de' })).statusCode).toBe(200);
    const ctxs = [
      // The person, on their own row (which they may read and write).
      { orgId: b.org.id, userId: b.member.user.id, role: 'member' as const },
      // The org acting as itself, as the agent routes do (it reads and writes the org's rows).
      { orgId: b.org.id, userId: null, role: null },
    ];
    for (const ctx of ctxs) {
      expect(await deleteUnderContext(ctx, b.org.id, b.member.user.id)).toEqual([]);
    }
    expect((await stored(b.member.user.id)).map((r) => r.preferences)).toEqual([
      { language: 'de' },
    ]);
  });

  it('an owner or admin still neither reads nor deletes the map of an active member', async () => {
    const b = await team(t, 'Still Private Co');
    expect((await put(b.member.headers, { language: 'fr' })).statusCode).toBe(200);
    for (const role of ['owner', 'admin'] as const) {
      const ctx = { orgId: b.org.id, userId: b[role].user.id, role };
      const seen = await withTenant(t.database, ctx, (tx) =>
        tx
          .selectFrom('user_preferences')
          .select('user_id')
          .where('user_id', '=', b.member.user.id)
          .execute(),
      );
      expect(seen).toEqual([]);
      expect(await deleteUnderContext(ctx, b.org.id, b.member.user.id)).toEqual([]);
    }
    expect((await stored(b.member.user.id)).map((r) => r.preferences)).toEqual([
      { language: 'fr' },
    ]);
  });
});
