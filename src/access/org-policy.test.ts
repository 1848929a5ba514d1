// The org MFA policy as pure rules. Which routes an enrolment-only session reaches is declared
// on the routes and walked in mfa-enrollment-gate.security.test.ts.
import { describe, expect, it } from 'vitest';
import { mfaEnrollmentPending, rolesRequiringMfa } from './org-policy.ts';

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

  it('is pending only for a listed role, unless the user has MFA and this session proved it', () => {
    const settings = { mfa_required_roles: ['member'] };
    const off = { mfa_enabled_at: null };
    const on = { mfa_enabled_at: new Date() };
    const pwd = ['pwd'];
    const proven = ['pwd', 'mfa', 'otp'];
    expect(mfaEnrollmentPending(off, pwd, settings, 'member')).toBe(true);
    expect(mfaEnrollmentPending(on, proven, settings, 'member')).toBe(false);
    // MFA enabled in another session: this one never proved it, so it stays pinned.
    expect(mfaEnrollmentPending(on, pwd, settings, 'member')).toBe(true);
    // MFA disabled since: pinned again, whatever the session once proved.
    expect(mfaEnrollmentPending(off, proven, settings, 'member')).toBe(true);
    expect(mfaEnrollmentPending(off, pwd, settings, 'owner')).toBe(false);
    expect(mfaEnrollmentPending(off, pwd, {}, 'member')).toBe(false);
  });
});
