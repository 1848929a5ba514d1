// Request bodies are read strictly: bytes that are not UTF-8 are refused (never stored with
// U+FFFD), a charset other than UTF-8 and text/plain are 415, a prototype-poisoning key is a 400
// naming it, and a route's 415 names what it does take. A route that declares no body refuses
// fields sent to it, as every route refuses fields it does not know.
import { gzipSync } from 'node:zlib';
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
    // Named, as README promises: what the route takes.
    expect(json.json()).toMatchObject({
      code: 'unsupported_media_type',
      detail: 'This route accepts application/json',
    });
    expect((await post('/api/auth/logout', 'text/plain', 'hello')).statusCode).toBe(415);
    // A form route refusing a type no parser reads names the form type.
    const form = await post('/auth/jwt/login', 'text/plain', 'username=a');
    expect(form.statusCode).toBe(415);
    expect(form.json().detail).toMatch(/^This route accepts .*application\/x-www-form-urlencoded/);
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

describe('a route that takes no JSON', () => {
  /** The routes whose `consumes` leaves JSON out: the form logins, Twilio's webhooks, the import. */
  const noJsonRoutes = () =>
    t.app.routeTable
      .filter((r) => r.method === 'POST')
      .map((r) => ({
        url: r.url,
        consumes: (r.schema as { consumes?: string[] } | undefined)?.consumes,
      }))
      .filter(
        (r): r is { url: string; consumes: string[] } =>
          Array.isArray(r.consumes) && !r.consumes.includes('application/json'),
      );

  it('finds every form-only and CSV-only route', () => {
    expect(noJsonRoutes().map((r) => r.url)).toEqual(
      expect.arrayContaining([
        '/auth/jwt/login',
        '/auth/cookie/login',
        '/webhooks/twilio/voice',
        '/webhooks/twilio/status',
        '/webhooks/twilio/sms',
        '/api/orgs/current/do-not-call/import',
      ]),
    );
  });

  // The content type decides first: whether the refused body would have parsed as JSON must not
  // change the answer (a malformed one was 400 malformed_json, a well-formed one 415).
  it('answers any JSON body 415 naming what it takes, whether or not the body parses', async () => {
    const bodies: [string, string | Buffer][] = [
      ['application/json', '{"username":"a@b.example","password":"x"}'],
      ['application/json', '{"username": '],
      ['application/json', ''],
      ['application/json', Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])],
      ['application/json', '{"__proto__":{"x":1}}'],
      ['application/json; charset=latin1', '{"a":'],
    ];
    for (const route of noJsonRoutes()) {
      for (const [type, payload] of bodies) {
        const label = `${route.url} ${type} ${JSON.stringify(payload.toString())}`;
        const res = await post(route.url, type, payload);
        expect(res.statusCode, `${label}: ${res.body}`).toBe(415);
        expect(res.json(), label).toMatchObject({
          code: 'unsupported_media_type',
          detail: `This route accepts ${route.consumes.join(', ')}`,
        });
      }
    }
  });

  it('a form login sent the right password as JSON logs nobody in', async () => {
    for (const url of ['/auth/jwt/login', '/auth/cookie/login']) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        payload: { username: owner.email, password: owner.password },
      });
      expect(res.statusCode, res.body).toBe(415);
      expect(res.body).not.toContain('access_token');
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it("Twilio's webhooks: the media type is decided before the signature, junk forms are 403", async () => {
    for (const url of [
      '/webhooks/twilio/voice',
      '/webhooks/twilio/status',
      '/webhooks/twilio/sms',
    ]) {
      const json = await t.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: '{"CallSid": ',
      });
      expect(json.statusCode, `${url}: ${json.body}`).toBe(415);
      const form = await t.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'junk=%ZZ&CallSid=x',
      });
      expect(form.statusCode, `${url}: ${form.body}`).toBe(403);
      expect(form.json().code).toBe('invalid_webhook_signature');
    }
  });
});

