// Forward-auth (`GET /api/auth/verify`): what a reverse proxy learns about a request's credential.
// Threat: an API key answers for its creator, so a proxy that read only the role would admit a
// `prompts:read` key as an owner. The answer therefore names the kind of credential and the key's
// scopes, and a proxy may demand permissions (`?permission=`), judged by the same `can` every
// route uses: a key holds its scopes intersected with its creator's current role, a session its
// role's permissions. Hot path: pure, no database work beyond the authenticator's.
import { isPerson } from '../access/actor.ts';
import { PERMISSIONS, type Permission, requirePermission } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';

export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

export type CredentialKind = 'session' | 'api_key';

export interface ForwardAuthAnswer {
  credential: CredentialKind;
  /** API keys: the scopes they were granted. Sessions: null (their role governs). */
  scopes: readonly string[] | null;
}

/** Throws 403 forbidden (naming the first permission missing) unless p holds every one. */
export function forwardAuth(p: Principal, demanded: readonly Permission[] = []): ForwardAuthAnswer {
  for (const permission of demanded) requirePermission(p, permission);
  return isPerson(p)
    ? { credential: 'session', scopes: null }
    : { credential: 'api_key', scopes: p.scopes ?? [] };
}
