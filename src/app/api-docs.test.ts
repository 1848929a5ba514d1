// Every route the OpenAPI document lists is described well enough for an integrator's generated
// client: a unique camelCase operationId (verbNoun), a summary, a declared tag, its security
// (`security: []` when it takes no credential) and at least one 4xx problem answer. This walks the
// app's own route table, so a route added anywhere is caught here, with the file to fix, before
// the slower Redocly lint (openapi-lint.test.ts) runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteSummary } from '../app.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
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
  it('are documented as not required; every other body is required', async () => {
    const optional = [
      'post /api/auth/refresh',
      'post /api/auth/email/resend',
      'post /api/livekit/token',
      'post /auth/token',
      'post /api/realtime/tickets',
    ];
    // Twice: the document is built again on each read, from route schemas it must not change.
    for (let i = 0; i < 2; i++) {
      const text = (await t.app.inject({ url: '/openapi.json' })).body;
      expect(text).not.toContain('x-optional-body');
      const doc = JSON.parse(text) as {
        paths: Record<string, Record<string, { requestBody?: { required?: boolean } }>>;
      };
      const notRequired: string[] = [];
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (op.requestBody && op.requestBody.required !== true) {
            notRequired.push(`${method} ${path}`);
          }
        }
      }
      expect(notRequired.sort()).toEqual([...optional].sort());
    }
    // As documented: no body at all is taken.
    const resend = await t.app.inject({ method: 'POST', url: '/api/auth/email/resend' });
    expect(resend.statusCode, resend.body).not.toBe(400);
  });
});
