// The caller's orgs: list the ones they belong to, found a new one, read and change the current
// one (name and policy settings).
import { isPerson } from '../access/actor.ts';
import {
  activeMembershipsOfUser,
  findOrg,
  insertMembership,
  insertOrg,
} from '../access/membership.repository.ts';
import { mergeSettings, type OrgSettings } from '../access/org-policy.ts';
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { lockCaller } from '../access/standing.ts';
import { recordAct } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import type { Database } from '../db/database.ts';
import type { Org } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { lockOrg, updateOrg } from './member.repository.ts';

export function requirePerson(p: Principal): void {
  if (!isPerson(p)) throw new AppError('forbidden', 'API keys cannot do this; a person must');
}

export function listMyOrgs(database: Database, p: Principal) {
  requirePerson(p);
  return withTenant(database, tenantOf(p), (tx) => activeMembershipsOfUser(tx, p.userId));
}

export async function createOrg(
  auth: Pick<AuthContext, 'database' | 'limiter'>,
  p: Principal,
  name: string,
  meta: RequestMeta,
): Promise<Org> {
  requirePerson(p);
  // Each org is a tenant with its own rows and audit trail: a script or a stolen session must not
  // be able to mint them by the thousand (RATE_LIMIT_ORG_CREATE).
  await auth.limiter.consume('org_create', p.userId);
  const orgId = newId();
  // The transaction runs in the context of the org it creates, with the caller as its owner:
  // exactly what is true once it commits. The policies then admit the org row, the owner
  // membership and the audit entry, and nothing of any other org.
  return withTenant(
    auth.database,
    { orgId, userId: p.userId, role: 'owner', superuser: false },
    async (tx) => {
      const org = await insertOrg(tx, { id: orgId, name: name.trim(), kind: 'company' });
      await insertMembership(tx, orgId, p.userId, 'owner');
      await recordAct(tx, meta, p, {
        org_id: orgId,
        action: 'org.create',
        target_type: 'org',
        target_id: orgId,
        metadata: { from_org: p.orgId },
      });
      return org;
    },
  );
}

export async function getCurrentOrg(database: Database, p: Principal): Promise<Org> {
  requirePermission(p, 'org:read');
  const org = await withTenant(database, tenantOf(p), (tx) => findOrg(tx, p.orgId));
  if (!org) throw notFound('organization');
  return org;
}

export function updateCurrentOrg(
  database: Database,
  p: Principal,
  patch: { name?: string; settings?: Partial<OrgSettings> },
  meta: RequestMeta,
): Promise<Org> {
  requirePermission(p, 'org:manage');
  return withTenant(database, tenantOf(p), async (tx) => {
    // The org row first (this transaction updates it), then the caller as they stand now: the
    // settings (MFA policy, admitted domains) are not changed on a stale token's role.
    await lockOrg(tx, p.orgId);
    const { caller, standing } = await lockCaller(tx, p);
    requirePermission(caller, 'org:manage');
    const org = standing.org;
    const settings = patch.settings ? mergeSettings(org.settings, patch.settings) : undefined;
    const updated = await updateOrg(tx, p.orgId, {
      name: patch.name?.trim(),
      settings,
    });
    if (!updated) throw notFound('organization');
    const changed = [
      ...(patch.name !== undefined ? ['name'] : []),
      ...Object.keys(patch.settings ?? {}).map((k) => `settings.${k}`),
    ];
    await recordAct(tx, meta, caller, {
      action: 'org.update',
      target_type: 'org',
      target_id: p.orgId,
      metadata: {
        fields: changed.join(','),
        ...(patch.settings?.mfa_required_roles
          ? { mfa_required_roles: patch.settings.mfa_required_roles.join(',') }
          : {}),
        ...(patch.settings?.allowed_email_domains
          ? { allowed_email_domains: patch.settings.allowed_email_domains.join(',') }
          : {}),
      },
    });
    return updated;
  });
}
