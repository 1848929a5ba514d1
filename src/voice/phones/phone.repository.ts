// Phone numbers data access. Every function takes the caller's transaction first; the explicit org
// filter is defence in depth on top of row-level security.
import type { Phone } from '../../db/schema.ts';
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
