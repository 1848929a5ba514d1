// Random bytes for ids and tokens, drawn from a pool that the CSPRNG refills 4 KiB at a time.
//
// Why: each randomBytes() call is one getrandom(2) system call, and a login makes five of them
// (ids of the session, refresh token and audit row; the refresh and CSRF tokens) — on a virtual
// machine a system call costs tens of microseconds. Node's own crypto.randomUUID caches entropy
// the same way.
// Invariants: the bytes are the CSPRNG's (randomFillSync); each byte is handed out once (the
// cursor only advances, a refill replaces the whole pool) and zeroed in the pool as it leaves,
// so what was handed out does not linger in memory beside what is to come.
import { randomBytes, randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
/** Larger requests skip the pool (they are rare, and would drain it at once). */
const MAX_POOLED = 256;

const pool = Buffer.alloc(POOL_BYTES);
let cursor = POOL_BYTES;

/** `n` fresh random bytes (a copy the caller owns). */
export function randomBytesPooled(n: number): Buffer {
  if (n > MAX_POOLED) return randomBytes(n);
  if (cursor + n > POOL_BYTES) {
    randomFillSync(pool);
    cursor = 0;
  }
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, cursor, cursor + n);
  pool.fill(0, cursor, cursor + n);
  cursor += n;
  return out;
}
