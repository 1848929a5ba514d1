// The filters every owned-resource repository repeats, as Kysely expressions: the explicit org
// filter (defence in depth on top of row-level security), the soft-delete filter and the id
// cursor. Each repository keeps its own table, columns and table-specific conditions.
import type { ExpressionBuilder, Selectable, Updateable } from 'kysely';
import type { DB } from './schema.ts';
import type { Tx } from './tenant.ts';

/** A list request: page size, the id cursor and an optional owner. */
export interface PageOpts {
  limit: number;
  before?: string;
  ownerId?: string;
}

/** Tables with org_id, owner_id, id, deleted_at and updated_at. */
export type OwnedTable = 'agents' | 'message_agents' | 'phones' | 'prompts' | 'scheduled_calls';
/** Owned tables whose rows also carry an `active` switch, turned off when the row is deleted. */
export type SwitchableTable = 'agents' | 'message_agents' | 'phones';

/** The org's row with this id, deleted or not (callers that must see history). */
export function orgRow(orgId: string, id: string) {
  return (eb: ExpressionBuilder<DB, OwnedTable>) =>
    eb.and([eb('org_id', '=', orgId), eb('id', '=', id)]);
}

/** The org's rows that are not soft-deleted: a deleted row is gone for every caller. */
export function liveRows(orgId: string) {
  return (eb: ExpressionBuilder<DB, OwnedTable>) =>
    eb.and([eb('org_id', '=', orgId), eb('deleted_at', 'is', null)]);
}

/** The org's row with this id unless soft-deleted: a deleted row is gone for every caller. */
export function liveRow(orgId: string, id: string) {
  return (eb: ExpressionBuilder<DB, OwnedTable>) =>
    eb.and([eb('org_id', '=', orgId), eb('id', '=', id), eb('deleted_at', 'is', null)]);
}

/**
 * One page of the org's live rows: ids are time-ordered, so `before` (the last id of the previous
 * page, newest first) is the cursor; `ownerId` narrows to one owner's rows.
 */
export function livePage(orgId: string, opts: Omit<PageOpts, 'limit'>) {
  return (eb: ExpressionBuilder<DB, OwnedTable>) =>
    eb.and([
      eb('org_id', '=', orgId),
      eb('deleted_at', 'is', null),
      ...(opts.before ? [eb('id', '<', opts.before)] : []),
      ...(opts.ownerId ? [eb('owner_id', '=', opts.ownerId)] : []),
    ]);
}

/** ILIKE pattern matching the text literally (its %, _ and \ escaped). */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Apply a patch to a live row and stamp updated_at; undefined when there is no such row. The
 * casts only widen the table to the union the filters are typed for: the statement runs on
 * `table`, so its row is `DB[T]`'s.
 */
export function updateLive<T extends OwnedTable>(
  tx: Tx,
  table: T,
  orgId: string,
  id: string,
  patch: Updateable<DB[T]>,
): Promise<Selectable<DB[T]> | undefined> {
  return tx
    .updateTable(table as OwnedTable)
    .set({ ...patch, updated_at: new Date() } as Updateable<DB[OwnedTable]>)
    .where(liveRow(orgId, id))
    .returningAll()
    .executeTakeFirst() as Promise<Selectable<DB[T]> | undefined>;
}

/** Soft-delete a live row; false when there was none to delete (absent, hidden or deleted). */
export async function softDelete(
  tx: Tx,
  table: OwnedTable,
  orgId: string,
  id: string,
): Promise<boolean> {
  const res = await tx
    .updateTable(table)
    .set({ deleted_at: new Date(), updated_at: new Date() })
    .where(liveRow(orgId, id))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** softDelete, and switch the row off too, so nothing that reads `active` alone routes to it. */
export async function softDeleteSwitchable(
  tx: Tx,
  table: SwitchableTable,
  orgId: string,
  id: string,
): Promise<boolean> {
  const res = await tx
    .updateTable(table)
    .set({ deleted_at: new Date(), updated_at: new Date(), active: false })
    .where(liveRow(orgId, id))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
