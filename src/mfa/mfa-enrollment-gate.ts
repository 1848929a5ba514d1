// The one place the org MFA policy is enforced on requests. A principal whose token carries
// `mfa_pending` (its org requires MFA of its role and it has none) reaches only what it needs
// to enrol or leave; every other API route answers 403 mfa_enrollment_required.
import type { FastifyRequest } from 'fastify';
import { AppError } from '../http/errors.ts';

/** What an enrolment-only session may do: set up MFA, see who it is, end itself, refresh. */
const ENROLMENT_ROUTES = new Set([
  'POST /api/auth/mfa/setup',
  'POST /api/auth/mfa/enable',
  'GET /auth/me',
  'GET /api/users/me',
  'POST /api/auth/logout',
  'POST /auth/logout',
  'POST /api/auth/logout-all',
  'POST /api/auth/refresh',
  // The new session's flag is recomputed for the target org: one without the requirement frees it.
  'POST /api/auth/switch-org',
]);

/**
 * Entry points that take no session: a stale enrolment-only cookie riding along must not stop
 * anyone from signing in again or recovering an account. They never read the principal.
 */
const CREDENTIAL_FREE_ROUTES = new Set([
  'POST /api/auth/register',
  'POST /api/auth/login',
  'POST /auth/jwt/login',
  'POST /auth/cookie/login',
  'POST /api/auth/mfa/verify',
  'POST /api/auth/email/verify',
  'POST /api/auth/password/forgot',
  'POST /api/auth/password/reset',
]);

/** The API and the realtime endpoints; pages, health, docs and the JWKS carry no tenant data. */
const GUARDED_PREFIXES = ['/api/', '/auth/', '/ws'];

export function mfaEnrollmentAllows(method: string, routeUrl: string | undefined): boolean {
  if (routeUrl === undefined) return true; // no route: the 404 handler answers
  if (!GUARDED_PREFIXES.some((p) => routeUrl.startsWith(p))) return true;
  const key = `${method} ${routeUrl}`;
  return ENROLMENT_ROUTES.has(key) || CREDENTIAL_FREE_ROUTES.has(key);
}

/** Global onRequest hook, registered once in app.ts right after the authenticator. */
export async function mfaEnrollmentGate(request: FastifyRequest): Promise<void> {
  if (!request.principal?.mfaPending) return;
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  if (!mfaEnrollmentAllows(method, request.routeOptions.url)) {
    throw new AppError('mfa_enrollment_required');
  }
}
