// Every route the OpenAPI document lists is described well enough for an integrator's generated
// client: a unique camelCase operationId (verbNoun), a summary, a declared tag, its security
// (`security: []` when it takes no credential) and at least one 4xx problem answer. This walks the
// app's own route table, so a route added anywhere is caught here, with the file to fix, before
// the slower Redocly lint (openapi-lint.test.ts) runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteSummary } from '../app.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, registerUser } from '../test/auth-helpers.ts';
import { API_TAGS, serverUrl } from './api-docs.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ env: { PUBLIC_URL: 'https://voice.acme.test' } });
});
afterAll(() => t.close());

interface DocumentedSchema {
  hide?: boolean;
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  response?: Record<string, unknown>;
}

/** The routes @fastify/swagger puts in the document: not hidden, HEAD left out (its default). */
function documented(): { route: string; schema: DocumentedSchema }[] {
  return t.app.routeTable
    .filter((r: RouteSummary) => r.method !== 'HEAD')
    .filter((r) => !(r.schema as DocumentedSchema | undefined)?.hide)
    .map((r) => ({
      route: `${r.method} ${r.url}`,
      schema: (r.schema ?? {}) as DocumentedSchema,
    }));
}

const OPERATION_ID = /^[a-z]+[A-Z][A-Za-z0-9]*$/;

describe('every documented route', () => {
  it('finds the routes (the walk itself works)', () => {
    const routes = documented().map((r) => r.route);
    expect(routes.length).toBeGreaterThan(80);
    expect(routes).toContain('GET /health');
    expect(routes).not.toContain('GET /openapi.json');
  });

  it('has a camelCase verbNoun operationId', () => {
    const missing = documented()
      .filter((r) => !r.schema.operationId || !OPERATION_ID.test(r.schema.operationId))
      .map((r) => `${r.route} (operationId: ${r.schema.operationId ?? 'none'})`);
    expect(
      missing,
      'add `operationId: "verbNoun"` (camelCase, e.g. listDevices) to these routes\' schema, or `hide: true` if they are not part of the API (see the route rules in ARCHITECTURE.md)',
    ).toEqual([]);
  });

  it('has an operationId no other route uses', () => {
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    for (const r of documented()) {
      const id = r.schema.operationId;
      if (!id) continue;
      const other = seen.get(id);
      if (other) clashes.push(`${id}: ${other} and ${r.route}`);
      seen.set(id, r.route);
    }
    expect(clashes, 'operationIds must be unique in the document').toEqual([]);
  });

  it('has a summary and only tags that src/app/api-docs.ts declares (with a description)', () => {
    const known = new Set<string>(API_TAGS.map((tag) => tag.name));
    const bad = documented()
      .filter(
        (r) =>
          !r.schema.summary || !r.schema.tags?.length || r.schema.tags.some((x) => !known.has(x)),
      )
      .map((r) => `${r.route} (tags: ${r.schema.tags?.join(', ') ?? 'none'})`);
    expect(bad, 'give these routes a summary and a tag listed in API_TAGS').toEqual([]);
  });

  it('declares its security: `security: []` when public, the schemes it accepts otherwise', () => {
    const schemes = new Set(['bearerAuth', 'cookieAuth']);
    const bad = documented()
      .filter(
        (r) =>
          !Array.isArray(r.schema.security) ||
          r.schema.security.some((s) => Object.keys(s).some((k) => !schemes.has(k))),
      )
      .map((r) => r.route);
    expect(
      bad,
      'set `security: []` on public routes, [{ bearerAuth: [] }, { cookieAuth: [] }] on the others',
    ).toEqual([]);
  });

  it('declares at least one 4xx answer', () => {
    const bad = documented()
      .filter(
        (r) => !Object.keys(r.schema.response ?? {}).some((code) => /^4(\d\d|xx)$/i.test(code)),
      )
      .map((r) => r.route);
    expect(bad, 'declare the problem answers with responses() from src/http/schemas.ts').toEqual(
      [],
    );
  });

  it('lists 404 wherever a credential is taken, and 429 wherever an API key is', () => {
    // X-Switchboard-Org naming an unknown org is a 404 on any authenticated route; an API key
    // over RATE_LIMIT_API_KEY is a 429 on any route that takes keys (not the account routes).
    const statuses = (route: string) =>
      Object.keys(documented().find((r) => r.route === route)?.schema.response ?? {});
    expect(statuses('GET /api/prompts')).toEqual(expect.arrayContaining(['404', '429']));
    expect(statuses('GET /api/auth/verify')).toEqual(expect.arrayContaining(['404', '429']));
    expect(statuses('GET /api/users/me')).toContain('404');
    expect(statuses('GET /api/users/me')).not.toContain('429');
    // A path parameter over 100 characters is a 414.
    expect(statuses('GET /api/prompts/:id')).toContain('414');
    expect(statuses('GET /api/prompts')).not.toContain('414');
    const missing = documented()
      .filter((r) => {
        const security = r.schema.security ?? [];
        return security.length > 0 && security.every((s) => Object.keys(s).length > 0);
      })
      .filter((r) => !('404' in (r.schema.response ?? {})))
      .map((r) => r.route);
    expect(missing).toEqual([]);
  });
});

