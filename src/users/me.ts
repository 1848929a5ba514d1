// The caller's own account: who they are, in which org, with which role.
import { findOrg } from '../access/membership.repository.ts';
import type { Principal } from '../access/principal.ts';
import { tenantOf } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import { withTenant, withTenantRead } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { findUserInOrg, updateProfile } from './user.repository.ts';

export async function getMe(database: Database, p: Principal) {
  const me = await withTenantRead(database, tenantOf(p), (tx) =>
    findUserInOrg(tx, p.userId, p.orgId),
  );
  if (!me) throw new AppError('unauthenticated');
  return me;
}

export async function updateMe(
  database: Database,
  p: Principal,
  patch: { full_name?: string | null },
) {
  return withTenant(database, tenantOf(p), async (tx) => {
    const user = await updateProfile(tx, p.userId, patch);
    const org = await findOrg(tx, p.orgId);
    if (!user || !org) throw new AppError('unauthenticated');
    return { user, org };
  });
}
