import { URI } from 'otpauth';
import { describe, expect, it } from 'vitest';
import {
  generateTotpSecret,
  otpauthUrl,
  qrCodeDataUrl,
  type TotpAlgorithm,
  totpCodeAt,
  verifyTotp,
} from './totp.ts';

/** RFC 4648 base32, written here so the vectors do not depend on the library under test. */
function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

const ascii = (s: string) => base32(Buffer.from(s, 'ascii'));

describe('RFC 6238 Appendix B test vectors (8 digits, 30 s)', () => {
  const secrets: Record<TotpAlgorithm, string> = {
    SHA1: ascii('12345678901234567890'),
    SHA256: ascii('12345678901234567890123456789012'),
    SHA512: ascii('1234567890123456789012345678901234567890123456789012345678901234'),
  };
  const vectors: [number, string, TotpAlgorithm][] = [
    [59, '94287082', 'SHA1'],
    [59, '46119246', 'SHA256'],
    [59, '90693936', 'SHA512'],
    [1111111109, '07081804', 'SHA1'],
    [1111111109, '68084774', 'SHA256'],
    [1111111109, '25091201', 'SHA512'],
    [1111111111, '14050471', 'SHA1'],
    [1111111111, '67062674', 'SHA256'],
    [1111111111, '99943326', 'SHA512'],
    [1234567890, '89005924', 'SHA1'],
    [1234567890, '91819424', 'SHA256'],
    [1234567890, '93441116', 'SHA512'],
    [2000000000, '69279037', 'SHA1'],
    [2000000000, '90698825', 'SHA256'],
    [2000000000, '38618901', 'SHA512'],
    [20000000000, '65353130', 'SHA1'],
    [20000000000, '77737706', 'SHA256'],
    [20000000000, '47863826', 'SHA512'],
  ];

  it.each(vectors)('T=%i → %s (%s)', (seconds, expected, algorithm) => {
    const code = totpCodeAt(secrets[algorithm], seconds * 1000, { digits: 8, algorithm });
    expect(code).toBe(expected);
  });

  it('defaults to SHA1, 6 digits, 30 s (the last 6 digits of the SHA1 vectors)', () => {
    expect(totpCodeAt(secrets.SHA1, 59_000)).toBe('287082');
    expect(totpCodeAt(secrets.SHA1, 1111111109_000)).toBe('081804');
  });

  it('honours a custom period', () => {
    // With a 60 s period, T=59 falls into step 0 rather than step 1.
    expect(totpCodeAt(secrets.SHA1, 59_000, { period: 60, digits: 8 })).toBe(
      totpCodeAt(secrets.SHA1, 0, { digits: 8 }),
    );
  });
});

describe('generateTotpSecret', () => {
  it('is 160 random bits in base32', () => {
    const a = generateTotpSecret();
    const b = generateTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(a).not.toBe(b);
  });
});

