// What a password login reads before it checks the password: the account, its active memberships
// (oldest first) and each membership's org, in ONE statement on the system path (no tenant is
// known yet). An unknown address runs the same statement and finds no row: the same work either way.
import type { Org, Role, User } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export interface LoginMembership {
  org_id: string;
  role: Role;
  created_at: Date;
  org_name: string;
  org_kind: Org['kind'];
  org_suspended_at: Date | null;
}

export async function findLoginAccount(
  tx: Tx,
  email: string,
): Promise<{ user: User | undefined; memberships: LoginMembership[] }> {
  const rows = await tx
    .selectFrom('users')
    .leftJoin('memberships', (join) =>
      join.onRef('memberships.user_id', '=', 'users.id').on('memberships.status', '=', 'active'),
    )
    .leftJoin('orgs', 'orgs.id', 'memberships.org_id')
    .selectAll('users')
    .select([
      'memberships.org_id',
      'memberships.role',
      'memberships.created_at as membership_created_at',
      'orgs.name as org_name',
      'orgs.kind as org_kind',
      'orgs.suspended_at as org_suspended_at',
    ])
    .where('users.email', '=', email)
    .orderBy('memberships.created_at', 'asc')
    .execute();
  const first = rows[0];
  if (!first) return { user: undefined, memberships: [] };
  const {
    org_id: _o,
    role: _r,
    membership_created_at: _c,
    org_name: _n,
    org_kind: _k,
    org_suspended_at: _s,
    ...user
  } = first;
  const memberships: LoginMembership[] = [];
  for (const r of rows) {
    // The left joins: an account without memberships (or one whose org row is hidden) is one
    // row of nulls on the membership side.
    if (r.org_id === null || r.role === null || r.org_name === null || r.org_kind === null)
      continue;
    memberships.push({
      org_id: r.org_id,
      role: r.role,
      created_at: r.membership_created_at!,
      org_name: r.org_name,
      org_kind: r.org_kind,
      org_suspended_at: r.org_suspended_at,
    });
  }
  return { user: user as User, memberships };
}
