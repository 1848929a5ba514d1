// The one place the org MFA policy is enforced on requests. A principal whose token carries
// `mfa_pending` (its org requires MFA of its role and it has none) reaches only the routes that
// declare themselves open to it; every other route answers 403 mfa_enrollment_required.
//
// Deny by default: a route is open to an enrolment-only session only when its own declaration
// says so (`config: MFA_PENDING_ALLOWED`), so a new route — or a new path for an old one (the
// source documents' `/agents`, `/analytics/…` aliases) — is closed until someone decides
// otherwise where the route is written. No list of paths elsewhere can drift from the router.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../http/errors.ts';

/**
 * Route config of the routes an enrolment-only session may reach: those it needs to enrol, see
 * who it is, refresh or end itself, and those that take no session at all (sign-in, recovery,
 * probes, docs, the JWKS, the dashboard's files) — a stale pending cookie riding along must not
 * stop anyone from signing in again or loading the page that enrols them.
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

function mfaEnrollmentAllows(request: FastifyRequest): boolean {
  // No route matched: the 404 handler answers and reveals nothing.
  if (request.routeOptions.url === undefined) return true;
  return request.routeOptions.config?.mfaPending === 'allow';
}

/** Global onRequest hook, registered once in app.ts right after the authenticator. */
export async function mfaEnrollmentGate(request: FastifyRequest): Promise<void> {
  if (!request.principal?.mfaPending) return;
  if (!mfaEnrollmentAllows(request)) throw new AppError('mfa_enrollment_required');
}
