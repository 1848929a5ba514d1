// `X-Switchboard-Org: <org id>`: the platform superuser acts inside any org.
//
// - Only a superuser's own login token (claim `su`) may use it; the principal then carries that
//   org, the owner role and the superuser flag, which becomes the tenant context's `superuser`
//   setting — the same context mechanism every request uses, no second query path.
// - Anyone else sending it for another org gets 403 (never silently their own org: a client
//   that believes it acts in org X must not write into org Y). Naming their own org is a no-op.
// - Every request acting this way is recorded in THAT org's audit log, actor the superuser
//   (actor_type 'superuser'), with method, route and outcome — written before the response
//   goes out, whatever the handler did or threw.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPerson } from '../access/actor.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAudit } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { UUID_PATTERN } from '../http/ids.ts';
import { requestMeta } from '../http/request-meta.ts';
import { orgExists } from './admin.repository.ts';

export const ORG_HEADER = 'x-switchboard-org';
const UUID = new RegExp(UUID_PATTERN);
/** Orgs are never deleted, so "this org exists" stays true: remembered, bounded. */
const KNOWN_ORGS_MAX = 10_000;

/** The org X-Switchboard-Org names (lower case), or none; not one org id: 400 validation_failed. */
export function headerOrg(request: FastifyRequest): string | undefined {
  const raw = request.headers[ORG_HEADER];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !UUID.test(raw.trim())) {
    throw new AppError('validation_failed', 'X-Switchboard-Org must be one org id', {
      errors: [{ field: 'X-Switchboard-Org', message: 'must be a UUID' }],
    });
  }
  return raw.trim().toLowerCase();
}

export function createActInOrg(database: Database) {
  const known = new Set<string>();

  async function isKnownOrg(p: Principal, orgId: string): Promise<boolean> {
    if (known.has(orgId)) return true;
    const exists = await withTenant(database, { ...tenantOf(p), orgId }, (tx) =>
      orgExists(tx, orgId),
    );
    if (!exists) return false;
    if (known.size >= KNOWN_ORGS_MAX) known.clear();
    known.add(orgId);
    return true;
  }

  async function actIn(acting: Principal): Promise<Principal> {
    if (!(await isKnownOrg(acting, acting.orgId))) throw notFound('organization');
    return acting;
  }

  // Synchronous without the header (nearly every request): a promise only for a superuser's act.
  return (request: FastifyRequest, p: Principal): Principal | Promise<Principal> => {
    const orgId = headerOrg(request);
    if (orgId === undefined) return p;
    if (!p.superuser || !isPerson(p) || p.mfaPending) {
      if (orgId === p.orgId) return p;
      throw new AppError('forbidden', 'Only the platform superuser may act in another org');
    }
    return actIn({ ...p, orgId, role: 'owner', superuser: true, actingInOrg: true });
  };
}

/** True when this request is a superuser act inside the org named by X-Switchboard-Org. */
export function isSuperuserActInOrg(request: FastifyRequest): boolean {
  const p = request.principal;
  const raw = request.headers[ORG_HEADER];
  return (
    !!p?.superuser && isPerson(p) && typeof raw === 'string' && raw.trim().toLowerCase() === p.orgId
  );
}

export function registerSuperuserAudit(app: FastifyInstance, database: Database): void {
  // Every request passes here and almost none is a superuser's act: those go straight on
  // (done-style, no promise); an act is recorded before its answer leaves.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!isSuperuserActInOrg(request)) return done(null, payload);
    recordSuperuserAct(database, request, reply).then(() => done(null, payload), done);
  });
}

/** A failure to write the audit row is logged, and the answer still goes out. */
async function recordSuperuserAct(
  database: Database,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const p = request.principal!;
  const route = request.routeOptions?.url ?? '(no route)';
  try {
    await withTenant(database, tenantOf(p), (tx) =>
      recordAudit(tx, requestMeta(request), {
        org_id: p.orgId,
        actor_user_id: p.userId,
        actor_type: 'superuser',
        action: 'superuser.request',
        target_type: 'route',
        target_id: `${request.method} ${route}`,
        outcome: reply.statusCode < 400 ? 'success' : 'failure',
        metadata: { method: request.method, route, status: reply.statusCode },
      }),
    );
  } catch (err) {
    request.log.error(
      { err: { message: (err as Error).message } },
      'could not record a superuser act in the audit log',
    );
  }
}
