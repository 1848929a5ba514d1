import type { AuthFailure, Principal } from '../access/principal.ts';
import type { RouteSummary } from '../app.ts';
import type { AuthContext } from '../auth/auth-context.ts';

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteSummary[];
    auth: AuthContext;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** Why a presented credential was not accepted, when that is worth telling the client. */
    authFailure?: AuthFailure;
  }
}
