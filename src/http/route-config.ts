// Route config flags that every capability declares on its routes and that global hooks read.
// They live here, below the capabilities, so a route can declare itself without importing the
// capability whose hook enforces the flag.
import type { FastifyContextConfig, FastifyInstance } from 'fastify';

/**
 * Route config of the routes an enrolment-only session may reach: those it needs to enrol, see
 * who it is, refresh or end itself, and those that take no session at all (sign-in, recovery,
 * probes, docs, the JWKS, the dashboard's files) — a stale pending cookie riding along must not
 * stop anyone from signing in again or loading the page that enrols them. Enforced by
 * src/mfa/mfa-enrollment-gate.ts.
 */
export const MFA_PENDING_ALLOWED = { mfaPending: 'allow' } as const;

/**
 * For routes declared by a third-party plugin (the docs UI, static files): every route
 * registered in `scope` (an encapsulated plugin context) and its children is marked open.
 */
export function allowWhileMfaPending(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...route.config, ...MFA_PENDING_ALLOWED };
  });
}

/** Whether a route's config declares it open to an enrolment-only session. */
export function openWhileMfaPending(config: FastifyContextConfig | undefined): boolean {
  return config?.mfaPending === MFA_PENDING_ALLOWED.mfaPending;
}

/**
 * Route config of the device sockets (/ws, /ws_pcm): their gate answers every refusal with a close
 * frame devices understand (1008 with a reason, 1013 to back off), never an HTTP error before the
 * upgrade. The request authenticator leaves its refusals there (request.authError) instead of
 * ending the request: an API key over its rate limit, an X-Switchboard-Org the caller may not use.
 */
export const SOCKET_GATE = { socketGate: true } as const;

/** Whether a route's gate refuses with a close frame (see SOCKET_GATE). */
export function refusesAtSocketGate(config: FastifyContextConfig | undefined): boolean {
  return config?.socketGate === true;
}

/**
 * Route config of forward-auth (GET /api/auth/verify): a reverse proxy relays only its 2xx, 401
 * and 403 (nginx's auth_request answers any other status with a 500), and the headers it is
 * called with are the proxy's client's. The request authenticator's refusals of such a client's
 * input (an X-Switchboard-Org that is no org id, or names no org) are a 403 there, so a client
 * cannot make the proxy answer 500 at will.
 */
export const FORWARD_AUTH = { forwardAuth: true } as const;

/** Whether a route answers reverse proxies (see FORWARD_AUTH). */
export function answersForwardAuth(config: FastifyContextConfig | undefined): boolean {
  return config?.forwardAuth === true;
}
