import { timingSafeEqual } from 'node:crypto';
import { HOTP, Secret } from 'otpauth';

export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface TotpOptions {
  digits?: number;
  algorithm?: TotpAlgorithm;
  period?: number;
}

/** `reused`: the code is one of a step already spent (or older than one spent): wait for the next. */
export type TotpVerification = { ok: true; step: number } | { ok: false; reused?: true };

/**
 * What we enrol and accept: the only parameters every authenticator app honours (several,
 * including older Google Authenticator builds, ignore algorithm/digits/period in the URI and
 * always use these), so any other choice would lock some users out.
 */
const ALGORITHM: TotpAlgorithm = 'SHA1';
const DIGITS = 6;
const PERIOD_SECONDS = 30;

/** RFC 4226 §4 R6: shared secrets shorter than 128 bits are brute-forceable. */
const MIN_SECRET_BYTES = 16;

/** 160 bits from the CSPRNG (RFC 4226 recommends 160), base32 as authenticator apps expect. */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function decodeSecret(base32: string): Secret {
  const secret = Secret.fromBase32(base32);
  if (secret.bytes.length < MIN_SECRET_BYTES) {
    throw new TypeError(`TOTP secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return secret;
}

/**
 * Key URI Format (github.com/google/google-authenticator/wiki/Key-Uri-Format). The issuer is
 * both the label prefix and the `issuer` parameter so every app files the account under it. A
 * colon inside either part would be read as the issuer/account separator, so it is refused.
 */
export function otpauthUrl({
  secret,
  accountName,
  issuer = 'Switchboard',
}: {
  secret: string;
  accountName: string;
  issuer?: string;
}): string {
  if (issuer.includes(':') || accountName.includes(':')) {
    throw new TypeError('issuer and account name must not contain ":"');
  }
  decodeSecret(secret);
  const e = encodeURIComponent;
  const label = `${e(issuer)}:${e(accountName)}`;
  const params = [
    `secret=${e(secret)}`,
    `issuer=${e(issuer)}`,
    `algorithm=${ALGORITHM}`,
    `digits=${DIGITS}`,
    `period=${PERIOD_SECONDS}`,
  ].join('&');
  return `otpauth://totp/${label}?${params}`;
}

/** PNG data URL of the otpauth URI; level M survives a phone camera at an angle. */
export async function qrCodeDataUrl(url: string): Promise<string> {
  // Loaded with the first enrolment: a server nobody enrols on does not hold the PNG encoder.
  const { default: QRCode } = await import('qrcode');
  return QRCode.toDataURL(url, { type: 'image/png', errorCorrectionLevel: 'M', margin: 2 });
}

/** The time step (RFC 6238 T) a timestamp falls into. */
export function totpStep(timeMs: number, period = PERIOD_SECONDS): number {
  return Math.floor(timeMs / 1000 / period);
}

function codeForStep(secret: Secret, step: number, opts: TotpOptions = {}): string {
  return HOTP.generate({
    secret,
    algorithm: opts.algorithm ?? ALGORITHM,
    digits: opts.digits ?? DIGITS,
    counter: step,
  });
}

/** RFC 6238 generator for a base32 secret. */
export function totpCodeAt(secret: string, timeMs: number, opts: TotpOptions = {}): string {
  const period = opts.period ?? PERIOD_SECONDS;
  if (!Number.isInteger(period) || period <= 0) throw new TypeError('period must be > 0');
  return codeForStep(decodeSecret(secret), totpStep(timeMs, period), opts);
}

/** Apps show "123 456"; anything else than six digits after removing spaces is not a code. */
function normalizeTotpInput(code: string): string | null {
  const digits = code.replace(/\s+/g, '');
  return /^[0-9]{6}$/.test(digits) ? digits : null;
}

function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/**
 * Checks a code against the steps within ±window of now (clock drift).
 *
 * Replay invariant: a step is consumed at most once and consumption is monotonic. Every step
 * ≤ lastUsedStep is refused, so a code — and any code older than one already used — works
 * once, even when an observer captured it within its ±window lifetime. The caller must persist
 * the returned step as the new lastUsedStep with a compare-and-set (`… WHERE last_used_step IS
 * NULL OR last_used_step < $step`) so two concurrent requests cannot both spend the same code.
 * A code that matches a spent step inside the window is still refused, as `reused`: the person
 * typed a right code twice (or an older one) and should wait for the next, not check their clock.
 */
export function verifyTotp(
  secret: string,
  code: string,
  opts: { nowMs?: number; window?: number; lastUsedStep?: number | null } = {},
): TotpVerification {
  const window = opts.window ?? 1;
  if (!Number.isInteger(window) || window < 0) throw new TypeError('window must be an integer ≥ 0');
  const key = decodeSecret(secret);
  const candidate = normalizeTotpInput(code);
  if (candidate === null) return { ok: false };

  const current = totpStep(opts.nowMs ?? Date.now());
  const lastUsed = opts.lastUsedStep ?? null;
  let matched: number | null = null;
  let spent = false;
  // Every step in the window is compared (no early exit), so timing does not tell which step
  // matched; on a (1-in-a-million) collision the newest step wins, consuming the most.
  for (let step = current - window; step <= current + window; step++) {
    if (step < 0) continue;
    const equal = constantTimeEqual(codeForStep(key, step), candidate);
    if (lastUsed !== null && step <= lastUsed) spent ||= equal;
    else if (equal) matched = step;
  }
  if (matched !== null) return { ok: true, step: matched };
  return spent ? { ok: false, reused: true } : { ok: false };
}
