// Forward-auth (`GET /api/auth/verify`): what a reverse proxy learns about a request's credential.
// Threat: an API key answers for its creator, so a proxy that read only the role would admit a
// `prompts:read` key as an owner. The answer therefore names the kind of credential and the key's
// scopes, and a proxy may demand permissions (`?permission=`), judged by the same `can` every
// route uses: a key holds its scopes intersected with its creator's current role, a session its
// role's permissions. Hot path: pure, no database work beyond the authenticator's.
import { isPerson } from '../access/actor.ts';
import { PERMISSIONS, type Permission, requirePermission } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';
import { AppError } from '../http/errors.ts';

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

/**
 * The authenticator's refusal as forward-auth answers it. A proxy relays only 401 and 403 (nginx
 * turns anything else into a 500), and what the authenticator refuses with a 400 or 404 is input
 * of the proxy's client (an X-Switchboard-Org that is no org id, or names no org): a 403 keeping
 * its detail, so no client makes the proxy fail at will. Limits (429) and outages (5xx) stay.
 */
export function forwardAuthRefusal(err: Error): Error {
  if (err instanceof AppError && (err.status === 400 || err.status === 404)) {
    return new AppError('forbidden', err.detail, {}, { cause: err });
  }
  return err;
}
