// Role order for grants: nobody may hand out more power than they hold.
import { can, ROLES } from '../access/permissions.ts';
import type { Role } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';

/** ROLES lists the roles highest first. */
export function roleAbove(role: Role, than: Role): boolean {
  return ROLES.indexOf(role) < ROLES.indexOf(than);
}

/** An admin may invite or create admins, managers and members; only an owner may grant owner. */
export function assertMayGrant(callerRole: Role, role: Role): void {
  if (roleAbove(role, callerRole)) {
    const article = /^[aeiou]/.test(callerRole) ? 'An' : 'A';
    throw new AppError(
      'role_above_caller',
      `${article} ${callerRole} cannot grant the ${role} role`,
    );
  }
}

/**
 * Whether someone holding `holderRole` (null: no active membership) may grant `role` through an
 * invitation: they manage invitations and the role is not above theirs. An invitation is only as
 * good as this is for its inviter — at sending, and again when it is accepted.
 */
export function mayInviteAs(holderRole: Role | null, role: Role): boolean {
  return (
    holderRole !== null &&
    can({ role: holderRole }, 'invitations:manage') &&
    !roleAbove(role, holderRole)
  );
}

/** The invitation roles someone holding `holderRole` could not grant. */
export function rolesNotGrantableBy(holderRole: Role | null): Role[] {
  return ROLES.filter((r) => !mayInviteAs(holderRole, r));
}
