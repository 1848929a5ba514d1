// The permission matrix: one table from permission to the roles that hold it. Every route checks
// through `can`/`requirePermission`; row-level security mirrors the "own rows only" rule for
// members in the database. Documented in the README (keep them in step).
import type { Role } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';

export const ROLES = ['owner', 'admin', 'manager', 'member'] as const satisfies readonly Role[];

const ALL = ROLES;
const ADMINS = ['owner', 'admin'] as const;
const MANAGERS = ['owner', 'admin', 'manager'] as const;

export const PERMISSIONS = {
  // Voice resources (today: prompts). Members create and manage their own rows only.
  'prompts:read': ALL,
  'prompts:create': ALL,
  'prompts:manage_own': ALL,
  'prompts:manage_any': MANAGERS,
  // The organization itself.
  'org:read': ALL,
  'org:manage': ADMINS,
  'members:read': ALL,
  'members:manage': ADMINS,
  'invitations:manage': ADMINS,
  'api_keys:manage': ADMINS,
  'audit:read': ADMINS,
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function can(role: Role | null | undefined, permission: Permission): boolean {
  return !!role && (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

export function requirePermission(role: Role | null | undefined, permission: Permission): void {
  if (!can(role, permission))
    throw new AppError('forbidden', `Requires the ${permission} permission`);
}

/** May this role change a row owned by ownerId? (members: their own rows only) */
export function canManageRow(
  principal: { role: Role; userId: string },
  resource: 'prompts',
  ownerId: string,
): boolean {
  return (
    can(principal.role, `${resource}:manage_any`) ||
    (can(principal.role, `${resource}:manage_own`) && ownerId === principal.userId)
  );
}
