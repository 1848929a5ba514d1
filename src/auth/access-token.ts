// Access tokens: short-lived EdDSA (Ed25519) JWTs, RFC 9068 profile (`typ: at+jwt`), verifiable
// by anyone holding the JWKS. verify() is the per-request hot path: it trusts nothing in the
// token before the signature checks out, accepts only EdDSA from our own key ring, and answers
// null (never throws) for anything that is not a well-formed, current access token of ours.
import { jwtVerify, SignJWT } from 'jose';
import { ROLES } from '../access/permissions.ts';
import type { Role } from '../db/schema.ts';
import { UUID_PATTERN } from '../http/ids.ts';
import { type KeyRing, ringKeyResolver } from './signing-keys.ts';

export interface AccessClaims {
  iss: string;
  aud: string;
  /** user id */
  sub: string;
  /** session id: the caller checks it against revoked sessions on every request */
  sid: string;
  org: string;
  role: Role;
  amr: string[];
  iat: number;
  exp: number;
  /** platform superuser */
  su?: true;
  /** enrolment-only token: the org requires MFA and the user has none yet */
  mfa_pending?: true;
}

export type AccessTokenInput = Omit<AccessClaims, 'iss' | 'aud' | 'iat' | 'exp'>;

export interface SignedAccessToken {
  token: string;
  /** seconds */
  expiresIn: number;
  claims: AccessClaims;
}

export interface AccessTokens {
  sign(input: AccessTokenInput): Promise<SignedAccessToken>;
  verify(token: string): Promise<AccessClaims | null>;
  /**
   * verify() when the answer is already known: the claims of a token this instance verified
   * before and that still holds (unexpired, its key still in the ring); undefined otherwise,
   * and then only verify() can tell. No promise: the per-request hot path.
   */
  known(token: string): AccessClaims | undefined;
}

