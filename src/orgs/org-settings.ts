// The HTTP shapes of an org's policy settings; what they mean and how they are read is
// src/access/org-policy.ts.
import { Type } from 'typebox';
import { ROLES } from '../access/permissions.ts';
import { RoleOut } from '../users/user.json.ts';

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
