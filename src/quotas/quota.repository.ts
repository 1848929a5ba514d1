// The quotas' SQL: an org's own limits (org_quotas) and the database lease counter
// (quota_leases, through app_acquire_quota_lease: the lock, the count and the insert are one
// function call, so one statement). Every function runs in the caller's org context.
import { sql } from 'kysely';
import type { OrgQuotas, QuotaKind } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export type QuotaColumns = Pick<
  OrgQuotas,
  | 'max_live_calls'
  | 'inbound_reserved_calls'
  | 'max_voice_sessions'
  | 'max_device_sockets'
  | 'max_scheduled_calls_per_day'
>;

export async function findOrgQuotas(tx: Tx, orgId: string): Promise<OrgQuotas | undefined> {
  return tx.selectFrom('org_quotas').selectAll().where('org_id', '=', orgId).executeTakeFirst();
}

/** The row locked for the change (the audit records before and after). */
export async function lockOrgQuotas(tx: Tx, orgId: string): Promise<OrgQuotas | undefined> {
  return tx
    .selectFrom('org_quotas')
    .selectAll()
    .where('org_id', '=', orgId)
    .forUpdate()
    .executeTakeFirst();
}

export async function upsertOrgQuotas(
  tx: Tx,
  orgId: string,
  limits: QuotaColumns,
  updatedBy: string,
): Promise<OrgQuotas> {
  const now = new Date();
  return tx
    .insertInto('org_quotas')
    .values({ org_id: orgId, ...limits, updated_by: updatedBy, updated_at: now })
    .onConflict((oc) =>
      oc.column('org_id').doUpdateSet({ ...limits, updated_by: updatedBy, updated_at: now }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Take (or renew) a lease of the context's org; see the migration's function. */
export async function acquireLease(
  tx: Tx,
  kind: QuotaKind,
  leaseId: string,
  limit: number,
  expiresAt: Date,
  now: Date,
): Promise<{ acquired: boolean; live: number }> {
  const { rows } = await sql<{ acquired: boolean; live: number }>`
    SELECT acquired, live FROM app_acquire_quota_lease(${kind}, ${leaseId}, ${limit}::integer,
                                                       ${expiresAt}, ${now})
  `.execute(tx);
  const row = rows[0];
  return { acquired: row?.acquired === true, live: Number(row?.live ?? 0) };
}

export async function releaseLeases(
  tx: Tx,
  kind: QuotaKind,
  leaseIds: readonly string[],
): Promise<number> {
  if (leaseIds.length === 0) return 0;
  const { rows } = await sql<{ n: number }>`
    SELECT app_release_quota_leases(${kind}, ${[...leaseIds]}::text[]) AS n
  `.execute(tx);
  return Number(rows[0]?.n ?? 0);
}

/** Live (unexpired) leases of the org, per kind. */
export async function countLiveLeases(
  tx: Tx,
  orgId: string,
  now: Date,
): Promise<Partial<Record<QuotaKind, number>>> {
  const rows = await tx
    .selectFrom('quota_leases')
    .select(['kind', (eb) => eb.fn.countAll<string>().as('n')])
    .where('org_id', '=', orgId)
    .where('expires_at', '>', now)
    .groupBy('kind')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
}

/** The context org's unexpired leases, each (the embedded counter reads them back at start). */
export function liveLeasesOf(
  tx: Tx,
  now: Date,
): Promise<{ kind: QuotaKind; lease_id: string; expires_at: Date }[]> {
  return tx
    .selectFrom('quota_leases')
    .select(['kind', 'lease_id', 'expires_at'])
    .where('expires_at', '>', now)
    .execute();
}
