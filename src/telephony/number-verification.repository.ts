// A number's proven ownership, the state that decides whether it routes calls and messages and
// places calls (migration 0007): verified by a check on the Twilio account that serves its org,
// or by the platform superuser's assignment; back to pending when that account changes. At most
// one org holds a number verified (the unique index phones_number_verified_once). The caller owns
// the transaction.
import { liveRows } from '../db/owned-rows.ts';
import type { Phone, PhoneVerificationMethod } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

/**
 * The org's phone with this number (not deleted). `routing`: only while it routes calls and
 * messages, active and verified (a switched-off or unproven number is inert); `any`: whatever its
 * state (the superuser's assignment is what verifies a pending one).
 */
export function phoneByNumber(
  tx: Tx,
  orgId: string,
  number: string,
  which: 'routing' | 'any',
): Promise<Phone | undefined> {
  let q = tx.selectFrom('phones').selectAll().where(liveRows(orgId)).where('number', '=', number);
  if (which === 'routing') {
    q = q.where('active', '=', true).where('verification_status', '=', 'verified');
  }
  return q.executeTakeFirst();
}

/** Ownership proven: the number routes and places calls (the unique index keeps it to one org). */
export function markVerified(
  tx: Tx,
  orgId: string,
  id: string,
  method: PhoneVerificationMethod,
): Promise<Phone | undefined> {
  const now = new Date();
  return tx
    .updateTable('phones')
    .set({
      verification_status: 'verified',
      verification_method: method,
      verified_at: now,
      updated_at: now,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

const PENDING = {
  verification_status: 'pending_verification',
  verification_method: null,
  verified_at: null,
} as const;

/** Ownership no longer proven: the number is inert again. */
export function markPending(tx: Tx, orgId: string, id: string): Promise<Phone | undefined> {
  return tx
    .updateTable('phones')
    .set({ ...PENDING, updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Every verified number of the org back to pending (the account that serves it changed). */
export function resetVerifications(tx: Tx, orgId: string): Promise<Pick<Phone, 'id' | 'number'>[]> {
  return tx
    .updateTable('phones')
    .set({ ...PENDING, updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('verification_status', '=', 'verified')
    .where('deleted_at', 'is', null)
    .returning(['id', 'number'])
    .execute();
}

/**
 * Platform superuser only (privileged context): take a number's verification from every org but
 * `keepOrgId`, so it can be assigned there. Returns what was taken, for each org's audit log.
 */
export function unverifyNumberElsewhere(
  tx: Tx,
  number: string,
  keepOrgId: string,
): Promise<Pick<Phone, 'id' | 'org_id'>[]> {
  return tx
    .updateTable('phones')
    .set({ ...PENDING, updated_at: new Date() })
    .where('number', '=', number)
    .where('org_id', '<>', keepOrgId)
    .where('verification_status', '=', 'verified')
    .where('deleted_at', 'is', null)
    .returning(['id', 'org_id'])
    .execute();
}
