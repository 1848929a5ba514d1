// The permission matrix: one table from permission to the roles that hold it. Every route checks
// through `can`/`requirePermission`; row-level security mirrors the "own rows only" rule for
// members in the database. Documented in the README (keep them in step).
import { ROLES, type Role } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import { isPerson } from './actor.ts';
import type { Principal } from './principal.ts';

// The role list is defined beside the column it types (the database layer needs it for the tenant
// context); everything above the database takes it from here.
export { ROLES };

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
  // Outbound calling rules (src/calling-rules/): everyone reads the org's calling window and its
  // do-not-call list; owners and admins set the window; managers and up change the list (adding a
  // number cancels the org's pending calls to it, which only they see).
  'calling_window:read': ALL,
  'calling_window:manage': ADMINS,
  'do_not_call:read': ALL,
  'do_not_call:manage': MANAGERS,
  // Logs and analytics are read-only to people (webhooks write them). Members read those of their
  // own phones and agents; owners, admins and managers the whole org's (row-level security too).
  'calls:read': ALL,
  'messages:read': ALL,
  'analytics:read': ALL,
  // LiveKit rooms (src/livekit/): everyone joins, publishes and subscribes in their org's rooms;
  // owners, admins and managers also administer the room they join. Voice sessions are read like
  // the logs: members their own, owners, admins and managers the whole org's.
  'livekit:join': ALL,
  'livekit:room_admin': MANAGERS,
  'voice_sessions:read': ALL,
  // Conversations (device audio streams). Members read and delete their own; owners, admins and
  // managers every conversation of the org (row-level security too). Devices create them by
  // streaming, never through a permission here.
  'conversations:read': ALL,
  'conversations:manage_own': ALL,
  'conversations:manage_any': MANAGERS,
  // Device audio: streaming from a device for oneself (GET /ws, /ws_pcm, tickets), and seeing and
  // revoking one's own devices. No scope grants `devices:manage_own`: only people revoke devices.
  'audio:stream': ALL,
  'devices:manage_own': ALL,
  // The organization itself.
  'org:read': ALL,
  'org:manage': ADMINS,
  'members:read': ALL,
  'members:manage': ADMINS,
  'invitations:manage': ADMINS,
  'api_keys:manage': ADMINS,
  'audit:read': ADMINS,
  // The kill switch (src/suspension/): the owner alone locks the org down; no scope grants it.
  'org:lockdown': ['owner'],
  // Concurrency quotas (src/quotas/): everyone sees the usage; owners and admins set the limits.
  'quotas:read': ALL,
  'quotas:manage': ADMINS,
  // Agent workers (API keys only: the agent routes refuse people): read a member's context
  // (profile, role, preferences, recent voice sessions) and write one of their preferences. A
  // worker sees any member of the org, so its key's creator must be one who sees the whole org.
  'agent:context': MANAGERS,
  'agent:preferences': MANAGERS,
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/**
 * What each API-key scope grants: the closed list of scopes a key may hold, in the order the API
 * lists them. `<resource>:read` grants reads, `<resource>:write` every change to that resource.
 * A key acts with its creator's current role, narrowed to what its scopes grant. No scope grants
 * managing members, invitations, keys, settings or reading the audit log: only people do that.
 * A permission is granted by one scope at most, and every scope grants one at least (a unit test
 * holds both).
 */
