// Fuzz every operation of the OpenAPI document, with a logged-in owner's bearer token and without
// credentials: NUL and lone surrogates in every string field, query parameter and path parameter,
// wrong types, huge numbers, empty, non-JSON and odd bodies, hostile headers. Whatever the input,
// the answer is never a 5xx (bad input is a 4xx problem document; see ARCHITECTURE.md).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, LIVEKIT_ENV, type TestApp } from '../test/app.ts';
import { bearer, registerUser } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';

// biome-ignore lint/suspicious/noExplicitAny: OpenAPI documents are untyped JSON here.
type Schema = Record<string, any>;
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Operation {
  method: Method;
  path: string;
  params: { name: string; in: string; schema: Schema }[];
  body?: { contentType: string; schema: Schema };
}

interface Case {
  what: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string;
}

let t: TestApp;
let doc: Schema;

beforeAll(async () => {
  // LiveKit configured, so its routes are fuzzed past their 503 livekit_not_configured.
  t = await buildTestApp({ env: LIVEKIT_ENV });
  doc = t.app.swagger() as unknown as Schema;
});
afterAll(() => t.close());

const NUL = 'a\u0000b';
const LONE = '\ud800';
// Raw JSON number literals JSON.stringify cannot write (1e400 parses to Infinity).
const HUGE = ['1e400', '-1e400', '18446744073709551616', '1e-400'];
const PLACEHOLDER = '__fuzz_raw__';

function deref(s: Schema | undefined): Schema {
  let cur = s ?? {};
  for (let i = 0; i < 10 && typeof cur.$ref === 'string'; i++) {
    const name = (cur.$ref as string).split('/').pop() as string;
    cur = doc.components?.schemas?.[name] ?? {};
  }
  return cur;
}

const PATTERN_CANDIDATES = [
  'x',
  'abc',
  'a.b',
  'example.com',
  '+15005550006',
  `CA${'0'.repeat(32)}`,
  `SM${'0'.repeat(32)}`,
  `AC${'0'.repeat(32)}`,
  '123456',
  'auth.login',
];

/** A plausible valid value, so a mutation of one field is not refused for another. */
function sample(raw: Schema | undefined, depth = 0): unknown {
  const s = deref(raw);
  if (depth > 6) return null;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (branches) {
    const b = branches.find((x) => deref(x).type !== 'null') ?? branches[0];
    return sample(b, depth + 1);
  }
  if (Array.isArray(s.allOf)) return sample(s.allOf[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((x: string) => x !== 'null') : s.type;
  switch (type) {
    case 'string': {
      if (s.format === 'uuid') return randomUUID();
      if (s.format === 'email') return uniqueEmail('fuzz');
      if (s.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      if (s.format === 'date') return '2026-01-01';
      if (s.format === 'uri') return 'https://example.com/x';
      if (typeof s.pattern === 'string') {
        const re = new RegExp(s.pattern, 'u');
        const hit = PATTERN_CANDIDATES.find((c) => re.test(c));
        if (hit) return hit;
      }
      return 'x'.repeat(Math.max(1, Math.min(s.minLength ?? 1, 64)));
    }
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (const k of (s.required as string[] | undefined) ?? []) {
        out[k] = sample(s.properties?.[k], depth + 1);
      }
      return out;
    }
  }
}

/** Paths to every property (and first array item), up to a few levels deep. */
function fieldPaths(
  raw: Schema | undefined,
  prefix: (string | number)[] = [],
): (string | number)[][] {
  const s = deref(raw);
  if (prefix.length > 3) return [];
  const out: (string | number)[][] = [];
  const branches = (s.anyOf ?? s.oneOf ?? s.allOf) as Schema[] | undefined;
  if (branches) {
    for (const b of branches) out.push(...fieldPaths(b, prefix));
    return dedupe(out);
  }
  if (s.properties) {
    for (const [k, v] of Object.entries(s.properties as Record<string, Schema>)) {
      out.push([...prefix, k], ...fieldPaths(v, [...prefix, k]));
    }
  }
  if (s.items) out.push([...prefix, 0], ...fieldPaths(s.items, [...prefix, 0]));
  return dedupe(out);
}

function dedupe(paths: (string | number)[][]) {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const k = JSON.stringify(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function setAt(base: unknown, path: (string | number)[], value: unknown): unknown {
  const root = structuredClone(base ?? {}) as Record<string | number, unknown>;
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string | number;
    const next = path[i + 1];
    if (cur[k] === null || typeof cur[k] !== 'object') cur[k] = typeof next === 'number' ? [] : {};
    cur = cur[k] as Record<string | number, unknown>;
  }
  cur[path[path.length - 1] as string | number] = value;
  return root;
}

function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Schema>)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const op = item[method] as Schema | undefined;
      if (!op) continue;
      const content = (op.requestBody?.content ?? {}) as Record<string, Schema>;
      const [contentType, media] = Object.entries(content)[0] ?? [];
      ops.push({
        method: method.toUpperCase() as Method,
        path,
        params: (op.parameters ?? []) as Operation['params'],
        body: contentType ? { contentType, schema: deref(media?.schema) } : undefined,
      });
    }
  }
  return ops;
}

