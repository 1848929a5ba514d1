import type { Principal } from '../access/principal.ts';
import type { RouteSummary } from '../app.ts';

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteSummary[];
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}
