// Who is calling: resolved once per request by the authenticator, read by services.
import type { FastifyRequest } from 'fastify';
import type { Role } from '../db/schema.ts';
import type { TenantContext } from '../db/tenant.ts';
import { AppError, type ErrorCode } from '../http/errors.ts';

export interface Principal {
  userId: string;
  orgId: string;
  role: Role;
  superuser: boolean;
  /** Session id for user tokens; undefined for other kinds of credentials. */
  sessionId?: string;
  /** Authentication methods of the session (RFC 8176: pwd, mfa, otp…). */
  amr?: string[];
  /** How the credential arrived: cookie-authenticated writes need the CSRF header. */
  via?: 'bearer' | 'cookie' | 'api_key' | 'test';
  /** The org requires MFA and the user has none: only enrolment routes are open. */
  mfaPending?: boolean;
  /** API keys only: what the key may do (e.g. prompts:read). Undefined for people. */
  scopes?: readonly string[];
  /** The superuser is acting inside this org through X-Switchboard-Org. */
  actingInOrg?: boolean;
  /** API keys only: the key's id (audit actor, last-used bookkeeping). */
  apiKeyId?: string;
}

/** Resolves the caller of a request, or null when the request carries no valid credential. */
export type Authenticator = (
  request: FastifyRequest,
) => Promise<Principal | null> | Principal | null;

/**
 * The caller, or a 401. A credential that was present but refused for a specific reason (CSRF
 * header missing on a cookie-authenticated write) answers with that reason instead.
 */
export function requirePrincipal(request: FastifyRequest): Principal {
  const p = request.principal;
  if (!p) throw new AppError(request.authFailure ?? 'unauthenticated');
  return p;
}

/**
 * The database context for the caller. The superuser flag (which lets row-level security cross
 * orgs) is set only where the platform superuser deliberately acts across tenants — inside
 * another org via X-Switchboard-Org (audited per request) or on the platform-admin routes — never
 * on the superuser's ordinary requests, which stay scoped like anyone else's.
 */
export function tenantOf(p: Principal, opts: { platformAdmin?: boolean } = {}): TenantContext {
  const crossOrg = p.superuser && (p.actingInOrg === true || opts.platformAdmin === true);
  return { orgId: p.orgId, userId: p.userId, role: p.role, superuser: crossOrg };
}

export type AuthFailure = Extract<
  ErrorCode,
  'csrf_failed' | 'mfa_enrollment_required' | 'org_suspended'
>;
