import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';

type Schema = Record<string, unknown>;
const isSchema = (s: unknown): s is Schema => typeof s === 'object' && s !== null;

/** Every object schema within a request schema, with its JSON pointer-like path. */
function objectSchemas(schema: unknown, at = ''): [string, Schema][] {
  if (!isSchema(schema)) return [];
  const out: [string, Schema][] = schema.type === 'object' ? [[at, schema]] : [];
  const under = (s: unknown, path: string) => out.push(...objectSchemas(s, path));
  for (const key of ['properties', 'patternProperties'] as const)
    for (const [k, v] of Object.entries(isSchema(schema[key]) ? schema[key] : {}))
      under(v, `${at}/${k}`);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const)
    for (const [i, v] of (Array.isArray(schema[key]) ? schema[key] : []).entries())
      under(v, `${at}/${key}/${i}`);
  under(schema.items, `${at}/items`);
  under(schema.additionalProperties, `${at}/*`);
  return out;
}

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('health, readiness and API docs', () => {
  it('GET /health answers 200 without touching the database', async () => {
    const res = await t.app.inject({ url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('GET /ready answers 200 when the database answers', async () => {
    const res = await t.app.inject({ url: '/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ready', database: t.database.kind });
  });

  it('echoes a plain X-Request-Id and replaces a hostile one', async () => {
    const ok = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers['x-request-id']).toBe('abc-123');
    const bad = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'a\tb<script>' } });
    expect(bad.headers['x-request-id']).not.toContain('<');
  });

  it('an unknown route is a 404 problem document', async () => {
    const res = await t.app.inject({ url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.json()).toMatchObject({
      code: 'route_not_found',
      status: 404,
      type: '/problems/route_not_found',
    });
  });

  it('every error code has an explanation page', async () => {
    const res = await t.app.inject({ url: '/problems/validation_failed' });
    expect(res.json()).toMatchObject({ code: 'validation_failed', status: 400 });
    expect((await t.app.inject({ url: '/problems/nope' })).statusCode).toBe(404);
  });

  it('GET /openapi.json is OpenAPI 3.1 and lists every route with request and response schemas', async () => {
    const res = await t.app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries<Record<string, { responses?: object }>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        documented.add(`${method.toUpperCase()} ${path}`);
        expect(Object.keys(op.responses ?? {}), `${method} ${path}`).not.toHaveLength(0);
      }
    }
    const routes = t.app.routeTable.filter(
      (r) =>
        r.method !== 'HEAD' &&
        !r.url.startsWith('/docs') &&
        r.url !== '/openapi.json' &&
        !r.schema?.hide,
    );
    expect(routes.length).toBeGreaterThan(5);
    for (const r of routes) {
      const path = r.url.replace(/:(\w+)/g, '{$1}').replace(/\/$/, '') || '/';
      expect(documented, `${r.method} ${r.url} is documented`).toContain(`${r.method} ${path}`);
      expect(r.schema?.response, `${r.method} ${r.url} declares responses`).toBeTruthy();
      // Every property of every object in a body is checked: an object of named fields (with or
      // without patternProperties) refuses any other, and a map (keys chosen by the caller, like
      // the preferences) gives every other property a schema. patternProperties alone do not
      // count: a key no pattern matches (e.g. one with a line break, which `.` does not match)
      // would be accepted with a value of any type.
      for (const [at, object] of objectSchemas(r.schema?.body)) {
        const extra = object.additionalProperties;
        expect(
          extra === false || (typeof extra === 'object' && extra !== null),
          `${r.method} ${r.url} body${at} checks every property (additionalProperties false or a schema)`,
        ).toBe(true);
      }
    }
  });

  it('/docs serves a browsable UI', async () => {
    const res = await t.app.inject({ url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});
