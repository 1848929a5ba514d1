// The access-token signing key store (platform data, so every query goes through withSystem).
// A key goes through three stages, shared by every instance through the database:
//   next    — published in the JWKS, not signing yet. A rotation stages the new key here for
//             SIGNING_KEY_PUBLISH_DELAY_SECONDS, so verifiers that cached the JWKS before the
//             rotation have refetched it by the time a token names the new kid.
//   active  — the one key that signs. At `activates_at` the first instance to reload its ring
//             promotes the staged key and retires the previous one (no scheduler needed).
//   retired — still published and verifying until every token it signed has expired, then
//             dropped from the JWKS, so a rotation never logs anyone out.
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
  type JWTHeaderParameters,
} from 'jose';
import {
  decryptSecret,
  type EncryptionConfig,
  encryptSecret,
  UndecryptableSecretError,
} from '../crypto/encryption.ts';
import { lockForTransaction } from '../db/advisory-lock.ts';
import type { Database } from '../db/database.ts';
import { isUniqueViolation } from '../db/errors.ts';
import type { SigningKey } from '../db/schema.ts';
import { type Tx, withSystem } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import {
  activeSigningKid,
  dueSigningKid,
  insertActiveSigningKey,
  type NewSigningKeyRow,
  promoteSigningKey,
  publishedSigningKeys,
  stagedSigningKey,
  stageSigningKey,
  withdrawSigningKeysBut,
} from './signing-key.repository.ts';

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
  /** The staged key (published, not signing) and how long until it signs, by the ring's clock. */
  next: { kid: string; activatesAt: Date; activatesInMs: number } | null;
  verificationKeys: ReadonlyMap<string, CryptoKey>;
  jwks: { keys: PublicJwk[] };
}

/**
 * The time stages are judged by: the database's clock (one clock for every instance) unless a
 * test injects its own.
 */
export type KeyClock = (() => Date) | undefined;

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

