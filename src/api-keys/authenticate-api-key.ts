// Authenticating `Authorization: Bearer sb_…` (plugged into createAuthenticator in app.ts).
//
// - Every use reads the key from the database (one indexed query that also checks its creator):
//   no positive cache, so a revoked or expired key, or one whose creator was removed or
//   disabled, stops working at once on every instance.
// - The key acts for its org with its creator's CURRENT role there, narrowed by its scopes: it
//   can never do more than the person who made it can do now, nor more than its scopes say.
// - Rate limited per key (`api_key` limit, 429 with Retry-After). Counted only after the secret
//   checks out, so someone who knows a prefix (prefixes are shown in lists) cannot use up the
//   real key's allowance with wrong secrets.
// - Account and session routes (logout, sessions, password, profile, MFA) act on "the user":
//   a key would act on its creator's account there, so keys are refused on them outright.
// - Its last use is recorded at most once a minute.
// - A key of a suspended org (the kill switch, src/suspension/) is refused, and kept.
// - A key whose creator's role the org requires to use MFA is refused (403
//   mfa_enrollment_required), and kept, while the creator has not turned MFA on: that person's
//   own logins reach nothing but enrolment (src/mfa/mfa-enrollment-gate.ts), and a key never does
//   more than its creator can do now. A policy set after the key was made applies to it too.
import type { FastifyRequest } from 'fastify';
import { apiKeyStanding } from '../access/api-key-standing.ts';
import { grantedScopes } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { constantTimeEqual, hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { findApiKeyCredential, touchApiKey } from './api-key.repository.ts';
import { apiKeyPrefix } from './api-key-format.ts';

export const LAST_USED_INTERVAL_SECONDS = 60;

const ACCOUNT_ROUTE = /^\/(?:api\/)?auth\/|^\/api\/users\/me(?:\/|$)|^\/api\/mfa(?:\/|$)/;
// POST /auth/token mints a LiveKit room token (scope livekit:join), as POST /api/livekit/token.
const KEY_ALLOWED_ACCOUNT_ROUTES = new Set(['GET /api/auth/verify', 'POST /auth/token']);

export function apiKeyRefusedOn(method: string, routeUrl: string | undefined): boolean {
  if (routeUrl === undefined) return false;
  const m = method === 'HEAD' ? 'GET' : method;
  return ACCOUNT_ROUTE.test(routeUrl) && !KEY_ALLOWED_ACCOUNT_ROUTES.has(`${m} ${routeUrl}`);
}

/**
 * `dead`: the secret is right but the key works no more (revoked, expired, its creator disabled or
 * gone). Told only to a caller that asks (the device-socket gate closes such a socket `revoked`,
 * as it does a live one and a ticket of the key); over HTTP it is a 401 like an unknown key. Only
 * the key's holder can learn it: the secret is checked first.
 */
export type ApiKeyRefusal = 'dead';

export function createApiKeyAuthenticator(auth: AuthContext) {
  return async (
    request: FastifyRequest,
    key: string,
    refused?: (why: ApiKeyRefusal) => void,
  ): Promise<Principal | null> => {
    const prefix = apiKeyPrefix(key);
    if (!prefix) return null;
    // System path: the key names its org; no tenant is known before this lookup.
    const cred = await withSystem(auth.database, (tx) => findApiKeyCredential(tx, prefix));
    const now = Date.now();
    if (!cred || !constantTimeEqual(cred.key_hash, hashToken(key))) return null;
    // The one rule every place that honours a key applies (device sockets too).
    const standing = apiKeyStanding(cred, now);
    // A creator with no role is 'dead' by apiKeyStanding already; named again to narrow the type.
    if (standing === 'dead' || cred.member_role === null) {
      refused?.('dead');
      return null;
    }
    // The kill switch: the key is kept (resuming the org restores it) but works for nothing. Read
    // with the key itself, so it stops on every instance at once.
    if (standing === 'org_suspended' || auth.suspendedOrgs.isSuspended(cred.org_id)) {
      request.authFailure = 'org_suspended';
      return null;
    }
    if (standing === 'mfa_pending') {
      throw new AppError(
        'mfa_enrollment_required',
        "This key's creator must turn on two-factor authentication, which the organization requires for their role",
      );
    }
    if (apiKeyRefusedOn(request.method, request.routeOptions?.url)) {
      throw new AppError('forbidden', 'API keys cannot use account or session routes');
    }
    await auth.limiter.consume('api_key', cred.id);
    const due =
      cred.last_used_at === null ||
      now - cred.last_used_at.getTime() >= LAST_USED_INTERVAL_SECONDS * 1000;
    if (due) {
      // The key's own bookkeeping, on the same system path as the lookup: it must happen
      // whatever its creator's role (the api_keys policy admits only owners and admins).
      await withSystem(auth.database, (tx) => touchApiKey(tx, cred.id, LAST_USED_INTERVAL_SECONDS));
    }
    return {
      userId: cred.created_by,
      orgId: cred.org_id,
      role: cred.member_role,
      superuser: false,
      via: 'api_key',
      // As granted: a write scope brings its read scope (permissions.ts SCOPE_INCLUDES).
      scopes: grantedScopes(cred.scopes),
      apiKeyId: cred.id,
    };
  };
}
