// Wrong MFA codes are guesses at a 6-digit number: they are counted per user (mfa_verify), and at
// login also per IP (login_ip: many stolen passwords tried from one address), and a blocked
// caller is refused before any code is checked, so a right guess inside the block is no use.
import type { AuthContext } from '../auth/auth-context.ts';

export async function assertCodeAttemptAllowed(
  auth: AuthContext,
  userId: string,
  ip?: string,
): Promise<void> {
  await auth.limiter.check('mfa_verify', userId);
  if (ip !== undefined) await auth.limiter.check('login_ip', ip);
}

export async function countWrongCode(
  auth: AuthContext,
  userId: string,
  ip?: string,
): Promise<void> {
  await auth.limiter.penalize('mfa_verify', userId);
  if (ip !== undefined) await auth.limiter.penalize('login_ip', ip);
}
