// After a sign-up committed: the welcome and verification mails, and the first known device
// (so logging in again from it is not "a new device"). Runs after the transaction, so the
// sign-up never depends on it; a failure here is logged and the user can resend the link.
import type { RequestMeta } from '../http/request-meta.ts';
import type { AuthContext } from './auth-context.ts';
import { sendVerificationMail } from './email-verification.ts';
import { recordFirstDevice } from './new-device.ts';
import { sendWelcome } from './notifications.ts';
import type { RegisterResult } from './register.ts';

export function afterSignUp(auth: AuthContext) {
  return async (r: RegisterResult, meta: RequestMeta): Promise<void> => {
    try {
      await recordFirstDevice(auth, { userId: r.user.id, orgId: r.org.id, role: r.role }, meta);
      sendWelcome(auth, r.user);
      await sendVerificationMail(auth, r.user, meta);
    } catch (err) {
      auth.logger?.error({ err: { message: (err as Error).message } }, 'sign-up mails failed');
    }
  };
}
