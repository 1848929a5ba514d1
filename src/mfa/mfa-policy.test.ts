// The org MFA policy and the enrolment gate's route list, as pure rules.
import { describe, expect, it } from 'vitest';
import { mfaEnrollmentAllows } from './mfa-enrollment-gate.ts';
import { mfaEnrollmentPending, rolesRequiringMfa } from './mfa-policy.ts';

describe('rolesRequiringMfa', () => {
  it('reads known roles from mfa_required_roles and ignores anything else', () => {
    expect(rolesRequiringMfa({ mfa_required_roles: ['admin', 'owner'] })).toEqual([
      'owner',
      'admin',
    ]);
    for (const junk of [
      undefined,
      null,
      {},
      { mfa_required_roles: 'owner' },
      { mfa_required_roles: { owner: true } },
      { mfa_required_roles: [1, null, 'root', 'OWNER'] },
    ]) {
      expect(rolesRequiringMfa(junk as Record<string, unknown> | null | undefined)).toEqual([]);
    }
  });

  it('is pending only for a listed role without MFA', () => {
    const settings = { mfa_required_roles: ['member'] };
    const off = { mfa_enabled_at: null };
    const on = { mfa_enabled_at: new Date() };
    expect(mfaEnrollmentPending(off, settings, 'member')).toBe(true);
    expect(mfaEnrollmentPending(on, settings, 'member')).toBe(false);
    expect(mfaEnrollmentPending(off, settings, 'owner')).toBe(false);
    expect(mfaEnrollmentPending(off, {}, 'member')).toBe(false);
  });
});

describe('mfaEnrollmentAllows', () => {
  it('opens the enrolment, identity, logout and refresh routes', () => {
    for (const [m, u] of [
      ['POST', '/api/auth/mfa/setup'],
      ['POST', '/api/auth/mfa/enable'],
      ['GET', '/auth/me'],
      ['GET', '/api/users/me'],
      ['POST', '/api/auth/logout'],
      ['POST', '/auth/logout'],
      ['POST', '/api/auth/logout-all'],
      ['POST', '/api/auth/refresh'],
      ['POST', '/api/auth/login'],
    ] as const) {
      expect(mfaEnrollmentAllows(m, u), `${m} ${u}`).toBe(true);
    }
  });

  it('closes every other API and realtime route, including other methods of open paths', () => {
    for (const [m, u] of [
      ['GET', '/api/prompts'],
      ['PATCH', '/api/users/me'],
      ['GET', '/api/auth/mfa'],
      ['POST', '/api/auth/mfa/disable'],
      ['POST', '/api/auth/mfa/backup-codes'],
      ['GET', '/api/auth/verify'],
      ['GET', '/ws'],
      ['GET', '/ws_pcm'],
      ['GET', '/auth/something-new'],
    ] as const) {
      expect(mfaEnrollmentAllows(m, u), `${m} ${u}`).toBe(false);
    }
  });

  it('leaves pages, health, docs and unknown routes alone', () => {
    expect(mfaEnrollmentAllows('GET', '/')).toBe(true);
    expect(mfaEnrollmentAllows('GET', '/health')).toBe(true);
    expect(mfaEnrollmentAllows('GET', '/.well-known/jwks.json')).toBe(true);
    expect(mfaEnrollmentAllows('GET', undefined)).toBe(true);
  });
});
