// The request authenticator: `Authorization: Bearer <jwt>` or the sb_access cookie. This is the
// hot path of every request: a signature check served from the verified-token cache and a
// lookup in the in-memory revocation list — no database round trip.
import type { FastifyRequest } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Authenticator, Principal } from '../access/principal.ts';
import { constantTimeEqual } from '../crypto/tokens.ts';
import type { AccessClaims } from './access-token.ts';
import type { AuthContext } from './auth-context.ts';
import { ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER } from './cookies.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function bearerToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** Double-submit check: the header must equal the sb_csrf cookie (a cross-site form can't read it). */
export function csrfOk(request: FastifyRequest): boolean {
  const cookie = request.cookies?.[CSRF_COOKIE];
  const header = request.headers[CSRF_HEADER];
  return (
    typeof cookie === 'string' &&
    cookie.length > 0 &&
    typeof header === 'string' &&
    constantTimeEqual(cookie, header)
  );
}

function kidOf(token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
}

export function createAuthenticator(
  auth: AuthContext,
  extra?: {
    apiKey?: (request: FastifyRequest, key: string) => Promise<Principal | null>;
    /** Applied to every resolved principal: X-Switchboard-Org (src/admin/act-in-org.ts). */
    actAs?: (request: FastifyRequest, principal: Principal) => Promise<Principal>;
  },
): Authenticator {
  const resolve = resolver(auth, extra?.apiKey);
  const actAs = extra?.actAs;
  if (!actAs) return resolve;
  return async (request) => {
    const p = await resolve(request);
    return p ? actAs(request, p) : p;
  };
}

/** Why an access token was refused, for callers that must say so (device sockets close with it). */
export type AccessTokenRefusal = 'invalid' | 'expired' | 'revoked' | 'org_suspended';

export type AccessTokenCheck =
  | { ok: true; claims: AccessClaims }
  | { ok: false; reason: AccessTokenRefusal };

/**
 * The one access-token check: signature and claims (served from the verified-token cache), a
 * reload of the key ring when the token names a key this instance has not seen yet, then the
 * kill switch (a token of a suspended org is refused; the platform superuser's own tokens
 * excepted: they are who resumes it), then the revocation list. `expired` is read from the unverified payload only after verification failed:
 * it tells a device to refresh instead of retrying, and grants nothing.
 */
export async function checkAccessToken(
  auth: AuthContext,
  token: string,
): Promise<AccessTokenCheck> {
  let claims = await auth.tokens.verify(token);
  if (!claims) {
    // A key rotated by another instance: reload the ring (throttled) and try once more.
    const kid = kidOf(token);
    if (kid && !auth.getKeyRing().verificationKeys.has(kid)) {
      await auth.reloadKeys();
      claims = await auth.tokens.verify(token);
    }
    if (!claims) return { ok: false, reason: looksExpired(token) ? 'expired' : 'invalid' };
  }
  // Before revocation: the sessions of a suspended org were ended too, and "suspended" is what
  // their holder (the dashboard) must be told.
  if (claims.su !== true && auth.suspendedOrgs.isSuspended(claims.org)) {
    return { ok: false, reason: 'org_suspended' };
  }
  if (auth.revocation.isRevoked(claims.sid)) return { ok: false, reason: 'revoked' };
  return { ok: true, claims };
}

function looksExpired(token: string): boolean {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' && exp * 1000 <= Date.now();
  } catch {
    return false;
  }
}

/** The principal a verified access token stands for. */
export function accessPrincipal(claims: AccessClaims, via: 'bearer' | 'cookie'): Principal {
  return {
    userId: claims.sub,
    orgId: claims.org,
    role: claims.role,
    superuser: claims.su === true,
    sessionId: claims.sid,
    amr: claims.amr,
    via,
    mfaPending: claims.mfa_pending === true,
  };
}

function resolver(
  auth: AuthContext,
  apiKey?: (request: FastifyRequest, key: string) => Promise<Principal | null>,
): (request: FastifyRequest) => Promise<Principal | null> {
  return async (request) => {
    const bearer = bearerToken(request);
    if (bearer?.startsWith('sb_') && apiKey) return apiKey(request, bearer);
    const token = bearer ?? request.cookies?.[ACCESS_COOKIE];
    if (!token) return null;
    const via = bearer ? 'bearer' : 'cookie';

    const checked = await checkAccessToken(auth, token);
    if (!checked.ok) {
      // The one refusal worth telling: the dashboard shows "this organization is suspended".
      if (checked.reason === 'org_suspended') request.authFailure = 'org_suspended';
      return null;
    }

    if (via === 'cookie' && !SAFE_METHODS.has(request.method) && !csrfOk(request)) {
      request.authFailure = 'csrf_failed';
      return null;
    }
    return accessPrincipal(checked.claims, via);
  };
}
