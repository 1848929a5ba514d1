// Applying the password policy and hashing with the configured cost, for every flow that sets a
// password (register, change, reset, invitation accept).
import { AppError } from '../http/errors.ts';
import { checkPassword } from '../security/password-policy.ts';
import type { AuthContext } from './auth-context.ts';
import { hashPassword } from './password.ts';

function assertPasswordAllowed(
  auth: AuthContext,
  password: string,
  who: { email?: string | null; fullName?: string | null },
  field = 'password',
): void {
  const problems = checkPassword(password, who, auth.config.auth.password);
  if (problems.length > 0) {
    throw new AppError('weak_password', problems.map((p) => `Password ${p.message}`).join('; '), {
      errors: problems.map((p) => ({ field, message: p.message, rule: p.rule })),
    });
  }
}

/**
 * The hash to store for a password someone chose: refused (weak_password, on `field`) unless it
 * meets the policy, then hashed with the configured cost.
 */
export function hashAllowedPassword(
  auth: AuthContext,
  password: string,
  who: { email?: string | null; fullName?: string | null },
  field = 'password',
): Promise<string> {
  assertPasswordAllowed(auth, password, who, field);
  return hashPassword(password, auth.config.auth.argon2);
}
