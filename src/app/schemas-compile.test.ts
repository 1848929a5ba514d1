// Route schemas compile on first use at run time (src/http/validation.ts,
// src/http/serialization.ts), so a schema that cannot compile would only fail the first request
// of its route. This compiles every route's request and response schemas now, with the same
// compilers and shared schemas the app uses, so such a schema fails here instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eagerSerializers } from '../http/serialization.ts';
import { createValidatorCompiler } from '../http/validation.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

type Parts = Partial<Record<'body' | 'querystring' | 'params' | 'headers', unknown>> & {
  response?: Record<string, unknown>;
};

describe('every route schema', () => {
  it('compiles: request parts with the validator, answers with the serializer', () => {
    const validator = createValidatorCompiler();
    const serializer = eagerSerializers()(t.app.getSchemas(), {});
    let compiled = 0;
    for (const route of t.app.routeTable) {
      const schema = (route.schema ?? {}) as Parts;
      const where = `${route.method} ${route.url}`;
      for (const part of ['body', 'querystring', 'params', 'headers'] as const) {
        if (schema[part] === undefined) continue;
        const httpPart = part === 'body' ? 'body' : part;
        const validate = validator({ schema: schema[part], httpPart });
        // The first call compiles; what it answers for an empty value does not matter here.
        expect(() => validate({}), `${where} ${part}`).not.toThrow();
        compiled++;
      }
      for (const [status, answer] of Object.entries(schema.response ?? {})) {
        const content = (answer as { content?: Record<string, { schema: unknown }> }).content;
        const schemas = content ? Object.values(content).map((c) => c.schema) : [answer];
        for (const s of schemas) {
          expect(
            () =>
              serializer({ schema: s, method: route.method, url: route.url, httpStatus: status }),
            `${where} ${status}`,
          ).not.toThrow();
          compiled++;
        }
      }
    }
    expect(compiled).toBeGreaterThan(200);
  });
});