async function newKeyRow(enc: EncryptionConfig): Promise<NewSigningKeyRow> {
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

/**
 * Make sure an active signing key exists (called at startup). Safe when several processes start
 * at once on one database: the one-active unique index rejects all but the first insert.
 */
export async function ensureSigningKey(database: Database, enc: EncryptionConfig): Promise<void> {
  if (await withSystem(database, activeSigningKid)) return;
  const row = await newKeyRow(enc);
  try {
    await withSystem(database, (tx) => insertActiveSigningKey(tx, row));
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // Another process won the race; its key is the active one.
    if (!(await withSystem(database, activeSigningKid))) throw err;
  }
}

export interface RotationResult {
  kid: string;
  /** When the new key starts signing (and `retiredKid` retires). */
  activatesAt: Date;
  /** The key it replaces (null when there was none). */
  retiredKid: string | null;
  /** A compromise rotation: every other key, withdrawn (no longer published or trusted). */
  withdrawnKids: string[];
}

/** A whole number of seconds of at least `min` from `options`; anything else is a caller's bug. */
function wholeSeconds<K extends string>(options: Record<K, number>, name: K, min: number): number {
  const value = options[name];
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be >= ${min}`);
  return value;
}

/**
 * Stage a new key: published from now, signing from now + `publishDelaySeconds` (0 = at once,
 * which breaks verifiers holding a cached JWKS: emergencies only). One staged key at a time: a
 * second rotation before it activates is refused (409 signing_key_rotation_pending).
 */
export async function rotateSigningKey(
  database: Database,
  enc: EncryptionConfig,
  options: {
    publishDelaySeconds: number;
    clock?: KeyClock;
    compromised?: boolean;
    /** The rotation's audit entry, in its transaction: no key changes without its record. */
    record?: (tx: Tx, r: RotationResult) => Promise<void>;
  },
): Promise<RotationResult> {
  const row = await newKeyRow(enc);
  return withSystem(database, async (tx) => {
    const r = await rotateIn(tx, row, options);
    await options.record?.(tx, r);
    return r;
  });
}

async function rotateIn(
  tx: Tx,
  row: NewSigningKeyRow,
  options: { publishDelaySeconds: number; clock?: KeyClock; compromised?: boolean },
): Promise<RotationResult> {
  const compromised = options.compromised === true;
  // A compromise cannot wait for verifiers' caches: the new key signs at once.
  const delay = compromised ? 0 : wholeSeconds(options, 'publishDelaySeconds', 0);
  await lockForTransaction(tx, ROTATION_LOCK_ID);
  // undefined: the database's now(), fixed for the whole transaction.
  const now = options.clock?.();
  // A staged key whose time has come is the active one now; only a key still waiting blocks.
  await promoteDue(tx, now);
  if (compromised) {
    // Every key there is may be in other hands (they are sealed in the same database): the
    // staged one too. Withdrawn before the new one is staged; the new one alone survives.
    const current = (await activeSigningKid(tx)) ?? null;
    const withdrawnKids = await withdrawSigningKeysBut(tx, row.kid, now);
    const activatesAt = await stageSigningKey(tx, row, now, 0);
    await promoteDue(tx, now);
    return { kid: row.kid, activatesAt: activatesAt!, retiredKid: current, withdrawnKids };
  }
  const pending = await stagedSigningKey(tx);
  if (pending) {
    throw new AppError(
      'signing_key_rotation_pending',
      `Key ${pending.kid} is already staged and starts signing at ${pending.activates_at?.toISOString()}; rotate again after that.`,
    );
  }
  const current = await activeSigningKid(tx);
  // With no active key nothing was ever published, so no verifier can hold a stale set.
  const wait = current ? delay : 0;
  const activatesAt = await stageSigningKey(tx, row, now, wait);
  if (wait === 0) await promoteDue(tx, now);
  return {
    kid: row.kid,
    activatesAt: activatesAt!,
    retiredKid: current ?? null,
    withdrawnKids: [],
  };
}

/**
 * Promote the staged key once `now` has reached its activation time, retiring the previous one
 * first (the one-active index admits a single active key at every step). Callers hold
 * ROTATION_LOCK_ID.
 */
async function promoteDue(tx: Tx, now: Date | undefined): Promise<boolean> {
  const due = await dueSigningKid(tx, now);
  if (!due) return false;
  await promoteSigningKey(tx, due, now);
  return true;
}

function publicJwkOf(row: Pick<SigningKey, 'kid' | 'public_jwk'>): PublicJwk {
  const { kty, crv, x } = row.public_jwk;
  if (kty !== 'OKP' || crv !== 'Ed25519' || typeof x !== 'string' || !ED25519_X.test(x)) {
    throw new Error(`signing key ${row.kid}: stored public key is not an Ed25519 JWK`);
  }
  return { kty, crv, x, kid: row.kid, alg: 'EdDSA', use: 'sig' };
}

/**
 * The database holds signing keys this instance's ENCRYPTION_KEYS cannot open: it was set up by
 * an instance with other keys. Nothing can be signed or verified, so the server must not start.
 */
export class SigningKeyUndecryptableError extends Error {
  override name = 'SigningKeyUndecryptableError';
  constructor(
    readonly kid: string,
    readonly undecryptable: UndecryptableSecretError,
  ) {
    super(
      `the access-token signing key ${kid} stored in the database was sealed under encryption ` +
        `key id "${undecryptable.keyId}", which ${
          undecryptable.reason === 'unknown_key_id'
            ? 'is not in this ENCRYPTION_KEYS'
            : 'this ENCRYPTION_KEYS holds with another value'
        } (${undecryptable.message})`,
    );
  }
}

function openPrivateJwk(
  row: Pick<SigningKey, 'kid' | 'private_key_enc'>,
  enc: EncryptionConfig,
): SealedPrivateJwk {
  let plaintext: Buffer;
  try {
    plaintext = decryptSecret(row.private_key_enc, enc, keyAad(row.kid));
  } catch (err) {
    if (err instanceof UndecryptableSecretError)
      throw new SigningKeyUndecryptableError(row.kid, err);
    throw err;
  }
  const jwk = JSON.parse(plaintext.toString('utf8')) as Partial<SealedPrivateJwk>;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x || !jwk.d) {
    throw new Error(`signing key ${row.kid}: sealed private key is not an Ed25519 JWK`);
  }
  return jwk as SealedPrivateJwk;
}

/**
 * Load the keys to sign with and to verify with, first promoting a staged key whose time has
 * come (every instance does this when it reloads, so the stage advances without a scheduler).
 * Published: the active key, the staged one, and the keys retired less than
 * `maxTokenTtlSeconds` + RETIRED_KEY_GRACE_SECONDS ago (a token they signed may still be valid).
 * Older retired keys are dropped, so their tokens fail at the kid lookup.
 */
export async function loadKeyRing(
  database: Database,
  enc: EncryptionConfig,
  options: { maxTokenTtlSeconds: number; clock?: KeyClock },
): Promise<KeyRing> {
  const ttl = wholeSeconds(options, 'maxTokenTtlSeconds', 1);
  const window = ttl + RETIRED_KEY_GRACE_SECONDS;
  const rows = await withSystem(database, async (tx) => {
    // undefined: the database's now(), fixed for the whole transaction.
    const now = options.clock?.();
    if (await dueSigningKid(tx, now)) {
      await lockForTransaction(tx, ROTATION_LOCK_ID);
      await promoteDue(tx, now);
    }
    return publishedSigningKeys(tx, now, window);
  });

  let active: KeyRing['active'] | undefined;
  let next: KeyRing['next'] = null;
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
    } else if (row.status === 'next' && row.activates_at) {
      next = {
        kid: row.kid,
        activatesAt: row.activates_at,
        activatesInMs: Math.max(0, Math.ceil(Number(row.activates_in_ms))),
      };
    }
  }
  if (!active) throw new Error('no active signing key: run ensureSigningKey at startup');
  return { active, next, verificationKeys, jwks: { keys } };
}

/**
 * The verification key a JWT's header names, from our own ring only: never a key named or
 * embedded by the token (jwk, jku, x5u headers are ignored), never any algorithm but EdDSA. Every
 * verifier of tokens this ring signs (access tokens, media tokens) resolves keys through this one
 * function, so a key withdrawn from the ring stops verifying everywhere at once.
 */
export function ringKeyResolver(getKeyRing: () => KeyRing) {
  return (header: JWTHeaderParameters): CryptoKey => {
    if (header.alg !== 'EdDSA' || typeof header.kid !== 'string')
      throw new Error('unusable header');
    const key = getKeyRing().verificationKeys.get(header.kid);
    if (!key) throw new Error('unknown kid');
    return key;
  };
}