function buildUrl(op: Operation, pathOverride: Record<string, string> = {}, query = '') {
  let url = op.path;
  for (const p of op.params.filter((x) => x.in === 'path')) {
    const v = pathOverride[p.name] ?? encodeURIComponent(String(sample(p.schema)));
    url = url.replace(`{${p.name}}`, v);
  }
  return query ? `${url}?${query}` : url;
}

function encodeBody(contentType: string, value: unknown): string {
  if (contentType.includes('x-www-form-urlencoded')) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
      for (const item of [v].flat()) {
        form.append(k, typeof item === 'string' ? item : JSON.stringify(item));
      }
    }
    // URLSearchParams turns a lone surrogate into U+FFFD; put the raw bytes back.
    return form.toString().replace(/%EF%BF%BD/g, '%ED%A0%80');
  }
  let json = JSON.stringify(value);
  for (const h of HUGE) json = json.replace(`"${PLACEHOLDER}${h}"`, h);
  return json;
}

function cases(op: Operation): Case[] {
  const out: Case[] = [];
  const queryParams = op.params.filter((p) => p.in === 'query');
  const pathParams = op.params.filter((p) => p.in === 'path');
  const hasBody = op.method !== 'GET';
  const ct = op.body?.contentType ?? 'application/json';
  const base = op.body ? sample(op.body.schema) : undefined;
  const withBody = (what: string, payload: string | undefined, contentType = ct): Case => ({
    what,
    url: buildUrl(op),
    headers: payload === undefined ? {} : { 'content-type': contentType },
    payload,
  });

  out.push(withBody('plausible input', base === undefined ? undefined : encodeBody(ct, base)));

  for (const p of pathParams) {
    for (const [what, v] of [
      ['NUL', '%00'],
      ['NUL inside', 'abc%00def'],
      ['lone surrogate (CESU bytes)', '%ED%A0%80'],
      ['invalid UTF-8', '%FF%FE'],
      ['truncated escape', '%E2%82'],
      ['huge number', '1e400'],
      ['long', 'x'.repeat(3000)],
      ['URN uuid', `urn:uuid:${randomUUID()}`],
    ] as const) {
      out.push({ what: `path ${p.name}: ${what}`, url: buildUrl(op, { [p.name]: v }) });
    }
  }

  for (const p of [...queryParams, { name: 'zz_unknown', in: 'query', schema: {} }]) {
    for (const [what, q] of [
      ['NUL', `${p.name}=%00`],
      ['lone surrogate (CESU bytes)', `${p.name}=%ED%A0%80`],
      ['invalid UTF-8', `${p.name}=%FF`],
      ['repeated (array)', `${p.name}=1&${p.name}=2`],
      ['huge number', `${p.name}=1e400`],
      ['huge integer', `${p.name}=99999999999999999999999`],
      ['negative', `${p.name}=-1`],
      ['empty', `${p.name}=`],
      ['bracket syntax', `${p.name}[a]=%00`],
      // RFC 3339 allows it; a JavaScript Date cannot hold it.
      ['leap second', `${p.name}=2016-12-31T23:59:60Z`],
      // JavaScript has a year 0; PostgreSQL's dates and timestamps do not.
      ['year 0000 date', `${p.name}=0000-12-31`],
      ['year 0000 date-time', `${p.name}=0000-12-31T00:00:00Z`],
      // ajv-formats' uuid admits the URN form; PostgreSQL's uuid does not.
      ['URN uuid', `${p.name}=urn:uuid:${randomUUID()}`],
    ] as const) {
      out.push({ what: `query ${p.name}: ${what}`, url: buildUrl(op, {}, q) });
    }
  }

  if (hasBody) {
    const json = 'application/json';
    out.push(withBody('no body, JSON content type', '', json));
    out.push(withBody('no body, no content type', undefined));
    for (const [what, raw] of [
      ['not JSON', 'not json{'],
      ['truncated JSON', '{"a":'],
      ['JSON null', 'null'],
      ['JSON array', '[]'],
      ['JSON string with NUL', '"\\u0000"'],
      ['JSON number huge', '1e400'],
      ['empty object', '{}'],
      ['NUL in a key', '{"\\u0000":1}'],
      ['lone surrogate in a key', '{"\\ud800":"x"}'],
      ['__proto__', '{"__proto__":{"x":1}}'],
      ['deeply nested', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ] as const) {
      out.push(withBody(`body: ${what}`, raw, json));
    }
    out.push(withBody('body: text/plain', 'hello\u0000', 'text/plain'));
    out.push(
      withBody('body: form with NUL', 'a=%00&b=%ED%A0%80', 'application/x-www-form-urlencoded'),
    );
    out.push(withBody('body: UTF-16 charset', '{}', 'application/json; charset=utf-16'));
  }

  if (op.body) {
    for (const path of fieldPaths(op.body.schema)) {
      const at = path.join('.');
      const values: [string, unknown][] = [
        ['NUL', NUL],
        ['only NUL', '\u0000'],
        ['lone surrogate', LONE],
        ['lone low surrogate', 'x\udfff'],
        ['object', { a: NUL }],
        ['array', [NUL, LONE]],
        ['number', 12345],
        ['boolean', false],
        ['null', null],
        ['long string', 'x'.repeat(200_000)],
        ['leap second', '2016-12-31T23:59:60Z'],
        ['year 0000 date', '0000-12-31'],
        ['year 0000 date-time', '0000-12-31T00:00:00Z'],
        ['URN uuid', `urn:uuid:${randomUUID()}`],
        ...HUGE.map((h): [string, unknown] => [`huge ${h}`, `${PLACEHOLDER}${h}`]),
      ];
      for (const [what, v] of values) {
        out.push(withBody(`body ${at}: ${what}`, encodeBody(ct, setAt(base, path, v))));
      }
    }
  }

  // Hostile headers on a plain request (inject passes bytes a real parser would refuse too).
  for (const [what, headers] of [
    ['NUL in user-agent', { 'user-agent': 'fuzz\u0000agent' }],
    ['NUL in x-request-id', { 'x-request-id': 'a\u0000b' }],
    ['garbage bearer', { authorization: 'Bearer \u0000' }],
    ['garbage cookie', { cookie: 'sb_access=%00; sb_refresh=%ED%A0%80; sb_csrf=\u0000' }],
    ['NUL org header', { 'x-switchboard-org': '\u0000' }],
  ] as const) {
    const c = withBody(`header: ${what}`, base === undefined ? undefined : encodeBody(ct, base));
    out.push({ ...c, headers: { ...c.headers, ...headers } });
  }
  return out;
}

async function run(app: FastifyInstance, op: Operation, auth: Record<string, string>) {
  const failures: string[] = [];
  let accepted = 0;
  const all = cases(op);
  // A few at a time: quick, and concurrent requests on one session are fuzz of their own.
  for (let i = 0; i < all.length; i += 8) {
    await Promise.all(
      all.slice(i, i + 8).map(async (c) => {
        const res = await app.inject({
          method: op.method,
          url: c.url,
          headers: { ...auth, ...c.headers },
          ...(c.payload === undefined ? {} : { payload: c.payload }),
        });
        if (res.statusCode < 300) accepted++;
        if (res.statusCode >= 500) {
          failures.push(
            `${op.method} ${op.path} [${c.what}] → ${res.statusCode} ${res.body.slice(0, 200)}`,
          );
        } else if (res.statusCode >= 400) {
          expect(res.headers['content-type'], `${op.method} ${op.path} [${c.what}]`).toMatch(
            /^application\/problem\+json/,
          );
        }
      }),
    );
  }
  return { failures, accepted };
}

describe('fuzz: every operation of the OpenAPI document', () => {
  it('covers a real API (the document lists the operations)', () => {
    expect(operations().length).toBeGreaterThan(50);
  });

  it('no 5xx without credentials', async () => {
    const failures: string[] = [];
    for (const op of operations()) failures.push(...(await run(t.app, op, {})).failures);
    expect(failures).toEqual([]);
  }, 180_000);

  it("no 5xx with a logged-in owner's bearer token", async () => {
    const failures: string[] = [];
    let accepted = 0;
    for (const op of operations()) {
      // A fresh owner each time: an operation that logs out or locks its caller cannot blind the
      // operations after it.
      const owner = await registerUser(t.app);
      const r = await run(t.app, op, bearer(owner.access));
      failures.push(...r.failures);
      accepted += r.accepted;
    }
    expect(failures).toEqual([]);
    // The plausible inputs get through to the handlers: the fuzz reaches the services and the
    // database, not only the validator.
    expect(accepted).toBeGreaterThan(60);
  }, 180_000);
});
