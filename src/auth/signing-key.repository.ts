// Signing keys data access (platform data: callers run on the system path). The caller owns the
// transaction. Stages are judged by one clock: the database's `now()`, or the instant a test's
// clock gave (`at`), always sent as a bind parameter.
import { sql } from 'kysely';
import type { SigningKey } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export interface NewSigningKeyRow {
  kid: string;
  public_jwk: string;
  private_key_enc: string;
}

const nowAt = (at: Date | undefined) =>
  at ? sql<Date>`${at.toISOString()}::timestamptz` : sql<Date>`now()`;

export async function activeSigningKid(tx: Tx): Promise<string | undefined> {
  const row = await tx
    .selectFrom('signing_keys')
    .select('kid')
    .where('status', '=', 'active')
    .executeTakeFirst();
  return row?.kid;
}

/** Rejected by the one-active unique index when another key is active already. */
export async function insertActiveSigningKey(tx: Tx, row: NewSigningKeyRow): Promise<void> {
  await tx
    .insertInto('signing_keys')
    .values({ ...row, status: 'active' })
    .execute();
}

/** The key staged to sign next, if any. */
export function stagedSigningKey(tx: Tx) {
  return tx
    .selectFrom('signing_keys')
    .select(['kid', 'activates_at'])
    .where('status', '=', 'next')
    .executeTakeFirst();
}

/** Stage a key that starts signing `waitSeconds` after `at`; returns when that is. */
export async function stageSigningKey(
  tx: Tx,
  row: NewSigningKeyRow,
  at: Date | undefined,
  waitSeconds: number,
): Promise<Date | null> {
  const staged = await tx
    .insertInto('signing_keys')
    .values({
      ...row,
      status: 'next',
      activates_at: sql<Date>`${nowAt(at)} + ${waitSeconds}::int * interval '1 second'`,
    })
    .returning('activates_at')
    .executeTakeFirstOrThrow();
  return staged.activates_at;
}

/** The staged key whose activation time has come by `at`, if any. */
export async function dueSigningKid(tx: Tx, at: Date | undefined): Promise<string | undefined> {
  const due = await tx
    .selectFrom('signing_keys')
    .select('kid')
    .where('status', '=', 'next')
    .where('activates_at', '<=', nowAt(at))
    .executeTakeFirst();
  return due?.kid;
}

/**
 * Make `kid` the active key, retiring the previous one first: the one-active index admits a
 * single active key at every step.
 */
export async function promoteSigningKey(tx: Tx, kid: string, at: Date | undefined): Promise<void> {
  await tx
    .updateTable('signing_keys')
    .set({ status: 'retired', retired_at: nowAt(at) })
    .where('status', '=', 'active')
    .execute();
  await tx.updateTable('signing_keys').set({ status: 'active' }).where('kid', '=', kid).execute();
}

/**
 * Withdraw every key but `keepKid` (a compromise): retired now if it was not, and never published
 * or trusted again. Returns the kids withdrawn now.
 */
export async function withdrawSigningKeysBut(
  tx: Tx,
  keepKid: string,
  at: Date | undefined,
): Promise<string[]> {
  const rows = await tx
    .updateTable('signing_keys')
    .set({
      status: 'retired',
      retired_at: sql<Date>`coalesce(retired_at, ${nowAt(at)})`,
      withdrawn_at: nowAt(at),
    })
    .where('kid', '<>', keepKid)
    .where('withdrawn_at', 'is', null)
    .returning('kid')
    .execute();
  return rows.map((r) => r.kid);
}

export type PublishedSigningKey = Pick<
  SigningKey,
  'kid' | 'public_jwk' | 'private_key_enc' | 'status' | 'activates_at'
> & { activates_in_ms: number };

/**
 * The active key, the staged one, and the keys retired less than `windowSeconds` before `at`:
 * active first, then the most recently created (the order a JWKS consumer tries them).
 */
export function publishedSigningKeys(
  tx: Tx,
  at: Date | undefined,
  windowSeconds: number,
): Promise<PublishedSigningKey[]> {
  const now = nowAt(at);
  return tx
    .selectFrom('signing_keys')
    .select([
      'kid',
      'public_jwk',
      'private_key_enc',
      'status',
      'activates_at',
      sql<number>`extract(epoch from (activates_at - ${now})) * 1000`.as('activates_in_ms'),
    ])
    .where('withdrawn_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('status', 'in', ['active', 'next']),
        eb('retired_at', '>', sql<Date>`${now} - ${windowSeconds}::int * interval '1 second'`),
      ]),
    )
    .orderBy(sql`status = 'active'`, 'desc')
    .orderBy('created_at', 'desc')
    .execute();
}
