// Single-use, expiring tokens mailed to users or handed out at login (verify_email,
// reset_password, set_password, mfa_login). Only the SHA-256 of a token is stored; "live" means
// unused and unexpired by the database clock. The caller owns the transaction.
import { sql } from 'kysely';
import type { UserToken, UserTokenPurpose } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export async function insertUserToken(
  tx: Tx,
  row: {
    id: string;
    user_id: string;
    purpose: UserTokenPurpose;
    token_hash: string;
    expires_at: Date;
    metadata?: Record<string, unknown>;
  },
): Promise<void> {
  await tx
    .insertInto('user_tokens')
    .values({ ...row, metadata: JSON.stringify(row.metadata ?? {}) })
    .execute();
}

/**
 * One statement that inserts the token only if an active user has this email, and answers its
 * user id (or nothing). Known and unknown addresses cost the same statement: no timing signal.
 */
export async function insertUserTokenForEmail(
  tx: Tx,
  row: {
    id: string;
    email: string;
    purpose: UserTokenPurpose;
    token_hash: string;
    expires_at: Date;
    /** Only for a user whose address is not verified yet (verification mails). */
    onlyUnverified?: boolean;
  },
): Promise<string | undefined> {
  const r = await sql<{ user_id: string }>`
    INSERT INTO user_tokens (id, user_id, purpose, token_hash, expires_at)
    SELECT ${row.id}::uuid, u.id, ${row.purpose}, ${row.token_hash},
           ${row.expires_at.toISOString()}::timestamptz
      FROM users u
     WHERE u.email = ${row.email} AND u.status = 'active'
       AND (NOT ${row.onlyUnverified === true}::boolean OR u.email_verified_at IS NULL)
    RETURNING user_id`.execute(tx);
  return r.rows[0]?.user_id;
}

/** Unused and unexpired, of one of the purposes. */
export function findLiveUserToken(
  tx: Tx,
  tokenHash: string,
  purposes: readonly UserTokenPurpose[],
): Promise<UserToken | undefined> {
  return tx
    .selectFrom('user_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('purpose', 'in', purposes)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
}

/**
 * Spends the token: the conditional update is the single-use guarantee, so of two concurrent
 * uses exactly one sees `true`.
 */
export async function consumeUserToken(tx: Tx, id: string): Promise<boolean> {
  const r = await tx
    .updateTable('user_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Kills every live token of these purposes for the user (a newer one replaces them). */
export async function retireUserTokens(
  tx: Tx,
  userId: string,
  purposes: readonly UserTokenPurpose[],
): Promise<void> {
  await tx
    .updateTable('user_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('purpose', 'in', purposes)
    .where('used_at', 'is', null)
    .execute();
}

/** The same as retireUserTokens, addressed by email (forgot-password: same work either way). */
export async function retireUserTokensByEmail(
  tx: Tx,
  email: string,
  purposes: readonly UserTokenPurpose[],
): Promise<void> {
  await tx
    .updateTable('user_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('user_id', 'in', (eb) => eb.selectFrom('users').select('id').where('email', '=', email))
    .where('purpose', 'in', purposes)
    .where('used_at', 'is', null)
    .execute();
}
