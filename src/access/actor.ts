// Who an audit entry names as the actor of a caller's act.
import type { AuditLog } from '../db/schema.ts';
import type { Principal } from './principal.ts';

export function auditActor(p: Principal): {
  actor_user_id: string;
  actor_type: AuditLog['actor_type'];
} {
  const actor_type = p.apiKeyId ? 'api_key' : p.superuser ? 'superuser' : 'user';
  return { actor_user_id: p.userId, actor_type };
}

/** API keys act on resources only: anything about people, orgs or sessions needs a person. */
export function isPerson(p: Principal): boolean {
  return p.via !== 'api_key' && p.apiKeyId === undefined;
}
