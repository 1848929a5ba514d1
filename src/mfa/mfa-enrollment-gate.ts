// The one place the org MFA policy is enforced on requests. A principal whose token carries
// `mfa_pending` (its org requires MFA of its role and it has none) reaches only the routes that
// declare themselves open to it; every other route answers 403 mfa_enrollment_required.
//
// Deny by default: a route is open to an enrolment-only session only when its own declaration
// says so (`config: MFA_PENDING_ALLOWED`), so a new route — or a new path for an old one (the
// source documents' `/agents`, `/analytics/…` aliases) — is closed until someone decides
// otherwise where the route is written. No list of paths elsewhere can drift from the router.
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError } from '../http/errors.ts';
import { openWhileMfaPending } from '../http/route-config.ts';

function mfaEnrollmentAllows(request: FastifyRequest): boolean {
  // No route matched: the 404 handler answers and reveals nothing.
  if (request.routeOptions.url === undefined) return true;
  return openWhileMfaPending(request.routeOptions.config);
}

/** Global onRequest hook, registered once in app.ts right after the authenticator. */
export const mfaEnrollmentGate: onRequestHookHandler = (request, _reply, done) => {
  if (request.principal?.mfaPending && !mfaEnrollmentAllows(request))
    return done(new AppError('mfa_enrollment_required'));
  done();
};