export const SCOPES = {
  'org:read': ['org:read'],
  'prompts:read': ['prompts:read'],
  'prompts:write': ['prompts:create', 'prompts:manage_own', 'prompts:manage_any'],
  // Agent workers: GET /api/agent/context (with users:read, the member's email too) and
  // PUT /api/agent/preferences/{identity}.
  'agent:context': ['agent:context'],
  'agent:preferences': ['agent:preferences'],
  // The people of the org: their list, and emails in the agent context.
  'users:read': ['members:read'],
  'phones:read': ['phones:read'],
  'phones:write': ['phones:create', 'phones:manage_own', 'phones:manage_any'],
  'agents:read': ['agents:read'],
  'agents:write': ['agents:create', 'agents:manage_own', 'agents:manage_any'],
  'message_agents:read': ['message_agents:read'],
  'message_agents:write': [
    'message_agents:create',
    'message_agents:manage_own',
    'message_agents:manage_any',
  ],
  'scheduled_calls:read': ['scheduled_calls:read'],
  'scheduled_calls:write': [
    'scheduled_calls:create',
    'scheduled_calls:manage_own',
    'scheduled_calls:manage_any',
  ],
  // The do-not-call list (a CRM syncing its opt-outs); the calling window is people-only.
  'do_not_call:read': ['do_not_call:read'],
  'do_not_call:write': ['do_not_call:manage'],
  'calls:read': ['calls:read'],
  'messages:read': ['messages:read'],
  'analytics:read': ['analytics:read'],
  // Mint LiveKit room tokens for the key's creator. Never `roomAdmin`: no scope grants
  // livekit:room_admin, so a key's tokens join, publish and subscribe only.
  'livekit:join': ['livekit:join'],
  'voice_sessions:read': ['voice_sessions:read'],
  'conversations:read': ['conversations:read'],
  // Streams device audio (GET /ws, /ws_pcm) for the key's creator.
  'audio:write': ['audio:stream'],
  // GET /api/orgs/current/usage and /quotas (reading only: no scope sets limits).
  'quotas:read': ['quotas:read'],
} as const satisfies Record<string, readonly Permission[]>;

export type ApiKeyScope = keyof typeof SCOPES;

export const API_KEY_SCOPES = Object.keys(SCOPES) as ApiKeyScope[];

/**
 * A write scope includes its read scope. A change answers the changed record (and a no-op PATCH
 * the record as it stands), so a key that may change rows it may not read would read them anyway,
 * through the write routes: the read is granted outright instead, and a key made with
 * `prompts:write` alone reads prompts like one made with both.
 */
export const SCOPE_INCLUDES: Partial<Record<ApiKeyScope, readonly ApiKeyScope[]>> = {
  'prompts:write': ['prompts:read'],
  'phones:write': ['phones:read'],
  'agents:write': ['agents:read'],
  'message_agents:write': ['message_agents:read'],
  'scheduled_calls:write': ['scheduled_calls:read'],
  'do_not_call:write': ['do_not_call:read'],
};

/** What a key's stored scopes grant: each, and the scopes it includes (SCOPE_INCLUDES). */
export function grantedScopes(scopes: readonly string[]): string[] {
  const includes: Partial<Record<string, readonly string[]>> = SCOPE_INCLUDES;
  return [...new Set(scopes.flatMap((s) => [s, ...(includes[s] ?? [])]))];
}

const SCOPE_OF = new Map<Permission, ApiKeyScope>(
  API_KEY_SCOPES.flatMap((scope) => SCOPES[scope].map((perm) => [perm, scope] as const)),
);

/** The API-key scope that grants a permission, or null when no key may ever hold it. */
export function scopeFor(permission: Permission): ApiKeyScope | null {
  return SCOPE_OF.get(permission) ?? null;
}

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

/**
 * The platform superuser in person: never through an API key, never before enrolling MFA, and
 * never while acting inside an org (X-Switchboard-Org): a request made as an org's owner is an act
 * in that org, audited there, and must not double as a platform act (suspending, resuming, disabling
 * accounts, assigning platform numbers).
 */
export function requireSuperuser(p: Principal): void {
  if (!p.superuser || !isPerson(p) || p.mfaPending) throw new AppError('superuser_required');
  if (p.actingInOrg) {
    throw new AppError(
      'superuser_required',
      'Platform administration is refused while acting inside an org: send it without X-Switchboard-Org',
    );
  }
}

/** Resources with an owner: members manage their own rows, managers and up every row. */
export type OwnedResource = 'prompts' | 'phones' | 'agents' | 'message_agents' | 'scheduled_calls';

/**
 * The roles that SEE every row of their org (voice resources, call and message logs, analytics);
 * the others see their own rows and the logs of their own phones and agents. Mirrors
 * app_sees_all_of_org() in the database. Seeing follows the role, not the scopes: scopes gate
 * actions, which services check first, so a key holding only `<resource>:read` reads every row
 * its creator's role can see.
 */
const SEES_WHOLE_ORG = MANAGERS;

export function seesWholeOrg(caller: Pick<Principal, 'role'>): boolean {
  return (SEES_WHOLE_ORG as readonly Role[]).includes(caller.role);
}

export function canSeeRow(caller: Pick<Principal, 'role' | 'userId'>, ownerId: string): boolean {
  return seesWholeOrg(caller) || ownerId === caller.userId;
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
