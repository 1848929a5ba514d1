// Query parameters an API route does not declare are refused, as unknown body fields are: a
// client that sends `GET /api/auth/sessions?limit=1` believes it asked for one session and
// reads every one, and a filter that a route does not have (`GET /api/orgs?role=owner`) looks
// applied when it was ignored. Routes that declare their query (lists, forward-auth) already
// refuse what they do not name (additionalProperties: false); this gives every other API route
// the empty declaration, so the same validator answers `400 validation_failed` naming the
// parameter. Only the API's paths: probes, the docs, webhooks (Twilio keeps a callback URL's
// query), the device sockets and the dashboard's pages are left as they are.
import type { FastifyInstance } from 'fastify';

const API_PATHS = /^\/(?:api|auth|agents)(?:\/|$)/;

/** The query of a route that takes none. */
export const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const;

/** Call before the route plugins are registered: it sees every route registered after it. */
export function refuseUndeclaredQuery(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    // Should a CORS preflight route ever be added: it is sent to the URL of the request it asks
    // for, query included, and must not be refused for it.
    if (!API_PATHS.test(route.url) || [route.method].flat().includes('OPTIONS')) return;
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    if (schema.querystring !== undefined) return;
    route.schema = { ...schema, querystring: NO_QUERY };
  });
}
