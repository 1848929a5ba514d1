// A key acts with its creator's standing, so it must not outlive it. Checking the creator at each
// use (src/api-keys/authenticate-api-key.ts) only pauses a key: re-inviting the person, or
// re-enabling the account, would bring back every key they ever made, now with their new role,
// while the org's key list showed them as active all along. So when the creator leaves the org
// (removed), loses the account (disabled) or the mailbox is first proven by someone else, their
// keys are revoked for good, in the same transaction as that change, one audit entry per key in
// the key's own org.
import { recordRevocations } from '../audit/audit.ts';
import type { AuditLog } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { revokeApiKeysCreatedBy } from './credentials.repository.ts';

export type CreatorKeysReason = 'creator_removed' | 'creator_disabled' | 'mailbox_proven';

/** Revokes the creator's live keys (in `orgId`, else every org) and audits each; answers them. */
export async function revokeCreatorKeys(
  tx: Tx,
  meta: RequestMeta,
  actor: { actor_user_id: string; actor_type: AuditLog['actor_type'] },
  creator: { userId: string; orgId?: string; createdBefore?: Date },
  reason: CreatorKeysReason,
): Promise<{ id: string; org_id: string }[]> {
  const keys = await revokeApiKeysCreatedBy(tx, creator.userId, {
    revokedBy: actor.actor_user_id,
    orgId: creator.orgId,
    createdBefore: creator.createdBefore,
  });
  await recordRevocations(
    tx,
    meta,
    actor,
    { action: 'api_key.revoke', target_type: 'api_key' },
    keys,
    () => ({ reason, creator: creator.userId }),
  );
  return keys;
}
