// The media token: handed to the agent worker inside the TwiML <Stream> as <Parameter name="token">
// (Twilio passes it on in the stream's `start.customParameters`), it proves that this stream
// belongs to this call, org and agent, for a short while.
//
// It is an EdDSA JWT signed by the access-token key ring (active key, `kid` in the header), so a
// worker verifies it against /.well-known/jwks.json with any JOSE library — no shared secret.
// Confusion between the two kinds of token is stopped by the JOSE header `typ`: media tokens are
// `media+jwt`, access tokens `at+jwt`, and each verifier accepts only its own (jose compares
// `typ` before it looks at the claims). `aud` is the agent's media stream URL, so a token minted
// for one worker's URL does not open another URL; but any org may name any URL as its agent's
// (it is no secret), so `aud` does not say whose worker it is: a worker also pins `org` to the
// orgs it serves (README, examples/agent-worker.ts). `sub` is the CallSid, which the worker
// compares with Twilio's `start.callSid` so a token cannot be replayed onto another call.
import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { type KeyRing, ringKeyResolver } from '../auth/signing-keys.ts';
import { UUID_PATTERN } from '../http/ids.ts';

export const MEDIA_TOKEN_TYPE = 'media+jwt';
const ALG = 'EdDSA';
const CLOCK_TOLERANCE_SECONDS = 5;
/** Far above any token we issue; bounds the work an oversized header can cause. */
const MAX_TOKEN_LENGTH = 4096;
const UUID = new RegExp(UUID_PATTERN);
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

export type CallDirection = 'inbound' | 'outbound';

export interface MediaClaims {
  iss: string;
  /** The agent's media stream URL. */
  aud: string;
  /** The CallSid. */
  sub: string;
  org: string;
  agent: string;
  call_direction: CallDirection;
  jti: string;
  iat: number;
  exp: number;
}

export interface MediaTokenInput {
  callSid: string;
  orgId: string;
  agentId: string;
  direction: CallDirection;
  /** The agent's media stream URL (the worker checks it is its own). */
  audience: string;
}

export interface MediaTokens {
  sign(input: MediaTokenInput): Promise<string>;
  /**
   * The claims of a valid, current media token of ours, or null (never throws). `expect.audience`
   * pins `aud` when the caller knows it; `expect.callSid` pins `sub`.
   */
  verify(
    token: unknown,
    expect?: { audience?: string; callSid?: string },
  ): Promise<MediaClaims | null>;
}

export interface MediaTokenOptions {
  /** Read at every sign/verify, so a reloaded ring takes effect at once. */
  getKeyRing: () => KeyRing;
  issuer: string;
  /** STREAM_TOKEN_TTL_SECONDS. */
  ttlSeconds: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Rebuild the claims from a verified payload: every member in its exact shape, or null. */
function toMediaClaims(p: Record<string, unknown>): MediaClaims | null {
  const { iss, aud, sub, org, agent, call_direction, jti, iat, exp } = p;
  if (typeof iss !== 'string' || typeof aud !== 'string') return null;
  if (typeof sub !== 'string' || !CALL_SID.test(sub)) return null;
  if (typeof org !== 'string' || !UUID.test(org) || typeof agent !== 'string' || !UUID.test(agent))
    return null;
  if (call_direction !== 'inbound' && call_direction !== 'outbound') return null;
  if (typeof jti !== 'string' || !UUID.test(jti)) return null;
  if (!isNumericDate(iat) || !isNumericDate(exp)) return null;
  return { iss, aud, sub, org, agent, call_direction, jti, iat, exp };
}

export function createMediaTokens(opts: MediaTokenOptions): MediaTokens {
  const { getKeyRing, issuer, ttlSeconds } = opts;
  const now = opts.now ?? Date.now;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('ttlSeconds > 0');
  const keyFor = ringKeyResolver(getKeyRing);

  return {
    async sign(input) {
      const ring = getKeyRing();
      const iat = Math.floor(now() / 1000);
      const claims = toMediaClaims({
        iss: issuer,
        aud: input.audience,
        sub: input.callSid,
        org: input.orgId,
        agent: input.agentId,
        call_direction: input.direction,
        jti: randomUUID(),
        iat,
        exp: iat + ttlSeconds,
      });
      if (!claims) throw new TypeError('media token claims are not in the expected shape');
      return new SignJWT({
        org: claims.org,
        agent: claims.agent,
        call_direction: claims.call_direction,
      })
        .setProtectedHeader({ alg: ALG, kid: ring.active.kid, typ: MEDIA_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(claims.aud)
        .setSubject(claims.sub)
        .setJti(claims.jti)
        .setIssuedAt(claims.iat)
        .setExpirationTime(claims.exp)
        .sign(ring.active.privateKey);
    },

    async verify(token, expect = {}) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        return null;
      }
      const nowMs = now();
      try {
        const { payload } = await jwtVerify(token, keyFor, {
          algorithms: [ALG],
          typ: MEDIA_TOKEN_TYPE,
          issuer,
          ...(expect.audience !== undefined ? { audience: expect.audience } : {}),
          requiredClaims: ['sub', 'exp', 'iat', 'jti'],
          maxTokenAge: ttlSeconds,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: new Date(nowMs),
        });
        // An array `aud` would pass jose's audience check; ours is always the one string.
        const claims = toMediaClaims(payload as Record<string, unknown>);
        if (!claims || claims.exp <= Math.floor(nowMs / 1000)) return null;
        if (claims.exp - claims.iat > ttlSeconds) return null;
        if (expect.callSid !== undefined && expect.callSid !== claims.sub) return null;
        return claims;
      } catch {
        return null;
      }
    },
  };
}