describe('the document itself', () => {
  it('names PUBLIC_URL as its server, tags with descriptions and a license', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    const doc = res.json();
    expect(doc.servers).toEqual([
      { url: 'https://voice.acme.test', description: expect.any(String) },
    ]);
    expect(doc.info.license).toMatchObject({ name: expect.any(String) });
    for (const tag of doc.tags) expect(tag.description, tag.name).toMatch(/\w/);
  });

  it('a loopback PUBLIC_URL (development) becomes a relative server URL', () => {
    expect(serverUrl('http://localhost:8000')).toBe('/');
    expect(serverUrl('http://127.0.0.1:8000/sb/')).toBe('/sb');
    expect(serverUrl('https://voice.acme.test/sb')).toBe('https://voice.acme.test/sb');
  });
});

describe('the document', () => {
  it('lists every problem answer under application/problem+json, the media type it is sent with', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { responses?: Record<string, { content?: object }> }>>;
    };
    const misfiled: string[] = [];
    let problems = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          if (Number(status) < 400) continue;
          problems += 1;
          const types = Object.keys(response.content ?? {});
          if (types.join() !== 'application/problem+json') {
            misfiled.push(`${method.toUpperCase()} ${path} ${status}: ${types.join(', ')}`);
          }
        }
      }
    }
    expect(problems).toBeGreaterThan(500);
    expect(misfiled).toEqual([]);
    // What the server sends for one of them.
    const res = await t.app.inject({ url: '/problems/no_such_code' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('answers to wait on', () => {
  it('document Retry-After on every 429 and 503, once under components.headers', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<string, { responses?: Record<string, { headers?: Record<string, unknown> }> }>
      >;
      components: { headers?: Record<string, { schema?: object }> };
    };
    const missing: string[] = [];
    let waits = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          if (status !== '429' && status !== '503') continue;
          waits += 1;
          if (
            (response.headers?.['Retry-After'] as { $ref?: string } | undefined)?.$ref !==
            '#/components/headers/RetryAfter'
          ) {
            missing.push(`${method.toUpperCase()} ${path} ${status}`);
          }
        }
      }
    }
    expect(waits).toBeGreaterThan(200);
    expect(missing).toEqual([]);
    expect(doc.components.headers?.RetryAfter?.schema).toEqual({ type: 'integer', minimum: 0 });
  });
});

type HeaderDoc = { description?: string; schema?: { type?: string } };
interface HeadersDoc {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { headers?: Record<string, HeaderDoc> }> }>
  >;
}

/** The cookie attributes a documented Set-Cookie gives `name`: the `(…; …)` after its name. */
function documentedAttributes(description: string, name: string): string[] | undefined {
  const m = new RegExp(`\`${name}\` \\(([^)]*)\\)`).exec(description);
  return m?.[1]?.split('; ');
}

/** The same attributes of a cookie the server really sent (those the description lists). */
function sentAttributes(c: { path?: string; httpOnly?: boolean; sameSite?: string }): string[] {
  return [...(c.httpOnly ? ['HttpOnly'] : []), `SameSite=${c.sameSite}`, `Path=${c.path}`];
}

