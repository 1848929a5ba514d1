// An org's own Twilio credentials (owners and admins only, by row-level security). The token is
// stored sealed; this module never sees it in the clear.
import { sql } from 'kysely';
import type { Tx } from '../db/tenant.ts';

export function findCredentials(tx: Tx, orgId: string) {
  return tx
    .selectFrom('org_twilio_credentials')
    .select(['account_sid', 'updated_at'])
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/**
 * The sealed credentials, for opening by twilio-account.ts: the caller's own org (by row-level
 * security), or any org on the system path (the kill switch hanging up its calls, live-calls.ts).
 */
export function findSealedCredentials(tx: Tx, orgId: string) {
  return tx
    .selectFrom('org_twilio_credentials')
    .select(['account_sid', 'auth_token_enc'])
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/**
 * The org row, locked against share locks until the transaction ends: a change of the account
 * serving the org (set or removed) takes it first. The platform superuser's assignment of a number
 * share-locks the row before it looks for the org's own account, so the two serialise: before it,
 * an org switching to its own account while a number was being assigned kept that number
 * verified by the platform's word. (The credentials row cannot carry this lock: an org on the
 * platform account has none to lock.) The assignment's share lock is findOrgForShare.
 */
export async function lockOrgForAccountChange(tx: Tx, orgId: string): Promise<void> {
  await tx.selectFrom('orgs').select('id').where('id', '=', orgId).forNoKeyUpdate().execute();
}

export async function upsertCredentials(
  tx: Tx,
  row: { org_id: string; account_sid: string; auth_token_enc: string; updated_by: string },
) {
  const now = new Date();
  return tx
    .insertInto('org_twilio_credentials')
    .values({ ...row, created_at: now, updated_at: now })
    .onConflict((oc) =>
      oc.column('org_id').doUpdateSet({
        account_sid: row.account_sid,
        auth_token_enc: row.auth_token_enc,
        updated_by: row.updated_by,
        updated_at: now,
        deleted_at: null,
      }),
    )
    .returning(['account_sid', 'updated_at'])
    .executeTakeFirstOrThrow();
}

/** Forget the sealed token (not only hide it): removal must not leave the secret behind. */
export async function removeCredentials(tx: Tx, orgId: string, by: string): Promise<boolean> {
  const res = await tx
    .updateTable('org_twilio_credentials')
    .set({ auth_token_enc: null, deleted_at: new Date(), updated_at: new Date(), updated_by: by })
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * The account sid serving the caller's org (its context's org, whatever the caller's role), its
 * credentials row share-locked until the transaction ends: a change of account waits for it, or
 * committed before and is what this returns. Null when the org has no credentials.
 * (migration 0023: a number verified on an account that stopped serving the org meanwhile.)
 */
export async function lockTwilioAccount(tx: Tx): Promise<string | null> {
  const r = await sql<{
    account_sid: string | null;
  }>`select app_lock_twilio_account() as account_sid`.execute(tx);
  return r.rows[0]?.account_sid ?? null;
}
