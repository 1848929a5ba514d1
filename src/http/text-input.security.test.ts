// Text PostgreSQL cannot store (U+0000, unpaired surrogates) is refused at validation, for every
// part of every request, with a 400 naming the field; a database refusal of such text that still
// gets through is a 400 as well, never a 500. Names people read hold a visible character and no
// direction controls (READABLE_NAME).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, type Registered, registerUser } from '../test/auth-helpers.ts';
import { classify } from './problem.ts';
import { BAD_TEXT_MESSAGE, createValidatorCompiler, findBadText } from './validation.ts';

let t: TestApp;
let owner: Registered;

beforeAll(async () => {
  t = await buildTestApp();
  owner = await registerUser(t.app);
});
afterAll(() => t.close());

const postJson = (url: string, raw: string) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { ...bearer(owner.access), 'content-type': 'application/json' },
    payload: raw,
  });

function expectRefused(res: { statusCode: number; json(): unknown }, field: string) {
  expect(res.statusCode).toBe(400);
  expect(res.json()).toMatchObject({
    code: 'validation_failed',
    errors: [{ field, message: BAD_TEXT_MESSAGE }],
  });
}

describe('NUL and unpaired surrogates in requests', () => {
  it('POST /api/orgs {"name":"\\u0000"} is a 400 naming the field, not a 500', async () => {
    expectRefused(await postJson('/api/orgs', '{"name":"\\u0000"}'), 'name');
    expectRefused(await postJson('/api/orgs', '{"name":"Acme\\u0000Voice"}'), 'name');
  });

  it('a lone high, a lone low or a reversed surrogate pair is refused; a real pair is fine', async () => {
    for (const s of ['\\ud800', 'x\\udfff', '\\udc00\\ud800', 'a\\ud83d']) {
      expectRefused(await postJson('/api/orgs', `{"name":"${s}"}`), 'name');
    }
    const ok = await postJson('/api/orgs', '{"name":"Voice \\ud83d\\ude00 Labs"}');
    expect(ok.statusCode).toBe(201);
    expect(ok.json().name).toBe('Voice 😀 Labs');
  });

  it('a long text field (prompt content) is refused the same way', async () => {
    expectRefused(
      await postJson('/api/prompts', '{"name":"p","content":"hello\\u0000world"}'),
      'content',
    );
  });

  it('query strings and path params are checked too', async () => {
    const q = await t.app.inject({
      url: '/api/audit-logs?cursor=%00',
      headers: bearer(owner.access),
    });
    expectRefused(q, 'cursor');
    expectRefused(await t.app.inject({ url: '/problems/%00' }), 'code');
    // A lone surrogate has no UTF-8 form; its CESU-8 bytes do not decode: a problem document.
    const bad = await t.app.inject({ url: '/problems/%ED%A0%80' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(bad.json()).toMatchObject({ code: 'validation_failed', request_id: expect.any(String) });
  });
});

describe('the shared validator (every schema of every route part)', () => {
  const compile = createValidatorCompiler();

  it('checks strings in arrays, nested objects, free-form objects and object keys', () => {
    const validate = compile({
      httpPart: 'body',
      schema: {
        type: 'object',
        properties: {
          tags: { type: 'array', items: { type: 'string' } },
          nested: { type: 'object', properties: { deep: { type: 'array' } } },
          free: { type: 'object' },
        },
      },
    });
    expect(validate({ tags: ['ok', 'fine 😀'], free: { a: 'b' } })).toBe(true);
    const cases: [unknown, string][] = [
      [{ tags: ['ok', 'b\0d'] }, '/tags/1'],
      [{ nested: { deep: [[{ x: '\ud800' }]] } }, '/nested/deep/0/0/x'],
      [{ free: { 'k\0': 1 } }, '/free/k\uFFFD'],
      [{ free: { 'a/b': '\udc00' } }, '/free/a~1b'],
    ];
    for (const [data, path] of cases) {
      expect(validate(data)).toBe(false);
      expect(validate.errors?.[0]).toMatchObject({ instancePath: path, message: BAD_TEXT_MESSAGE });
    }
  });

  it('checks headers, query strings and params (coerced parts) and form-decoded bodies', () => {
    const headers = compile({
      httpPart: 'headers',
      schema: { type: 'object', properties: { 'x-thing': { type: 'string' } } },
    });
    expect(headers({ 'x-thing': 'a\0' })).toBe(false);
    const query = compile({
      httpPart: 'querystring',
      schema: { type: 'object', properties: { ids: { type: 'array', items: { type: 'string' } } } },
    });
    expect(query({ ids: 'one\0' })).toBe(false);
    expect(query.errors?.[0]?.instancePath).toBe('/ids/0');
    // @fastify/formbody hands the validator plain objects of strings and string arrays.
    const form = compile({
      httpPart: 'body',
      schema: { type: 'object', patternProperties: { '^[A-Z]': {} } },
    });
    expect(form({ Body: ['hi', 'there\0'] })).toBe(false);
  });

  it('a deeply nested value cannot overflow the stack', () => {
    let deep: unknown = 'x\0';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findBadText(deep)).toMatch(/^(\/0){200000}$/);
  });
});

describe('second line of defence: the database refuses the text', () => {
  it.each([
    ['NUL in text', sql`select ${'a\u0000b'}::text as v`],
    ['NUL escape in jsonb', sql`select ${'{"a":"\\u0000"}'}::jsonb as v`],
  ])('%s is classified as a 400, not a 500', async (_name, query) => {
    const err = await query.execute(t.database.db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(classify(err).code).toBe('validation_failed');
  });
});

describe('names people read', () => {
  const NAMED = [
    ['/api/orgs', (name: string) => ({ name })],
    ['/api/prompts', (name: string) => ({ name, content: 'Be brief.' })],
  ] as const;

  const BLANK = 'must not be blank';
  const BIDI = 'must not hold direction-control characters (U+202A–U+202E, U+2066–U+2069)';
  it.each([
    ['a zero-width space alone', '\\u200b', BLANK],
    ['spaces and a zero-width joiner', ' \\u200d ', BLANK],
    ['a Hangul filler (a letter drawn as nothing)', '\\u3164', BLANK],
    ['Braille blanks and a halfwidth Hangul filler', '\\u2800\\u2800\\uffa0', BLANK],
    ['control characters and a tab', '\\u0007\\t\\u0085', BLANK],
    ['a right-to-left override', '\\u202eevil', BIDI],
    ['a first-strong isolate', 'Acme\\u2068Corp', BIDI],
  ])('%s is a 400 on name', async (_label, raw, message) => {
    for (const [url, body] of NAMED) {
      const res = await postJson(url, JSON.stringify(body('X')).replace('"X"', `"${raw}"`));
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: 'name', message }],
      });
    }
  });

  it('letters of any script, emoji, and a zero-width joiner inside a visible name are fine', async () => {
    for (const name of ['Ünïcödé Støre', 'שלום', 'مرحبا', '東京 Voice', 'Team 👩\u200d💻']) {
      for (const [url, body] of NAMED) {
        const res = await postJson(url, JSON.stringify(body(name)));
        expect(res.statusCode, `${url} ${name}`).toBe(201);
      }
    }
  });
});

