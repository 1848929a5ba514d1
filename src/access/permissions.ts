// The permission matrix: one table from permission to the roles that hold it. Every route checks
// through `can`/`requirePermission`; row-level security mirrors the "own rows only" rule for
// members in the database. Documented in the README (keep them in step).
import type { Role } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import { isPerson } from './actor.ts';
import type { Principal } from './principal.ts';

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
  'phones:read': ALL,
  'phones:create': ALL,
  'phones:manage_own': ALL,
  'phones:manage_any': MANAGERS,
  'agents:read': ALL,
  'agents:create': ALL,
  'agents:manage_own': ALL,
  'agents:manage_any': MANAGERS,
  'message_agents:read': ALL,
  'message_agents:create': ALL,
  'message_agents:manage_own': ALL,
  'message_agents:manage_any': MANAGERS,
  'scheduled_calls:read': ALL,
  'scheduled_calls:create': ALL,
  'scheduled_calls:manage_own': ALL,
  'scheduled_calls:manage_any': MANAGERS,
  // Logs and analytics are read-only to people (webhooks write them). Members read those of their
  // own phones and agents; owners, admins and managers the whole org's (row-level security too).
  'calls:read': ALL,
  'messages:read': ALL,
  'analytics:read': ALL,
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

/**
 * The API-key scope that grants a permission, or null when no key may ever hold it (managing
 * members, keys, settings, the audit log: only people do that). `<resource>:read` grants reads,
 * `<resource>:write` grants every change to that resource.
 */
export function scopeFor(permission: Permission): string | null {
  const [resource, action] = permission.split(':') as [string, string];
  if (['org', 'members', 'invitations', 'api_keys', 'audit'].includes(resource)) {
    return permission === 'org:read' ? 'org:read' : null;
  }
  return action === 'read' ? `${resource}:read` : `${resource}:write`;
}

/**
 * The closed list of scopes an API key may hold. Every non-null `scopeFor(permission)` must be
 * here (a unit test checks it), so adding a resource's permissions means adding its scopes.
 */
export const API_KEY_SCOPES = [
  'org:read',
  'prompts:read',
  'prompts:write',
  'agent:context',
  'phones:read',
  'phones:write',
  'agents:read',
  'agents:write',
  'message_agents:read',
  'message_agents:write',
  'scheduled_calls:read',
  'scheduled_calls:write',
  'calls:read',
  'calls:write',
  'messages:read',
  'messages:write',
  'analytics:read',
] as const;

export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

type Caller = Pick<Principal, 'role'> & Partial<Pick<Principal, 'scopes'>>;

export function can(caller: Caller | null | undefined, permission: Permission): boolean {
  if (!caller || !(PERMISSIONS[permission] as readonly Role[]).includes(caller.role)) return false;
  if (caller.scopes === undefined) return true;
  const scope = scopeFor(permission);
  return scope !== null && caller.scopes.includes(scope);
}

export function requirePermission(caller: Caller | null | undefined, permission: Permission): void {
  if (!can(caller, permission))
    throw new AppError('forbidden', `Requires the ${permission} permission`);
}

/** The platform superuser in person: never through an API key, never before enrolling MFA. */
export function requireSuperuser(p: Principal): void {
  if (!p.superuser || !isPerson(p) || p.mfaPending) throw new AppError('superuser_required');
}

/** Resources with an owner: members manage their own rows, managers and up every row. */
export type OwnedResource = 'prompts' | 'phones' | 'agents' | 'message_agents' | 'scheduled_calls';

/**
 * Which rows a caller SEES follows its role, as row-level security does (managers and up: the
 * whole org; members: their own). Scopes gate actions, which services check first; so a key
 * holding only `<resource>:read` reads every row its creator's role can see.
 */
export function seesAllRows(
  caller: Pick<Principal, 'role'>,
  resource: Parameters<typeof canManageRow>[1],
): boolean {
  return (PERMISSIONS[`${resource}:manage_any`] as readonly Role[]).includes(caller.role);
}

export function canSeeRow(
  caller: Pick<Principal, 'role' | 'userId'>,
  resource: Parameters<typeof canManageRow>[1],
  ownerId: string,
): boolean {
  return seesAllRows(caller, resource) || ownerId === caller.userId;
}

/** May this caller change a row owned by ownerId? (members: their own rows only) */
export function canManageRow(
  caller: Caller & { userId: string },
  resource: OwnedResource,
  ownerId: string,
): boolean {
  return (
    can(caller, `${resource}:manage_any`) ||
    (can(caller, `${resource}:manage_own`) && ownerId === caller.userId)
  );
}
