// The public shapes of orgs, members and invitations (snake_case; never a token or hash).
import { Type } from 'typebox';
import { readSettings } from '../access/org-policy.ts';
import type { Invitation, Org, Role } from '../db/schema.ts';
import { Timestamp } from '../http/schemas.ts';
import { RoleOut } from '../users/user.json.ts';
import type { MemberRow } from './member.repository.ts';
import { OrgSettingsOut } from './org-settings.ts';

export const MembershipOut = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: Type.Union([Type.Literal('company'), Type.Literal('personal')]),
  role: RoleOut,
  current: Type.Boolean({ description: 'The org the calling session acts in' }),
  suspended: Type.Boolean({
    description: 'Suspended or locked down (the kill switch): switching into it is refused',
  }),
  joined_at: Timestamp,
});

export const OrgDetailOut = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: Type.Union([Type.Literal('company'), Type.Literal('personal')]),
  settings: OrgSettingsOut,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const MemberOut = Type.Object({
  user_id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  full_name: Type.Union([Type.String(), Type.Null()]),
  role: RoleOut,
  status: Type.Union([Type.Literal('active'), Type.Literal('deactivated')]),
  mfa_enabled: Type.Boolean(),
  joined_at: Timestamp,
  updated_at: Timestamp,
});

export const InvitationOut = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: RoleOut,
  invited_by: Type.String({ format: 'uuid' }),
  created_at: Timestamp,
  expires_at: Timestamp,
});

export function orgDetailJson(o: Org) {
  return {
    id: o.id,
    name: o.name,
    kind: o.kind,
    settings: readSettings(o.settings),
    created_at: o.created_at.toISOString(),
    updated_at: o.updated_at.toISOString(),
  };
}

export function membershipJson(
  m: {
    org_id: string;
    org_name: string;
    org_kind: Org['kind'];
    org_suspended_at: Date | null;
    role: Role;
    created_at: Date;
  },
  currentOrgId: string,
) {
  return {
    id: m.org_id,
    name: m.org_name,
    kind: m.org_kind,
    role: m.role,
    current: m.org_id === currentOrgId,
    suspended: m.org_suspended_at !== null,
    joined_at: m.created_at.toISOString(),
  };
}

export function memberJson(m: MemberRow) {
  return {
    user_id: m.user_id,
    email: m.email,
    full_name: m.full_name,
    role: m.role,
    status: m.status,
    mfa_enabled: m.mfa_enabled_at !== null,
    joined_at: m.created_at.toISOString(),
    updated_at: m.updated_at.toISOString(),
  };
}

export function invitationJson(i: Invitation) {
  return {
    id: i.id,
    email: i.email,
    role: i.role,
    invited_by: i.invited_by,
    created_at: i.created_at.toISOString(),
    expires_at: i.expires_at.toISOString(),
  };
}
