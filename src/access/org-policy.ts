// An org's security policy, kept in orgs.settings (jsonb) and written by PATCH /api/orgs/current:
// - `mfa_required_roles`: roles that must use MFA. A member of such a role without MFA gets
//   enrolment-only tokens (`mfa_pending`) at login, refresh, switch-org and invitation accept
//   until MFA is on (src/mfa/mfa-enrollment-gate.ts confines them).
// - `allowed_email_domains`: when non-empty, invitations and admin-created users are limited to
//   addresses whose domain is exactly one of these (no subdomains). Existing members are kept.
// One reader for both, so every capability sees the same policy in the same JSON.
import type { Role } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import { ROLES } from './permissions.ts';

export interface OrgSettings {
  mfa_required_roles: Role[];
  allowed_email_domains: string[];
}

/** The settings as stored, read defensively: anything malformed counts as absent. */
export function readSettings(raw: Record<string, unknown> | null | undefined): OrgSettings {
  const roles = raw?.mfa_required_roles;
  const domains = raw?.allowed_email_domains;
  return {
    mfa_required_roles: Array.isArray(roles) ? ROLES.filter((r) => roles.includes(r)) : [],
    allowed_email_domains: Array.isArray(domains)
      ? domains.filter((d): d is string => typeof d === 'string')
      : [],
  };
}

/** The stored settings with a patch applied (other keys in the column are kept as they are). */
export function mergeSettings(
  raw: Record<string, unknown> | null | undefined,
  patch: Partial<OrgSettings>,
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...(raw ?? {}) };
  if (patch.mfa_required_roles !== undefined) {
    next.mfa_required_roles = ROLES.filter((r) => patch.mfa_required_roles!.includes(r));
  }
  if (patch.allowed_email_domains !== undefined) {
    next.allowed_email_domains = [
      ...new Set(patch.allowed_email_domains.map((d) => d.toLowerCase())),
    ];
  }
  return next;
}

/** The roles the settings require MFA of. */
export function rolesRequiringMfa(settings: Record<string, unknown> | null | undefined): Role[] {
  return readSettings(settings).mfa_required_roles;
}

/**
 * Whether a session is pinned to MFA enrolment: its org requires MFA of its role, and either the
 * user has none or this session never proved it (`amr` without `mfa`). Pinning is the session's
 * state, not only the account's: a session opened with the password alone while enrolment was
 * pending must not turn into a full one when the user enables MFA in another session (that would
 * hand full access to whoever else held the password).
 */
export function mfaEnrollmentPending(
  user: { mfa_enabled_at: Date | null },
  amr: readonly string[],
  orgSettings: Record<string, unknown> | null | undefined,
  role: Role,
): boolean {
  if (!rolesRequiringMfa(orgSettings).includes(role)) return false;
  return user.mfa_enabled_at === null || !amr.includes('mfa');
}

export function emailDomainAllowed(settings: OrgSettings, email: string): boolean {
  if (settings.allowed_email_domains.length === 0) return true;
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  return settings.allowed_email_domains.includes(domain);
}

export function assertEmailDomainAllowed(settings: OrgSettings, email: string): void {
  if (!emailDomainAllowed(settings, email)) {
    throw new AppError(
      'email_domain_not_allowed',
      `This organization admits only addresses at: ${settings.allowed_email_domains.join(', ')}`,
    );
  }
}
