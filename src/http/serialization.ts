// Response serializers compiled on first use. Fastify compiles one fast-json-stringify
// function per route and status at start-up; with every route's problem answers that was a large
// part of the time to become healthy. The compiler is Fastify's own (resolved from Fastify's
// dependencies, exactly what it would use by default), only deferred: the first answer of each
// route and status compiles it, every later one reuses it. Output is unchanged.
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

/** Fastify's own serializer factory, compiling at once (the schema check: src/app/schemas-compile.test.ts). */
export function eagerSerializers(): BuildSerializer {
  return serializerSelector.SerializerSelector();
}

/** For Fastify's `schemaController.compilersFactory.buildSerializer`. */
export function lazySerializers(): BuildSerializer {
  const build = serializerSelector.SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route) => {
      let serialize: Serialize | undefined;
      return (data) => {
        serialize ??= compile(route);
        return serialize(data);
      };
    };
  };
}
