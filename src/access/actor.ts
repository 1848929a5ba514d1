// Who an audit entry names as the actor of a caller's act.
import type { AuditLog } from '../db/schema.ts';
import type { Principal } from './principal.ts';

/** Who acted: a person, or a key acting for its creator (`apiKeyId`). */
export type Actor = Pick<Principal, 'userId' | 'superuser' | 'apiKeyId'>;

interface AuditActor {
  actor_user_id: string;
  actor_type: AuditLog['actor_type'];
}

/** The person, named as themselves (the superuser as one) even when a key of theirs acted. */
export function personActor(p: Pick<Principal, 'userId' | 'superuser'>): AuditActor {
  return { actor_user_id: p.userId, actor_type: p.superuser ? 'superuser' : 'user' };
}

export function auditActor(p: Actor): AuditActor {
  return p.apiKeyId ? { actor_user_id: p.userId, actor_type: 'api_key' } : personActor(p);
}

/** API keys act on resources only: anything about people, orgs or sessions needs a person. */
export function isPerson(p: Principal): boolean {
  return p.via !== 'api_key' && p.apiKeyId === undefined;
}
