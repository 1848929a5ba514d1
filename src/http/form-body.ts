// application/x-www-form-urlencoded bodies, for the routes that document them and no others.
// A form is the one body another site's page can POST without a CORS preflight, so a JSON route
// that also parsed forms would be reachable by a cross-site auto-submitted <form>. A route opts in
// by listing the type in its schema's `consumes` (which also puts it into the OpenAPI document);
// every other route answers 415 unsupported_media_type before its handler runs.
import { parse } from 'node:querystring';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';

export const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The content types the route declares it takes (`consumes`); JSON when it declares none. */
function consumedBy(request: FastifyRequest): string[] {
  const consumes = (request.routeOptions.schema as { consumes?: unknown } | undefined)?.consumes;
  return Array.isArray(consumes) ? consumes : ['application/json'];
}

export function registerFormBodyParser(app: FastifyInstance, bodyLimit: number) {
  app.addContentTypeParser(
    FORM_TYPE,
    { parseAs: 'string', bodyLimit },
    (request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => {
      const accepted = consumedBy(request);
      if (!accepted.includes(FORM_TYPE)) {
        done(new AppError('unsupported_media_type', `This route accepts ${accepted.join(', ')}`));
        return;
      }
      // A repeated key becomes an array, which the route's schema then rejects; the result has a
      // null prototype, so a `__proto__` field is only a field.
      done(null, parse(body));
    },
  );
}
