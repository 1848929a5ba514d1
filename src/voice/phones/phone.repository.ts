// Phone numbers data access. Every function takes the caller's transaction first; the explicit org
// filter is defence in depth on top of row-level security.
import type { Phone, PhoneVerificationMethod } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';
import { containsPattern } from '../shared.ts';

export type NewPhone = Pick<Phone, 'id' | 'org_id' | 'owner_id' | 'number' | 'label' | 'active'>;
export type PhonePatch = Partial<Pick<Phone, 'label' | 'active'>>;

export function insertPhone(tx: Tx, row: NewPhone): Promise<Phone> {
  return tx.insertInto('phones').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findPhone(tx: Tx, orgId: string, id: string): Promise<Phone | undefined> {
  return tx
    .selectFrom('phones')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export function listPhones(
  tx: Tx,
  orgId: string,
  opts: { limit: number; before?: string; ownerId?: string; active?: boolean; q?: string },
): Promise<Phone[]> {
  let query = tx
    .selectFrom('phones')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null);
  if (opts.before) query = query.where('id', '<', opts.before);
  if (opts.ownerId) query = query.where('owner_id', '=', opts.ownerId);
  if (opts.active !== undefined) query = query.where('active', '=', opts.active);
  if (opts.q) {
    const pattern = containsPattern(opts.q);
    query = query.where((eb) =>
      eb.or([eb('number', 'like', pattern), eb('label', 'ilike', pattern)]),
    );
  }
  return query.orderBy('id', 'desc').limit(opts.limit).execute();
}

export function updatePhone(
  tx: Tx,
  orgId: string,
  id: string,
  patch: PhonePatch,
): Promise<Phone | undefined> {
  return tx
    .updateTable('phones')
    .set({ ...patch, updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function softDeletePhone(tx: Tx, orgId: string, id: string): Promise<boolean> {
  const res = await tx
    .updateTable('phones')
    .set({ deleted_at: new Date(), updated_at: new Date(), active: false })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
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

export function findPhoneByNumber(
  tx: Tx,
  orgId: string,
  number: string,
): Promise<Phone | undefined> {
  return tx
    .selectFrom('phones')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('number', '=', number)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
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
