// Wrong MFA codes are guesses at a 6-digit number: they are counted per user (mfa_verify), and at
// login also per IP (login_ip: many stolen passwords tried from one address). Each attempt takes
// its point before any code is checked, so a burst of parallel guesses gets no more evaluations
// than the allowance, and a blocked caller is refused before any code is checked (a right guess
// inside the block is no use).
import type { AuthContext } from '../auth/auth-context.ts';
import { clientKey } from '../security/client-key.ts';
import { type Reservation, reserveAll } from '../security/rate-limits.ts';

export function reserveCodeAttempt(
  auth: AuthContext,
  userId: string,
  ip?: string,
): Promise<Reservation> {
  return reserveAll(auth.limiter, [
    ['mfa_verify', userId],
    ...(ip === undefined ? [] : [['login_ip', clientKey(ip)] as const]),
  ]);
}
