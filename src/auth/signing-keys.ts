// The access-token signing key store (platform data, so every query goes through withSystem).
// One Ed25519 key is active and signs; retired keys stay published until every token they signed
// has expired, so a rotation never logs anyone out.
//
// Integrity: a private key is sealed with encryptSecret under AAD `signing-key:<kid>`, and the
// sealed JWK carries its public half. A key is published only when the row's public key matches
// the sealed one, so someone who can write to the table but does not hold ENCRYPTION_KEYS cannot
// slip in a verification key of their own.
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
} from 'jose';
import { sql } from 'kysely';
import { decryptSecret, type EncryptionConfig, encryptSecret } from '../crypto/encryption.ts';
import type { Database } from '../db/database.ts';
import type { SigningKey } from '../db/schema.ts';
import { type Tx, withSystem } from '../db/tenant.ts';

/** A public key as published in the JWKS: exactly these members, never a private one. */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface KeyRing {
  active: { kid: string; privateKey: CryptoKey };
  verificationKeys: ReadonlyMap<string, CryptoKey>;
  jwks: { keys: PublicJwk[] };
}

interface SealedPrivateJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d: string;
}

/** Tokens signed just before a rotation must outlive it: publish retired keys this much longer. */
export const RETIRED_KEY_GRACE_SECONDS = 5 * 60;

// Serialises rotations across processes (two concurrent rotations would otherwise both retire the
// same key and collide on the one-active index). Any constant works; it only has to be shared.
const ROTATION_LOCK_ID = 7_305_120_001;

const ED25519_X = /^[A-Za-z0-9_-]{43}$/;

const keyAad = (kid: string) => `signing-key:${kid}`;

function isUniqueViolation(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { code?: unknown }).code === '23505';
}

async function newKeyRow(enc: EncryptionConfig) {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x || !jwk.d) {
    throw new Error('unexpected Ed25519 key export');
  }
  const sealed: SealedPrivateJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d };
  const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    kid,
    public_jwk: JSON.stringify(publicJwk),
    private_key_enc: encryptSecret(JSON.stringify(sealed), enc, keyAad(kid)),
  };
}

async function activeKid(tx: Tx): Promise<string | undefined> {
  const row = await tx
    .selectFrom('signing_keys')
    .select('kid')
    .where('status', '=', 'active')
    .executeTakeFirst();
  return row?.kid;
}

/**
 * Make sure an active signing key exists (called at startup). Safe when several processes start
 * at once on one database: the one-active unique index rejects all but the first insert.
 */
export async function ensureSigningKey(database: Database, enc: EncryptionConfig): Promise<void> {
  if (await withSystem(database, activeKid)) return;
  const row = await newKeyRow(enc);
  try {
    await withSystem(database, (tx) =>
      tx
        .insertInto('signing_keys')
        .values({ ...row, status: 'active' })
        .execute(),
    );
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // Another process won the race; its key is the active one.
    if (!(await withSystem(database, activeKid))) throw err;
  }
}

/** Make a new key the active one and retire the previous one, in one transaction. */
export async function rotateSigningKey(
  database: Database,
  enc: EncryptionConfig,
): Promise<{ kid: string; retiredKid: string | null }> {
  const row = await newKeyRow(enc);
  return withSystem(database, async (tx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(ROTATION_LOCK_ID)})`.execute(tx);
    const retired = await tx
      .updateTable('signing_keys')
      .set({ status: 'retired', retired_at: sql<Date>`now()` })
      .where('status', '=', 'active')
      .returning('kid')
      .execute();
    await tx
      .insertInto('signing_keys')
      .values({ ...row, status: 'active' })
      .execute();
    return { kid: row.kid, retiredKid: retired[0]?.kid ?? null };
  });
}

function publicJwkOf(row: Pick<SigningKey, 'kid' | 'public_jwk'>): PublicJwk {
  const { kty, crv, x } = row.public_jwk;
  if (kty !== 'OKP' || crv !== 'Ed25519' || typeof x !== 'string' || !ED25519_X.test(x)) {
    throw new Error(`signing key ${row.kid}: stored public key is not an Ed25519 JWK`);
  }
  return { kty, crv, x, kid: row.kid, alg: 'EdDSA', use: 'sig' };
}

function openPrivateJwk(
  row: Pick<SigningKey, 'kid' | 'private_key_enc'>,
  enc: EncryptionConfig,
): SealedPrivateJwk {
  const jwk = JSON.parse(
    decryptSecret(row.private_key_enc, enc, keyAad(row.kid)).toString('utf8'),
  ) as Partial<SealedPrivateJwk>;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x || !jwk.d) {
    throw new Error(`signing key ${row.kid}: sealed private key is not an Ed25519 JWK`);
  }
  return jwk as SealedPrivateJwk;
}

/**
 * Load the keys to sign with and to verify with. Published: the active key and the keys retired
 * less than `maxTokenTtlSeconds` + RETIRED_KEY_GRACE_SECONDS ago (a token they signed may still
 * be valid). Older retired keys are dropped, so their tokens fail at the kid lookup.
 */
export async function loadKeyRing(
  database: Database,
  enc: EncryptionConfig,
  options: { maxTokenTtlSeconds: number },
): Promise<KeyRing> {
  const ttl = options.maxTokenTtlSeconds;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError('maxTokenTtlSeconds must be > 0');
  const window = ttl + RETIRED_KEY_GRACE_SECONDS;
  const rows = await withSystem(database, (tx) =>
    tx
      .selectFrom('signing_keys')
      .select(['kid', 'public_jwk', 'private_key_enc', 'status'])
      .where((eb) =>
        eb.or([
          eb('status', '=', 'active'),
          eb('retired_at', '>', sql<Date>`now() - ${window}::int * interval '1 second'`),
        ]),
      )
      // Active first, then the most recently created: the order a JWKS consumer tries them.
      .orderBy(sql`status = 'active'`, 'desc')
      .orderBy('created_at', 'desc')
      .execute(),
  );

  let active: KeyRing['active'] | undefined;
  const verificationKeys = new Map<string, CryptoKey>();
  const keys: PublicJwk[] = [];
  for (const row of rows) {
    const publicJwk = publicJwkOf(row);
    const sealed = openPrivateJwk(row, enc);
    if (sealed.x !== publicJwk.x) {
      throw new Error(`signing key ${row.kid}: public key does not match its sealed private key`);
    }
    const { kty, crv, x } = publicJwk;
    verificationKeys.set(row.kid, (await importJWK({ kty, crv, x }, 'EdDSA')) as CryptoKey);
    keys.push(publicJwk);
    if (row.status === 'active') {
      const privateKey = (await importJWK(sealed, 'EdDSA', { extractable: false })) as CryptoKey;
      active = { kid: row.kid, privateKey };
    }
  }
  if (!active) throw new Error('no active signing key: run ensureSigningKey at startup');
  return { active, verificationKeys, jwks: { keys } };
}
