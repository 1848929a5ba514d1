import type { AuthFailure, Principal } from '../access/principal.ts';
import type { RouteSummary } from '../app.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import type { Background } from '../infra/background.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'allow': open to an enrolment-only (mfa_pending) session; see src/http/route-config.ts. */
    mfaPending?: 'allow';
    /** true: a device socket whose gate closes with a code; see src/http/route-config.ts. */
    socketGate?: true;
    /** true: forward-auth, answered to reverse proxies; see src/http/route-config.ts. */
    forwardAuth?: true;
  }
  interface FastifyInstance {
    routeTable: RouteSummary[];
    auth: AuthContext;
    /** Resolves once no request is in flight (or after timeoutMs). */
    drain(timeoutMs: number): Promise<void>;
    /** Work queued after requests (src/infra/background.ts); tests await `background.idle()`. */
    background: Background;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** Why a presented credential was not accepted, when that is worth telling the client. */
    authFailure?: AuthFailure;
    /** On a SOCKET_GATE route: what the request authenticator refused with, for the gate. */
    authError?: Error;
  }
}
