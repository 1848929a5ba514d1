// Security notices by mail. A mail never fails the request that caused it: the mailer only
// queues (and retries and logs), and anything thrown while rendering is logged here and dropped.
import {
  backupCodesRegenerated,
  mfaDisabled,
  mfaEnabled,
  newDeviceLogin,
  passwordChanged,
  passwordWasReset,
  type RenderedMail,
  welcome,
} from '../mail/templates.ts';
import type { AuthContext } from './auth-context.ts';

interface Recipient {
  email: string;
  full_name: string | null;
}

const NOTICES = {
  mfaEnabled,
  mfaDisabled,
  backupCodesRegenerated,
  passwordChanged,
  passwordWasReset,
};
export type NoticeKind = keyof typeof NOTICES;

export function sendMail(auth: AuthContext, to: string, render: () => RenderedMail): void {
  try {
    auth.mailer?.send({ to, ...render() });
  } catch (err) {
    auth.logger?.error({ err: { message: (err as Error).message } }, 'mail could not be queued');
  }
}

export function sendNotice(auth: AuthContext, user: Recipient, kind: NoticeKind): void {
  sendMail(auth, user.email, () =>
    NOTICES[kind]({
      publicUrl: auth.config.publicUrl,
      name: user.full_name ?? undefined,
      at: new Date(),
    }),
  );
}

export function sendWelcome(auth: AuthContext, user: Recipient): void {
  sendMail(auth, user.email, () =>
    welcome({ publicUrl: auth.config.publicUrl, name: user.full_name ?? undefined }),
  );
}

export function sendNewDeviceNotice(
  auth: AuthContext,
  user: Recipient,
  device: { userAgent: string | null; ip: string },
): void {
  sendMail(auth, user.email, () =>
    newDeviceLogin({
      publicUrl: auth.config.publicUrl,
      name: user.full_name ?? undefined,
      at: new Date(),
      userAgent: device.userAgent ?? '',
      ip: device.ip,
    }),
  );
}
