import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';

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
      // A body of named fields refuses unknown ones; a map (keys chosen by the caller, like
      // the preferences) instead constrains every key and value by a schema.
      const body = r.schema?.body;
      if (body && body.type === 'object') {
        const isMap = !!body.patternProperties || typeof body.additionalProperties === 'object';
        if (!isMap) {
          expect(body.additionalProperties, `${r.method} ${r.url} rejects unknown fields`).toBe(
            false,
          );
        }
      }
    }
  });

  it('/docs serves a browsable UI', async () => {
    const res = await t.app.inject({ url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});
