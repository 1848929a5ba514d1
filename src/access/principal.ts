// Who is calling: resolved once per request by the authenticator, read by services.
import type { FastifyRequest } from 'fastify';
import type { Role } from '../db/schema.ts';
import type { TenantContext } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';

export interface Principal {
  userId: string;
  orgId: string;
  role: Role;
  superuser: boolean;
  /** Session id for user tokens; undefined for other kinds of credentials. */
  sessionId?: string;
}

/** Resolves the caller of a request, or null when the request carries no valid credential. */
export type Authenticator = (
  request: FastifyRequest,
) => Promise<Principal | null> | Principal | null;

export function requirePrincipal(request: FastifyRequest): Principal {
  const p = request.principal;
  if (!p) throw new AppError('unauthenticated');
  return p;
}

export function tenantOf(p: Principal): TenantContext {
  return { orgId: p.orgId, userId: p.userId, role: p.role, superuser: p.superuser };
}
