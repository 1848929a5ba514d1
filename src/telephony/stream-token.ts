// The media-stream token: handed to the agent worker inside the TwiML <Stream> as a <Parameter>,
// it proves that this stream belongs to this call, org and agent, for a short while.
//
// Format: v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>. The HMAC key is derived from
// SECRET_KEY for this purpose only (another use of SECRET_KEY can never produce a valid stream
// token), the claims carry their own type, and the MAC is compared in constant time before the
// claims are even parsed.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const STREAM_TOKEN_TYPE = 'switchboard/twilio-stream';
const VERSION = 'v1';
const MAX_TOKEN_LENGTH = 2048;
const CLOCK_SKEW_SECONDS = 30;

export interface StreamClaims {
  callSid: string;
  orgId: string;
  agentId: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

interface Wire {
  typ: string;
  call: string;
  org: string;
  agent: string;
  iat: number;
  exp: number;
}

function streamKey(secretKey: Buffer): Buffer {
  return createHmac('sha256', secretKey).update('switchboard stream-token key v1').digest();
}

function mac(secretKey: Buffer, signed: string): Buffer {
  return createHmac('sha256', streamKey(secretKey)).update(signed).digest();
}

export function signStreamToken(
  secretKey: Buffer,
  c: { callSid: string; orgId: string; agentId: string },
  ttlSeconds: number,
  now = Date.now(),
): string {
  const iat = Math.floor(now / 1000);
  const wire: Wire = {
    typ: STREAM_TOKEN_TYPE,
    call: c.callSid,
    org: c.orgId,
    agent: c.agentId,
    iat,
    exp: iat + ttlSeconds,
  };
  const payload = Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
  const signed = `${VERSION}.${payload}`;
  return `${signed}.${mac(secretKey, signed).toString('base64url')}`;
}

/**
 * The claims of a valid, unexpired token, or null. `expect` pins the call (and more) the caller
 * already knows, e.g. the CallSid of Twilio's stream "start" message.
 */
export function verifyStreamToken(
  secretKey: Buffer,
  token: unknown,
  expect: Partial<Pick<StreamClaims, 'callSid' | 'orgId' | 'agentId'>> = {},
  now = Date.now(),
): StreamClaims | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return null;
  const [, payload, sig] = parts as [string, string, string];
  const given = Buffer.from(sig, 'base64url');
  // Canonical encoding only: otherwise several strings would carry the same MAC.
  if (given.toString('base64url') !== sig) return null;
  const expected = mac(secretKey, `${VERSION}.${payload}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let wire: Wire;
  try {
    wire = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!wire || typeof wire !== 'object' || wire.typ !== STREAM_TOKEN_TYPE) return null;
  const { call, org, agent, iat, exp } = wire;
  if (![call, org, agent].every((v) => typeof v === 'string')) return null;
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) return null;
  const nowSeconds = Math.floor(now / 1000);
  if (exp <= nowSeconds || iat > nowSeconds + CLOCK_SKEW_SECONDS) return null;
  const claims: StreamClaims = { callSid: call, orgId: org, agentId: agent, iat, exp };
  if (expect.callSid !== undefined && expect.callSid !== claims.callSid) return null;
  if (expect.orgId !== undefined && expect.orgId !== claims.orgId) return null;
  if (expect.agentId !== undefined && expect.agentId !== claims.agentId) return null;
  return claims;
}
