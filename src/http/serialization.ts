// Response serializers compiled on first use. Fastify compiles one fast-json-stringify
// function per route and status at start-up; with every route's problem answers that was a large
// part of the time to become healthy. The compiler is Fastify's own (resolved from Fastify's
// dependencies, exactly what it would use by default), only deferred: the first answer of each
// route and status compiles it, every later one reuses it. Output is unchanged. Nullable scalars
// are compiled as type lists (serializerSchema, below).
import { createRequire } from 'node:module';

type Serialize = (data: unknown) => string;
type RouteSchema = { schema?: unknown; method: string; url: string; httpStatus?: string };
type BuildSerializer = (
  externalSchemas: unknown,
  options: unknown,
) => (route: RouteSchema) => Serialize;

const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
const serializerSelector = fromFastify('@fastify/fast-json-stringify-compiler') as {
  SerializerSelector: () => BuildSerializer;
};

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

function isNullSchema(s: unknown): boolean {
  return !!s && typeof s === 'object' && (s as { type?: unknown }).type === 'null';
}

/**
 * The schema the serializer compiles: every `anyOf: [S, {type: 'null'}]` (TypeBox's
 * `Type.Union([S, Type.Null()])`) whose S is one scalar type becomes S with
 * `type: [S.type, 'null']`. fast-json-stringify picks an anyOf branch by running Ajv on the value,
 * once per nullable field per row (27 µs for a page of 20 calls, 11 µs with type lists); a type
 * list it checks with `typeof`. The output of valid data is the same; the OpenAPI document and
 * request validation keep the schemas as written. Never mutates its input.
 */
export function serializerSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(serializerSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const s = schema as Record<string, unknown>;
  const branches = s.anyOf;
  if (Array.isArray(branches) && branches.length === 2) {
    const [a, b] = branches as unknown[];
    const value = (isNullSchema(b) ? a : isNullSchema(a) ? b : undefined) as
      | Record<string, unknown>
      | undefined;
    const type = value?.type;
    if (value && typeof type === 'string' && SCALARS.has(type)) {
      const { anyOf: _, ...siblings } = s;
      return { ...siblings, ...value, type: [type, 'null'] };
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(s)) out[key] = serializerSchema(v);
  return out;
}

const withSerializerSchema = (route: RouteSchema): RouteSchema => ({
  ...route,
  schema: serializerSchema(route.schema),
});

/** Fastify's own serializer factory, compiling at once (the schema check: src/app/schemas-compile.test.ts). */
export function eagerSerializers(): BuildSerializer {
  const build = serializerSelector.SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route) => compile(withSerializerSchema(route));
  };
}

/** For Fastify's `schemaController.compilersFactory.buildSerializer`. */
export function lazySerializers(): BuildSerializer {
  const build = serializerSelector.SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route) => {
      let serialize: Serialize | undefined;
      return (data) => {
        serialize ??= compile(withSerializerSchema(route));
        return serialize(data);
      };
    };
  };
}
