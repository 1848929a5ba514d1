// Phone numbers data access. Every function takes the caller's transaction first; the explicit org
// filter is defence in depth on top of row-level security.

import {
  containsPattern,
  livePage,
  liveRow,
  type PageOpts,
  softDeleteSwitchable,
  updateLive,
} from '../../db/owned-rows.ts';
import type { Phone } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';

export type NewPhone = Pick<Phone, 'id' | 'org_id' | 'owner_id' | 'number' | 'label' | 'active'>;
export type PhonePatch = Partial<Pick<Phone, 'label' | 'active'>>;

export function insertPhone(tx: Tx, row: NewPhone): Promise<Phone> {
  return tx.insertInto('phones').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findPhone(tx: Tx, orgId: string, id: string): Promise<Phone | undefined> {
  return tx.selectFrom('phones').selectAll().where(liveRow(orgId, id)).executeTakeFirst();
}

/** The org's number with this id, soft-deleted or not: to judge a reference made earlier. */
export function findPhoneEvenDeleted(tx: Tx, orgId: string, id: string) {
  return tx
    .selectFrom('phones')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function listPhones(
  tx: Tx,
  orgId: string,
  opts: PageOpts & { active?: boolean; q?: string },
): Promise<Phone[]> {
  let query = tx.selectFrom('phones').selectAll().where(livePage(orgId, opts));
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
  return updateLive(tx, 'phones', orgId, id, patch);
}

export function softDeletePhone(tx: Tx, orgId: string, id: string): Promise<boolean> {
  return softDeleteSwitchable(tx, 'phones', orgId, id);
}
