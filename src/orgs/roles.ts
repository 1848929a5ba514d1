// Role order for grants: nobody may hand out more power than they hold.
import type { Role } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';

const RANK: Record<Role, number> = { member: 0, manager: 1, admin: 2, owner: 3 };

export function roleAbove(role: Role, than: Role): boolean {
  return RANK[role] > RANK[than];
}

/** An admin may invite or create admins, managers and members; only an owner may grant owner. */
export function assertMayGrant(callerRole: Role, role: Role): void {
  if (roleAbove(role, callerRole)) {
    throw new AppError('role_above_caller', `A ${callerRole} cannot grant the ${role} role`);
  }
}
