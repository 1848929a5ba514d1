// Transaction-scoped advisory locks: one critical section at a time across every process on the
// database (several instances starting or rotating at once). Released when the transaction ends,
// commit or rollback, so a crashed holder never leaves one behind.
import { sql } from 'kysely';
import type { Tx } from './tenant.ts';

/** Wait for, then hold until the end of `tx`, the advisory lock named by `key`. */
export async function lockForTransaction(tx: Tx, key: number): Promise<void> {
  // Inlined, not bound: a closed shape (a safe integer) is the only value that reaches SQL.
  if (!Number.isSafeInteger(key)) throw new Error('advisory lock key must be an integer');
  await sql`select pg_advisory_xact_lock(${sql.lit(key)})`.execute(tx);
}

/**
 * Wait for, then hold until the end of `tx`, the advisory lock of `name` in `space` (the two-key
 * form): each use has its own space (a constant), so names of different uses never meet; `name`
 * is bound, hashed by the database (`hashtext`). A hash collision only makes two wait in turn.
 */
export async function lockNameForTransaction(tx: Tx, space: number, name: string): Promise<void> {
  // 32-bit signed keys: the space is inlined only when it is one.
  if (!Number.isSafeInteger(space) || space < -(2 ** 31) || space >= 2 ** 31) {
    throw new Error('advisory lock space must be a 32-bit integer');
  }
  await sql`select pg_advisory_xact_lock(${sql.lit(space)}, hashtext(${name}))`.execute(tx);
}