describe('names that may be blank', () => {
  const BIDI = 'must not hold direction-control characters (U+202A–U+202E, U+2066–U+2069)';
  const patchMe = (raw: string) =>
    t.app.inject({
      method: 'PATCH',
      url: '/api/users/me',
      headers: { ...bearer(owner.access), 'content-type': 'application/json' },
      payload: `{"full_name":"${raw}"}`,
    });

  it('a full name, a company name or a phone label with a direction control is a 400 naming it', async () => {
    const me = await patchMe('Alice \\u202eeciffo');
    expect(me.statusCode).toBe(400);
    expect(me.json().errors).toEqual([{ field: 'full_name', message: BIDI }]);
    const signUp = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: `{"email":"bidi-${Date.now()}@example.test","password":"correct horse battery staple 2026","company_name":"Acme\\u2067Bank"}`,
    });
    expect(signUp.statusCode).toBe(400);
    expect(signUp.json().errors).toEqual([{ field: 'company_name', message: BIDI }]);
    const phone = await postJson(
      '/api/phones',
      '{"number":"+14155550142","label":"Front\\u202adesk"}',
    );
    expect(phone.statusCode).toBe(400);
    expect(phone.json().errors).toEqual([{ field: 'label', message: BIDI }]);
  });

  it('a full name that shows nothing is no name, wherever it is set', async () => {
    const res = await patchMe(' \\u200b\\u3164 ');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().full_name).toBeNull();
  });

  it('any script, and blank, are fine', async () => {
    for (const name of ['שלום עליכם', 'José Ñúñez', '']) {
      const res = await patchMe(name);
      expect(res.statusCode, name).toBe(200);
    }
  });

  it('a sign-up whose company name shows nothing is a personal workspace, not an org named blank', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: `{"email":"blank-co-${Date.now()}@example.test","password":"correct horse battery staple 2026","full_name":" \\u200b ","company_name":"\\u200b \\u200d"}`,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().org.kind).toBe('personal');
    expect(res.json().org.name).toMatch(/[a-z]/);
    expect(res.json().user.full_name).toBeNull();
  });

  it("the compatibility path's display_name refuses direction controls too", async () => {
    const res = await postJson(
      '/api/create_user',
      '{"email":"compat-bidi@example.test","display_name":"Bob\\u202e"}',
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'display_name', message: BIDI }]);
  });
});
