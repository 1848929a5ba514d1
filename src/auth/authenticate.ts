// The request authenticator: `Authorization: Bearer <jwt>` or the sb_access cookie. This is the
// hot path of every request: a signature check served from the verified-token cache and a
// lookup in the in-memory revocation list — no database round trip.
import type { FastifyRequest } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Authenticator, Principal } from '../access/principal.ts';
import { constantTimeEqual } from '../crypto/tokens.ts';
import type { AccessClaims } from './access-token.ts';
import type { AuthContext } from './auth-context.ts';
import { ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, csrfTokenFor } from './cookies.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function bearerToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/**
 * Double-submit check: the header must equal the sb_csrf cookie (a cross-site form can't read it).
 * The refresh route's check, made before its token is looked up: a forced refresh only rotates the
 * victim's own cookies. Writes check more (csrfBound).
 */
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

/**
 * A cookie-authenticated write's check: the header is the CSRF token of the session the access
 * cookie belongs to. A pair an attacker made equal (a cookie planted from a sibling subdomain and
 * the same value in the header) is refused, and so is the token of another session, theirs included.
 */
export function csrfBound(request: FastifyRequest, key: Buffer, sessionId: string): boolean {
  const header = request.headers[CSRF_HEADER];
  return typeof header === 'string' && constantTimeEqual(header, csrfTokenFor(key, sessionId));
}

function kidOf(token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
}

/**
 * The request's caller. Synchronous where nothing has to be waited for (no credential, a token
 * this instance verified before, no X-Switchboard-Org): a promise only for what needs one.
 */
export function createAuthenticator(
  auth: AuthContext,
  extra?: {
    apiKey?: (request: FastifyRequest, key: string) => Promise<Principal | null>;
    /** Applied to every resolved principal: X-Switchboard-Org (src/admin/act-in-org.ts). */
    actAs?: (request: FastifyRequest, principal: Principal) => Principal | Promise<Principal>;
  },
): Authenticator {
  const resolve = resolver(auth, extra?.apiKey);
  const actAs = extra?.actAs;
  if (!actAs) return resolve;
  return (request) => {
    const p = resolve(request);
    if (p instanceof Promise) return p.then((q) => (q ? actAs(request, q) : q));
    return p ? actAs(request, p) : p;
  };
}

/** Why an access token was refused, for callers that must say so (device sockets close with it). */
export type AccessTokenRefusal = 'invalid' | 'expired' | 'revoked' | 'org_suspended';

export type AccessTokenCheck =
  | { ok: true; claims: AccessClaims }
  /** `sessionId`: of a revoked token, the session (its revocation may say why it ended). */
  | { ok: false; reason: AccessTokenRefusal; sessionId?: string };

/**
 * The one access-token check: signature and claims (served from the verified-token cache), a
 * reload of the key ring when the token names a key this instance has not seen yet, then the
 * kill switch (a token of a suspended org is refused; the platform superuser's own tokens
 * excepted: they are who resumes it), then the revocation list. `expired` is read from the
 * unverified payload only after verification failed: it tells a device to refresh instead of
 * retrying, and grants nothing.
 * A token already verified by this instance is answered synchronously (no promise, no microtask:
 * most requests); the kill switch and the revocation list are checked on that path exactly as on
 * the other, since both can change while the token stays cached.
 */
export function checkAccessToken(
  auth: AuthContext,
  token: string,
): AccessTokenCheck | Promise<AccessTokenCheck> {
  const known = auth.tokens.known(token);
  return known ? checkClaims(auth, known) : verifyAndCheck(auth, token);
}

async function verifyAndCheck(auth: AuthContext, token: string): Promise<AccessTokenCheck> {
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
  return checkClaims(auth, claims);
}

/** What a verified token's claims still have to pass: they can change while it stays valid. */
function checkClaims(auth: AuthContext, claims: AccessClaims): AccessTokenCheck {
  // Before revocation: the sessions of a suspended org were ended too, and "suspended" is what
  // their holder (the dashboard) must be told.
  if (claims.su !== true && auth.suspendedOrgs.isSuspended(claims.org)) {
    return { ok: false, reason: 'org_suspended' };
  }
  if (auth.revocation.isRevoked(claims.sid)) {
    return { ok: false, reason: 'revoked', sessionId: claims.sid };
  }
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
): (request: FastifyRequest) => Principal | null | Promise<Principal | null> {
  return (request) => {
    const bearer = bearerToken(request);
    if (bearer?.startsWith('sb_') && apiKey) return apiKey(request, bearer);
    const token = bearer ?? request.cookies?.[ACCESS_COOKIE];
    if (!token) return null;
    const via = bearer ? 'bearer' : 'cookie';
    const checked = checkAccessToken(auth, token);
    return checked instanceof Promise
      ? checked.then((c) => principalOf(auth, request, c, via))
      : principalOf(auth, request, checked, via);
  };
}

/** The principal of a checked token, or null with the refusal the caller is told, if any. */
function principalOf(
  auth: AuthContext,
  request: FastifyRequest,
  checked: AccessTokenCheck,
  via: 'bearer' | 'cookie',
): Principal | null {
  if (!checked.ok) {
    // The one refusal worth telling: the dashboard shows "this organization is suspended".
    if (checked.reason === 'org_suspended') request.authFailure = 'org_suspended';
    return null;
  }
  if (
    via === 'cookie' &&
    !SAFE_METHODS.has(request.method) &&
    !csrfBound(request, auth.config.secretKey, checked.claims.sid)
  ) {
    request.authFailure = 'csrf_failed';
    return null;
  }
  return accessPrincipal(checked.claims, via);
}
