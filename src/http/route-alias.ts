// Compatibility aliases: another method and path for a route that already exists. The alias is
// the canonical route itself mounted a second time — its handler, schema, hooks and config — so
// it answers exactly as the canonical route does, and every rule declared on the route (the
// cross-site refusal of the credential-free writes, the MFA enrolment gate's allow-list, the
// permission checks in its handler) applies to the alias with nothing to keep in step. Aliases
// are hidden from the OpenAPI document: each route is documented once, under its canonical path;
// README's compatibility table lists the aliases.
import type { FastifyInstance, HTTPMethods, RouteOptions } from 'fastify';

/** `METHOD /path` as the router knows it, e.g. `POST /api/auth/mfa/verify`. */
export type RouteName = `${Uppercase<HTTPMethods>} /${string}`;

export interface RouteAliases {
  /** Mounts `alias` as a copy of `canonical`, which must be registered already. */
  mount(alias: RouteName, canonical: RouteName): void;
}

/**
 * Records the options of every route registered on `app` from now on (call it before the route
 * plugins are registered), so that `mount` can repeat one of them at another path.
 */
export function routeAliases(app: FastifyInstance): RouteAliases {
  const routes = new Map<string, RouteOptions>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.set(`${method} ${route.url}`, route);
  });
  return {
    mount(alias, canonical) {
      const source = routes.get(canonical);
      if (!source) throw new Error(`alias ${alias}: no route ${canonical} is registered`);
      const [method, url] = alias.split(' ') as [HTTPMethods, string];
      // What the router derived from the canonical registration is derived again for the alias.
      const {
        path: _path,
        routePath: _routePath,
        prefix: _prefix,
        url: _url,
        method: _method,
        ...options
      } = source as RouteOptions & { path?: string; routePath?: string; prefix?: string };
      const { operationId: _operationId, ...schema } = (source.schema ?? {}) as Record<
        string,
        unknown
      >;
      app.route({ ...options, method, url, schema: { ...schema, hide: true } });
    },
  };
}