describe('a route that declares no body', () => {
  it('refuses fields (400 naming each) and does nothing; {} and no body are fine', async () => {
    const setup = await post('/api/auth/mfa/setup', 'application/json', '{"foo":1,"bar":2}');
    expect(setup.statusCode, setup.body).toBe(400);
    expect(setup.json()).toMatchObject({
      code: 'validation_failed',
      errors: [
        { field: 'foo', message: 'is not an allowed field' },
        { field: 'bar', message: 'is not an allowed field' },
      ],
    });
    for (const payload of ['[1]', '"x"', '7']) {
      const res = await post('/api/auth/logout', 'application/json', payload);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().errors).toEqual([{ field: 'body', message: 'must be empty ({} or none)' }]);
    }
    // Nothing was done: the session is still alive.
    const me = await t.app.inject({ url: '/auth/me', headers: bearer(owner.access) });
    expect(me.statusCode).toBe(200);
    expect((await post('/api/auth/mfa/setup', 'application/json', '{}')).statusCode).toBe(200);
    expect((await post('/api/auth/mfa/setup', 'application/json', 'null')).statusCode).toBe(200);
    const bare = await t.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/setup',
      headers: bearer(owner.access),
    });
    expect(bare.statusCode).toBe(200);
  });

  it('a body sent to no route is answered 404, or 405 for a method the path does not take, not 400', async () => {
    const nowhere = await post('/api/nowhere', 'application/json', '{"a":1}');
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json().code).toBe('route_not_found');
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/prompts/${crypto.randomUUID()}`,
      headers: { ...bearer(owner.access), 'content-type': 'application/json' },
      payload: '{"name":"x"}',
    });
    expect(put.statusCode, put.body).toBe(405);
    expect(put.json().code).toBe('method_not_allowed');
    // Whatever the body: a form (a mistyped webhook URL), broken JSON, bytes that are not UTF-8,
    // a compressed body. Its type and bytes are judged only by a route that takes it.
    const bodies: [string, string | Buffer, Record<string, string>?][] = [
      ['application/x-www-form-urlencoded', 'CallSid=CA1&CallStatus=completed'],
      ['application/x-www-form-urlencoded', Buffer.from([0x61, 0x3d, 0xff])],
      ['application/json', '{"a":'],
      ['application/json', Buffer.from([0x7b, 0xff, 0x7d])],
      ['application/json', '{"a":1}', { 'content-encoding': 'gzip' }],
    ];
    for (const [type, payload, extra] of bodies) {
      const label = `${type} ${String(payload)}`;
      const lost = await t.app.inject({
        method: 'POST',
        url: '/webhooks/twilio/voices',
        headers: { 'content-type': type, ...extra },
        payload,
      });
      expect(lost.statusCode, label).toBe(404);
      expect(lost.json().code, label).toBe('route_not_found');
      const wrongMethod = await t.app.inject({
        method: 'PUT',
        url: '/api/prompts',
        headers: { ...bearer(owner.access), 'content-type': type, ...extra },
        payload,
      });
      expect(wrongMethod.statusCode, label).toBe(405);
      expect(wrongMethod.headers.allow, label).toBe('GET, HEAD, POST');
    }
  });
});

describe('a Content-Encoding', () => {
  const encoded = (encoding: string, payload: string | Buffer, type = 'application/json') =>
    t.app.inject({
      method: 'POST',
      url: '/api/prompts',
      headers: { ...bearer(owner.access), 'content-type': type, 'content-encoding': encoding },
      payload,
    });

  it('gzip, br or an unknown coding is a 415 saying what is taken, and nothing is stored', async () => {
    const json = JSON.stringify({ name: 'encoded-gzip', content: 'Be brief.' });
    for (const [coding, payload] of [
      ['gzip', gzipSync(json)],
      ['br', json],
      ['x-nonsense', json],
      ['identity, gzip', gzipSync(json)],
    ] as const) {
      const res = await encoded(coding, payload);
      expect(res.statusCode, coding).toBe(415);
      expect(res.json().code).toBe('unsupported_media_type');
      expect(res.headers['accept-encoding']).toBe('identity');
    }
    const csv = await t.app.inject({
      method: 'POST',
      url: '/api/orgs/current/do-not-call/import',
      headers: { ...bearer(owner.access), 'content-type': 'text/csv', 'content-encoding': 'gzip' },
      payload: gzipSync('number\n+14155550100\n'),
    });
    expect(csv.statusCode).toBe(415);
    // The LiveKit webhook reads its body as text for the signature: the same rule, before it.
    const hook = await t.app.inject({
      method: 'POST',
      url: '/webhooks/livekit',
      headers: {
        'content-type': 'application/webhook+json',
        'content-encoding': 'gzip',
        authorization: 'x',
      },
      payload: gzipSync('{}'),
    });
    expect(hook.statusCode).toBe(415);
    expect(hook.json().code).toBe('unsupported_media_type');
    expect(await promptsNamed('encoded-')).toEqual([]);
  });

  it('identity is the body as sent', async () => {
    const res = await encoded(
      'identity',
      JSON.stringify({ name: 'encoded-identity', content: 'Be brief.' }),
    );
    expect(res.statusCode, res.body).toBe(201);
  });
});
