// Request bodies are read strictly: bytes that are not UTF-8 are refused (never stored with
// U+FFFD), a charset other than UTF-8 and text/plain are 415, a prototype-poisoning key is a 400
// naming it, and a route's 415 names what it does take.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, type Registered, registerUser } from '../test/auth-helpers.ts';

let t: TestApp;
let owner: Registered;
beforeAll(async () => {
  t = await buildTestApp();
  owner = await registerUser(t.app);
});
afterAll(() => t.close());

const post = (url: string, contentType: string, payload: string | Buffer) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { ...bearer(owner.access), 'content-type': contentType },
    payload,
  });

const promptsNamed = (name: string) =>
  withSystem(t.database, (tx) =>
    tx.selectFrom('prompts').select('id').where('name', 'like', `${name}%`).execute(),
  );

describe('JSON bodies', () => {
  it('bytes that are not UTF-8 are a 400 and nothing is stored', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('{"name":"latin1 caf'),
      Buffer.from([0xe9]),
      Buffer.from('","content":"x"}'),
    ]);
    const res = await post('/api/prompts', 'application/json', latin1);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'malformed_json',
      detail: expect.stringMatching(/UTF-8/),
    });
    expect(await promptsNamed('latin1 caf')).toEqual([]);
    // The same text in UTF-8 is stored as sent.
    const ok = await post(
      '/api/prompts',
      'application/json',
      Buffer.from('{"name":"utf8 café","content":"x"}'),
    );
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().name).toBe('utf8 café');
  });

  it('a charset other than UTF-8 is a 415; utf-8 named any way is fine', async () => {
    const body = '{"name":"charset","content":"x"}';
    for (const type of ['application/json; charset=latin1', 'application/json; charset="utf-16"']) {
      const res = await post('/api/prompts', type, body);
      expect(res.statusCode, type).toBe(415);
      expect(res.json().code).toBe('unsupported_media_type');
    }
    for (const type of ['application/json; charset=UTF-8', 'application/json;charset=utf8']) {
      expect((await post('/api/prompts', type, body)).statusCode, type).toBe(201);
    }
  });

  it('text/plain is a 415 on a JSON route, with or without a body schema', async () => {
    const json = await post('/api/prompts', 'text/plain', '{"name":"plain","content":"x"}');
    expect(json.statusCode).toBe(415);
    expect(json.json()).toMatchObject({ code: 'unsupported_media_type' });
    expect((await post('/api/auth/logout', 'text/plain', 'hello')).statusCode).toBe(415);
    expect(await promptsNamed('plain')).toEqual([]);
  });

  it('a __proto__ key, or a constructor holding a prototype, is a 400 naming the key', async () => {
    for (const [raw, key] of [
      ['{"name":"p","content":"x","__proto__":{"admin":true}}', '__proto__'],
      [
        '{"name":"p","content":"x","extra":{"constructor":{"prototype":{}}}}',
        'constructor.prototype',
      ],
    ]) {
      const res = await post('/api/prompts', 'application/json', raw!);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: key, message: 'is not an accepted key' }],
      });
    }
    // A key that merely names them is an ordinary key.
    const fine = await post(
      '/api/prompts',
      'application/json',
      '{"name":"constructor","content":"x"}',
    );
    expect(fine.statusCode, fine.body).toBe(201);
  });

  it('an empty or broken body is still 400 malformed_json', async () => {
    expect((await post('/api/prompts', 'application/json', '')).json()).toMatchObject({
      code: 'malformed_json',
      detail: 'The body is empty but the content type is JSON',
    });
    expect((await post('/api/prompts', 'application/json', '{"name":')).json().code).toBe(
      'malformed_json',
    );
  });
});

describe('the CSV import', () => {
  const url = '/api/orgs/current/do-not-call/import';

  it('refuses a file that is not UTF-8 and stores nothing of it', async () => {
    const file = Buffer.concat([Buffer.from('+14155550177,caf'), Buffer.from([0xe9, 0x0a])]);
    const res = await post(url, 'text/csv', file);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'validation_failed',
      detail: expect.stringMatching(/UTF-8/),
    });
    expect((await post(url, 'text/csv; charset=utf-16', '+14155550177,x\n')).statusCode).toBe(415);
    const listed = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('do_not_call_numbers')
        .select('number')
        .where('number', '=', '+14155550177')
        .execute(),
    );
    expect(listed).toEqual([]);
  });

  it('a form body gets a 415 that names text/csv', async () => {
    const res = await post(url, 'application/x-www-form-urlencoded', '+14155550178,a');
    expect(res.statusCode).toBe(415);
    expect(res.json().detail).toBe('This route accepts text/csv');
  });
});

describe('form bodies', () => {
  const form = (payload: string | Buffer, type = 'application/x-www-form-urlencoded') =>
    t.app.inject({
      method: 'POST',
      url: '/auth/jwt/login',
      headers: { 'content-type': type },
      payload,
    });

  it('percent-escapes or bytes that are not UTF-8 are a 400, never read as U+FFFD', async () => {
    const escaped = await form(`username=${encodeURIComponent(owner.email)}&password=caf%E9`);
    expect(escaped.statusCode, escaped.body).toBe(400);
    expect(escaped.json()).toMatchObject({
      code: 'validation_failed',
      detail: expect.stringMatching(/UTF-8/),
    });
    const raw = Buffer.concat([
      Buffer.from(`username=${encodeURIComponent(owner.email)}&password=caf`),
      Buffer.from([0xe9]),
    ]);
    const bytes = await form(raw);
    expect(bytes.statusCode, bytes.body).toBe(400);
    expect(bytes.json().code).toBe('validation_failed');
  });

  it('a charset other than UTF-8 is a 415; valid UTF-8, + and a literal % still read', async () => {
    const body = `username=${encodeURIComponent(owner.email)}&password=x`;
    const latin1 = await form(body, 'application/x-www-form-urlencoded; charset=iso-8859-1');
    expect(latin1.statusCode).toBe(415);
    expect(latin1.json().code).toBe('unsupported_media_type');
    const ok = await form(
      `username=${encodeURIComponent(owner.email)}&password=${encodeURIComponent(owner.password)}`,
      'application/x-www-form-urlencoded; charset=UTF-8',
    );
    expect(ok.statusCode, ok.body).toBe(200);
    // Read as sent (a wrong password, not a malformed form).
    const odd = await form(`username=${encodeURIComponent(owner.email)}&password=caf%C3%A9+100%`);
    expect(odd.statusCode, odd.body).toBe(401);
  });
});