describe('response headers clients depend on', () => {
  const headersOf = async () => (await t.app.inject({ url: '/openapi.json' })).json() as HeadersDoc;
  const header = (doc: HeadersDoc, operation: string, name: string) => {
    const [method = '', path = '', status = ''] = operation.split(' ');
    return doc.paths[path]?.[method]?.responses?.[status]?.headers?.[name];
  };
  // Every answer that calls the cookie setters of src/auth/cookies.ts (session-response.ts).
  const setting = [
    'post /api/auth/register 201',
    'post /api/auth/login 200',
    'post /auth/cookie/login 204',
    'post /api/auth/refresh 200',
    'post /api/auth/mfa/verify 200',
    'post /api/auth/switch-org 200',
    'post /api/invitations/accept 201',
  ];
  const clearing = [
    'post /api/auth/logout 204',
    'post /api/auth/logout-all 204',
    'post /auth/logout 204',
    'post /api/auth/refresh 401',
  ];

  it('Set-Cookie on every answer that sets the session cookies, with the attributes a sign-up really sends', async () => {
    const doc = await headersOf();
    const user = await registerUser(t.app);
    const sent = user.res.cookies as {
      name: string;
      path?: string;
      httpOnly?: boolean;
      sameSite?: string;
    }[];
    expect(sent.map((c) => c.name).sort()).toEqual(['sb_access', 'sb_csrf', 'sb_refresh']);
    for (const operation of setting) {
      const h = header(doc, operation, 'Set-Cookie');
      expect(h?.schema, operation).toEqual({ type: 'string' });
      for (const c of sent) {
        const documented = documentedAttributes(h?.description ?? '', c.name);
        expect(documented, `${operation}: ${c.name}`).toEqual(
          expect.arrayContaining(sentAttributes(c)),
        );
        expect(documented?.includes('HttpOnly'), `${operation}: ${c.name}`).toBe(
          c.httpOnly === true,
        );
      }
    }
    // Only where cookies are set: not the sign-up that waits for its verification mail, not the
    // acceptance into an org by an existing account, not the bearer-only form login.
    for (const operation of [
      'post /api/auth/register 202',
      'post /api/invitations/accept 200',
      'post /auth/jwt/login 200',
    ]) {
      expect(header(doc, operation, 'Set-Cookie'), operation).toBeUndefined();
    }
  });

  it('Set-Cookie on every answer that clears them, with the paths a logout really clears', async () => {
    const doc = await headersOf();
    const user = await registerUser(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer(user.access),
    });
    expect(res.statusCode).toBe(204);
    const cleared = res.cookies as { name: string; value: string; path?: string }[];
    expect(cleared.map((c) => c.name).sort()).toEqual(['sb_access', 'sb_csrf', 'sb_refresh']);
    for (const operation of clearing) {
      const description = header(doc, operation, 'Set-Cookie')?.description ?? '';
      expect(description, operation).toMatch(/clears/i);
      for (const c of cleared) {
        expect(c.value).toBe('');
        expect(documentedAttributes(description, c.name), `${operation}: ${c.name}`).toEqual([
          `Path=${c.path}`,
        ]);
      }
    }
    // The refresh's 401 as documented: a refused token clears them, a request with none does not.
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: 'x'.repeat(40) },
    });
    expect(refused.statusCode).toBe(401);
    expect((refused.cookies as { name: string }[]).map((c) => c.name).sort()).toEqual([
      'sb_access',
      'sb_csrf',
      'sb_refresh',
    ]);
    const none = await t.app.inject({ method: 'POST', url: '/api/auth/refresh' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['set-cookie']).toBeUndefined();
  });

  it('the audio download documents Accept-Ranges, and Content-Range on its 206 and 416', async () => {
    const doc = await headersOf();
    const audio = 'get /api/conversations/{id}/audio';
    for (const status of ['200', '206']) {
      expect(header(doc, `${audio} ${status}`, 'Accept-Ranges'), status).toMatchObject({
        schema: { type: 'string', const: 'bytes' },
      });
    }
    expect(header(doc, `${audio} 206`, 'Content-Range')?.description).toContain('bytes 40-99/');
    expect(header(doc, `${audio} 416`, 'Content-Range')?.description).toContain('bytes */');
    expect(header(doc, `${audio} 200`, 'Content-Range')).toBeUndefined();
    // The 416 is still the problem document, under its media type.
    const refused = (await t.app.inject({ url: '/openapi.json' })).json().paths[
      '/api/conversations/{id}/audio'
    ].get.responses['416'];
    expect(refused.content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
    });
  });
});

describe('routes that read a body', () => {
  it('list 413 and 415 on every POST, PUT, PATCH and DELETE, body schema or not', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    };
    const missing: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!['post', 'put', 'patch', 'delete'].includes(method)) continue;
        for (const status of ['413', '415']) {
          if (!op.responses?.[status]) missing.push(`${method.toUpperCase()} ${path} ${status}`);
        }
      }
    }
    expect(missing).toEqual([]);
    // A route with no body schema still reads one: a text/plain body is refused as documented.
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(res.statusCode, res.body).toBe(415);
  });
});

describe('optional bodies', () => {
  it('are documented as not required, and the routes take a request without one', async () => {
    const optional = [
      'post /api/auth/refresh',
      'post /api/auth/email/resend',
      'post /api/livekit/token',
      'post /auth/token',
      'post /api/realtime/tickets',
    ];
    const notRequired: string[] = [];
    // Twice: the document is built again on each read, from route schemas it must not change.
    for (let i = 0; i < 2; i++) {
      const text = (await t.app.inject({ url: '/openapi.json' })).body;
      expect(text).not.toContain('x-optional-body');
      const doc = JSON.parse(text) as {
        paths: Record<string, Record<string, { requestBody?: { required?: boolean } }>>;
      };
      notRequired.length = 0;
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (op.requestBody && op.requestBody.required !== true) {
            notRequired.push(`${method} ${path}`);
          }
        }
      }
      expect(notRequired.sort()).toEqual([...optional].sort());
    }
    // As documented, each one (every route the document says takes no body, not a sample) takes a
    // request without a body: whatever it answers, it is not the validator's 400 (nor a 415).
    // With the same credential, a body with a field the schema does not know is that 400: the
    // request did reach the body validator, so its silence above is the optional body at work.
    const user = await registerUser(t.app);
    for (const operation of notRequired) {
      const url = operation.slice('post '.length);
      const headers = bearer(user.access);
      const none = await t.app.inject({ method: 'POST', url, headers });
      expect([400, 415], `${operation} without a body: ${none.body}`).not.toContain(
        none.statusCode,
      );
      const unknown = await t.app.inject({
        method: 'POST',
        url,
        headers,
        payload: { no_such_field: 1 },
      });
      expect(unknown.statusCode, `${operation} with an unknown field: ${unknown.body}`).toBe(400);
      expect(unknown.json().code).toBe('validation_failed');
    }
  });
});