export interface AccessTokenOptions {
  /** Read at every sign/verify, so a reloaded ring takes effect at once. */
  getKeyRing: () => KeyRing;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Verified-token cache bound (entries). Default 10,000. */
  cacheSize?: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

export const ACCESS_TOKEN_TYPE = 'at+jwt';
const ALG = 'EdDSA';
/** Instances' clocks drift a little; a token issued "in the future" by this much is still fine. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** Far above any token we issue; bounds the work an oversized header can cause. */
const MAX_TOKEN_LENGTH = 4096;
const MAX_AMR_ENTRIES = 8;
const UUID = new RegExp(UUID_PATTERN);
const AMR_VALUE = /^[a-z0-9_]{1,32}$/;

const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
const isRole = (v: unknown): v is Role =>
  typeof v === 'string' && (ROLES as readonly string[]).includes(v);
const isAmr = (v: unknown): v is string[] =>
  Array.isArray(v) &&
  v.length <= MAX_AMR_ENTRIES &&
  v.every((m) => typeof m === 'string' && AMR_VALUE.test(m));
const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Rebuild the claims from a verified payload, keeping only the members we define, each in its
 * exact shape. Anything else, including a flag with a value other than `true`, rejects the token.
 */
function toAccessClaims(p: Record<string, unknown>): AccessClaims | null {
  const { iss, aud, sub, sid, org, role, amr, iat, exp, su, mfa_pending } = p;
  if (typeof iss !== 'string' || typeof aud !== 'string') return null;
  if (!isUuid(sub) || !isUuid(sid) || !isUuid(org) || !isRole(role) || !isAmr(amr)) return null;
  if (!isNumericDate(iat) || !isNumericDate(exp)) return null;
  if (su !== undefined && su !== true) return null;
  if (mfa_pending !== undefined && mfa_pending !== true) return null;
  const claims: AccessClaims = { iss, aud, sub, sid, org, role, amr: [...amr], iat, exp };
  if (su) claims.su = true;
  if (mfa_pending) claims.mfa_pending = true;
  return claims;
}

interface CacheEntry {
  claims: AccessClaims;
  kid: string;
  /** Hit since it was inserted or last given its second chance (see remember). */
  used: boolean;
}

export function createAccessTokens(opts: AccessTokenOptions): AccessTokens {
  const { getKeyRing, issuer, audience, ttlSeconds } = opts;
  const now = opts.now ?? Date.now;
  const cacheSize = opts.cacheSize ?? 10_000;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('ttlSeconds > 0');
  if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new RangeError('cacheSize >= 0');

  // Verified-token cache: token -> claims, until exp. A hit skips the signature check, which is
  // the only expensive step. It does NOT handle revocation: a logged-out session's token stays
  // cached until it expires, so the caller must check `sid` against revoked sessions on every
  // request, hit or miss.
  // Eviction is second-chance (CLOCK) over the Map's insertion order: a hit only flags its entry,
  // and a full cache moves flagged entries to the back and evicts the first unflagged one. A hit
  // must not reorder the Map (delete + set): a long-lived Map's table is rehashed in the old
  // generation, so an LRU bump on every request left garbage there at the request rate
  // (BENCHMARKS.md: the server's memory after load).
  const cache = new Map<string, CacheEntry>();

  function cached(token: string, nowSeconds: number): AccessClaims | null | undefined {
    const entry = cache.get(token);
    if (!entry) return undefined;
    // Expired, or its key was withdrawn from the ring (e.g. an emergency key removal): refuse.
    if (entry.claims.exp <= nowSeconds || !getKeyRing().verificationKeys.has(entry.kid)) {
      cache.delete(token);
      return null;
    }
    entry.used = true;
    return entry.claims;
  }

  function remember(token: string, entry: CacheEntry): void {
    if (cacheSize === 0) return;
    // Room first, so the token just verified is never the one evicted. Each flagged entry is
    // moved at most once (its flag cleared), so the loop ends within two passes.
    while (cache.size >= cacheSize && !cache.has(token)) {
      const [oldestToken, oldest] = cache.entries().next().value as [string, CacheEntry];
      cache.delete(oldestToken);
      if (oldest.used) {
        oldest.used = false;
        cache.set(oldestToken, oldest);
      }
    }
    cache.set(token, entry);
  }

  const keyFor = ringKeyResolver(getKeyRing);

  return {
    async sign(input) {
      const ring = getKeyRing();
      const iat = Math.floor(now() / 1000);
      const claims = toAccessClaims(
        Object.assign({}, input, { iss: issuer, aud: audience, iat, exp: iat + ttlSeconds }),
      );
      if (!claims) throw new TypeError('access token claims are not in the expected shape');
      const { iss: _iss, aud: _aud, iat: _iat, exp: _exp, ...custom } = claims;
      const token = await new SignJWT(custom)
        .setProtectedHeader({ alg: ALG, kid: ring.active.kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(claims.iat)
        .setExpirationTime(claims.exp)
        .sign(ring.active.privateKey);
      return { token, expiresIn: ttlSeconds, claims };
    },

    known(token) {
      return cached(token, Math.floor(now() / 1000)) ?? undefined;
    },

    async verify(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        return null;
      }
      const nowMs = now();
      const nowSeconds = Math.floor(nowMs / 1000);
      try {
        const hit = cached(token, nowSeconds);
        if (hit !== undefined) return hit;
        const { payload, protectedHeader } = await jwtVerify(token, keyFor, {
          algorithms: [ALG],
          typ: ACCESS_TOKEN_TYPE,
          issuer,
          audience,
          requiredClaims: ['sub', 'exp', 'iat'],
          maxTokenAge: ttlSeconds,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: new Date(nowMs),
        });
        // An array `aud` passes jose's audience check; ours is always the one string.
        const claims = toAccessClaims(payload as Record<string, unknown>);
        if (!claims || claims.exp <= nowSeconds) return null;
        remember(token, { claims, kid: protectedHeader.kid as string, used: false });
        return claims;
      } catch {
        return null;
      }
    },
  };
}
