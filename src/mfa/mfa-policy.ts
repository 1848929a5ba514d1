// The org's MFA policy: `orgs.settings.mfa_required_roles` (written by PATCH /api/orgs/current)
// lists the roles that must use MFA. A member of such a role without MFA gets enrolment-only
// tokens (`mfa_pending`) at login and refresh until MFA is on.
import { ROLES } from '../access/permissions.ts';
import type { Role } from '../db/schema.ts';

export const MFA_REQUIRED_ROLES_KEY = 'mfa_required_roles';

/** The roles the settings require MFA of; anything malformed in the JSON counts as absent. */
export function rolesRequiringMfa(settings: Record<string, unknown> | null | undefined): Role[] {
  const v = settings?.[MFA_REQUIRED_ROLES_KEY];
  if (!Array.isArray(v)) return [];
  return ROLES.filter((r) => v.includes(r));
}

export function mfaEnrollmentPending(
  user: { mfa_enabled_at: Date | null },
  orgSettings: Record<string, unknown> | null | undefined,
  role: Role,
): boolean {
  return user.mfa_enabled_at === null && rolesRequiringMfa(orgSettings).includes(role);
}
