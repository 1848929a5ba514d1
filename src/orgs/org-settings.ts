// An org's policy settings, kept in orgs.settings (jsonb):
// - `mfa_required_roles`: roles that must use MFA (enforced at login and refresh by src/mfa/).
// - `allowed_email_domains`: when non-empty, invitations and admin-created users are limited to
//   addresses whose domain is exactly one of these (no subdomains). Existing members are kept.
import { Type } from 'typebox';
import { ROLES } from '../access/permissions.ts';
import type { Role } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import { RoleOut } from '../users/user.json.ts';

export interface OrgSettings {
  mfa_required_roles: Role[];
  allowed_email_domains: string[];
}

// A DNS name with at least two labels (IDNs in their xn-- form); compared lower-cased.
export const Domain = Type.String({
  maxLength: 253,
  pattern:
    '^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$',
});

export const OrgSettingsOut = Type.Object({
  mfa_required_roles: Type.Array(RoleOut),
  allowed_email_domains: Type.Array(Type.String()),
});

export const OrgSettingsPatch = Type.Object(
  {
    mfa_required_roles: Type.Optional(
      Type.Array(RoleOut, { uniqueItems: true, maxItems: ROLES.length }),
    ),
    allowed_email_domains: Type.Optional(Type.Array(Domain, { maxItems: 100 })),
  },
  { additionalProperties: false },
);

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
