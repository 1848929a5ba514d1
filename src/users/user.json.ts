// The public shape of a user and an org in API responses (snake_case; never a hash or secret).
import { Type } from 'typebox';
import { ROLES } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';
import type { Org, Role } from '../db/schema.ts';
import { Timestamp } from '../http/schemas.ts';
import type { PublicUser } from './user.repository.ts';

export const UserOut = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  full_name: Type.Union([Type.String(), Type.Null()]),
  is_superuser: Type.Boolean(),
  email_verified: Type.Boolean(),
  mfa_enabled: Type.Boolean(),
  created_at: Timestamp,
});

export const OrgOut = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: Type.Union([Type.Literal('company'), Type.Literal('personal')]),
});

/** One literal per role, in ROLES' order (the order the OpenAPI document lists them in). */
export const RoleOut = Type.Unsafe<Role>(Type.Union(ROLES.map((r) => Type.Literal(r))));

export const MeOut = Type.Object({
  ...UserOut.properties,
  org: OrgOut,
  role: RoleOut,
  amr: Type.Array(Type.String()),
  mfa_enrollment_required: Type.Boolean(),
});

/** The columns a user's public shape is made of (the repository reads only these for it). */
export type UserJsonFields = PublicUser;

export function userJson(u: UserJsonFields) {
  return {
    id: u.id,
    email: u.email,
    full_name: u.full_name,
    is_superuser: u.is_superuser,
    email_verified: u.email_verified_at !== null,
    mfa_enabled: u.mfa_enabled_at !== null,
    created_at: u.created_at.toISOString(),
  };
}

export function orgJson(o: Pick<Org, 'id' | 'name' | 'kind'>) {
  return { id: o.id, name: o.name, kind: o.kind };
}

/** The caller's own view: their account, the org they act in and how they authenticated. */
export function meJson(
  me: { user: UserJsonFields; org: Pick<Org, 'id' | 'name' | 'kind'> },
  p: Principal,
) {
  // Object.assign, not a spread: `GET /auth/me` answers every page load, and a spread followed by
  // more fields is slow under Node 20's V8 (ARCHITECTURE.md, Performance).
  return Object.assign(userJson(me.user), {
    org: orgJson(me.org),
    role: p.role,
    amr: p.amr ?? [],
    mfa_enrollment_required: p.mfaPending === true,
  });
}