describe('verifyTotp', () => {
  const secret = ascii('12345678901234567890');
  // Mid-step so ±30 s lands squarely in the neighbouring steps.
  const now = 1_700_000_015_000;
  const step = Math.floor(now / 30_000);
  const codeAt = (offsetSteps: number) => totpCodeAt(secret, now + offsetSteps * 30_000);

  it('accepts the current code and returns its step', () => {
    expect(verifyTotp(secret, codeAt(0), { nowMs: now })).toEqual({ ok: true, step });
  });

  it('accepts the previous and next step (clock drift) and reports which', () => {
    expect(verifyTotp(secret, codeAt(-1), { nowMs: now })).toEqual({ ok: true, step: step - 1 });
    expect(verifyTotp(secret, codeAt(1), { nowMs: now })).toEqual({ ok: true, step: step + 1 });
  });

  it('rejects codes two steps away', () => {
    expect(verifyTotp(secret, codeAt(-2), { nowMs: now })).toEqual({ ok: false });
    expect(verifyTotp(secret, codeAt(2), { nowMs: now })).toEqual({ ok: false });
  });

  it('widens or narrows with window', () => {
    expect(verifyTotp(secret, codeAt(-2), { nowMs: now, window: 2 })).toEqual({
      ok: true,
      step: step - 2,
    });
    expect(verifyTotp(secret, codeAt(-1), { nowMs: now, window: 0 })).toEqual({ ok: false });
  });

  it('rejects a wrong code', () => {
    const wrong = String((Number(codeAt(0)) + 1) % 1_000_000).padStart(6, '0');
    expect(verifyTotp(secret, wrong, { nowMs: now })).toEqual({ ok: false });
  });

  it('rejects a replay of the step it last accepted', () => {
    const first = verifyTotp(secret, codeAt(0), { nowMs: now });
    expect(first.ok).toBe(true);
    const lastUsedStep = first.ok ? first.step : null;
    expect(verifyTotp(secret, codeAt(0), { nowMs: now, lastUsedStep })).toEqual({
      ok: false,
      reused: true,
    });
    // Still refused later in the same step and in the next one, while it is inside the window.
    expect(verifyTotp(secret, codeAt(0), { nowMs: now + 14_000, lastUsedStep })).toEqual({
      ok: false,
      reused: true,
    });
    expect(verifyTotp(secret, codeAt(0), { nowMs: now + 30_000, lastUsedStep })).toEqual({
      ok: false,
      reused: true,
    });
  });

  it('a wrong code is not "reused", even with a step spent', () => {
    const wrong = String((Number(codeAt(0)) + 1) % 1_000_000).padStart(6, '0');
    expect(verifyTotp(secret, wrong, { nowMs: now, lastUsedStep: step })).toEqual({ ok: false });
  });

  it('rejects an older code once a newer one was used', () => {
    const newer = verifyTotp(secret, codeAt(1), { nowMs: now });
    expect(newer).toEqual({ ok: true, step: step + 1 });
    expect(verifyTotp(secret, codeAt(0), { nowMs: now, lastUsedStep: step + 1 })).toEqual({
      ok: false,
      reused: true,
    });
    expect(verifyTotp(secret, codeAt(-1), { nowMs: now, lastUsedStep: step + 1 })).toEqual({
      ok: false,
      reused: true,
    });
  });

  it('accepts a newer code after an older one was used', () => {
    expect(verifyTotp(secret, codeAt(0), { nowMs: now, lastUsedStep: step - 1 })).toEqual({
      ok: true,
      step,
    });
    expect(verifyTotp(secret, codeAt(0), { nowMs: now, lastUsedStep: null })).toEqual({
      ok: true,
      step,
    });
  });

  it('accepts the code with the spaces apps display', () => {
    const code = codeAt(0);
    const spaced = ` ${code.slice(0, 3)} ${code.slice(3)} `;
    expect(verifyTotp(secret, spaced, { nowMs: now })).toEqual({ ok: true, step });
  });

  it.each([
    ['non-digits', 'abcdef'],
    ['a letter among digits', '12345a'],
    ['too short', '12345'],
    ['too long', '1234567'],
    ['empty', ''],
    ['signed', '-12345'],
    ['decimal', '12345.'],
  ])('rejects %s input', (_, input) => {
    expect(verifyTotp(secret, input, { nowMs: now })).toEqual({ ok: false });
  });

  it('rejects the right code with extra characters around it', () => {
    expect(verifyTotp(secret, `${codeAt(0)}0`, { nowMs: now })).toEqual({ ok: false });
    expect(verifyTotp(secret, `0${codeAt(0)}`, { nowMs: now })).toEqual({ ok: false });
  });

  it('rejects the right 8-digit code prefix (only 6-digit codes are enrolled)', () => {
    const eight = totpCodeAt(secret, now, { digits: 8 });
    expect(verifyTotp(secret, eight, { nowMs: now })).toEqual({ ok: false });
  });

  it('uses the real clock by default', () => {
    const code = totpCodeAt(secret, Date.now());
    expect(verifyTotp(secret, code).ok).toBe(true);
  });

  it('refuses a secret too short to be safe', () => {
    expect(() => verifyTotp(ascii('short'), '123456', { nowMs: now })).toThrow(TypeError);
  });
});

describe('otpauthUrl', () => {
  const secret = generateTotpSecret();
  const accountName = 'alice+mfa@example.com';
  const url = otpauthUrl({ secret, accountName });

  it('has the Key Uri Format shape authenticator apps read', () => {
    expect(url).toBe(
      `otpauth://totp/Switchboard:alice%2Bmfa%40example.com?secret=${secret}&issuer=Switchboard&algorithm=SHA1&digits=6&period=30`,
    );
    const parsed = new URL(url);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.host).toBe('totp');
    expect(decodeURIComponent(parsed.pathname.slice(1))).toBe(`Switchboard:${accountName}`);
    expect(Object.fromEntries(parsed.searchParams)).toEqual({
      secret,
      issuer: 'Switchboard',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });

  it("is read back by otpauth's URI parser to the same generator", () => {
    const totp = URI.parse(url);
    expect(totp.issuer).toBe('Switchboard');
    expect(totp.label).toBe(accountName);
    expect(totp.secret.base32).toBe(secret);
    const t = 1_700_000_000_000;
    expect(totp.generate({ timestamp: t })).toBe(totpCodeAt(secret, t));
  });

  it('encodes a custom issuer with spaces in label and parameter', () => {
    const custom = otpauthUrl({ secret, accountName: 'bob@example.com', issuer: 'Acme Voice' });
    expect(custom.startsWith('otpauth://totp/Acme%20Voice:bob%40example.com?')).toBe(true);
    const totp = URI.parse(custom);
    expect(totp.issuer).toBe('Acme Voice');
    expect(totp.label).toBe('bob@example.com');
  });

  it('refuses a colon, which apps would read as the issuer separator', () => {
    expect(() => otpauthUrl({ secret, accountName: 'a:b@example.com' })).toThrow(TypeError);
    expect(() => otpauthUrl({ secret, accountName: 'a@example.com', issuer: 'X:Y' })).toThrow(
      TypeError,
    );
  });
});

describe('qrCodeDataUrl', () => {
  it('is a PNG data URL', async () => {
    const url = otpauthUrl({ secret: generateTotpSecret(), accountName: 'alice@example.com' });
    const dataUrl = await qrCodeDataUrl(url);
    const prefix = 'data:image/png;base64,';
    expect(dataUrl.startsWith(prefix)).toBe(true);
    const png = Buffer.from(dataUrl.slice(prefix.length), 'base64');
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.length).toBeGreaterThan(100);
  });
});
