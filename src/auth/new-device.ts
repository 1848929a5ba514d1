// New-device notices: a login from a (user agent, IP) pair the user has not signed in from
// before mails the user. The first device ever (recorded at sign-up) is not news.
import { createHash } from 'node:crypto';
import { withTenantStatement } from '../db/tenant.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import type { AuthContext } from './auth-context.ts';
import { rememberDevice } from './known-device.repository.ts';
import type { LoginSuccess } from './login.ts';
import { sendNewDeviceNotice } from './notifications.ts';

/** SHA-256 of the pair (JSON keeps it unambiguous): the table never holds raw IPs or agents. */
export function deviceFingerprint(meta: Pick<RequestMeta, 'ip' | 'userAgent'>): string {
  return createHash('sha256')
    .update(JSON.stringify([meta.userAgent ?? '', meta.ip]))
    .digest('hex');
}

async function recordDevice(
  auth: AuthContext,
  who: { userId: string; orgId: string; role: LoginSuccess['role'] },
  meta: Pick<RequestMeta, 'ip' | 'userAgent'>,
): Promise<boolean> {
  const fingerprint = deviceFingerprint(meta);
  // One statement, one round trip: it records the device and says whether it is news.
  const seen = await withTenantStatement(
    auth.database,
    { orgId: who.orgId, userId: who.userId, role: who.role },
    (tx) => rememberDevice(tx, who.userId, fingerprint),
  );
  return seen.added && seen.hasOther;
}

/**
 * The login hook: queues the check and its notice as background work (src/infra/background.ts),
 * so the login answers at the speed of its password hash. Never throws; a failed check only
 * costs the notice (the queue logs it).
 */
export function newDeviceCheck(auth: AuthContext) {
  return (r: LoginSuccess, meta: RequestMeta): void =>
    checkNewDevice(auth, r.user, { orgId: r.orgId, role: r.role }, meta);
}

/**
 * The same check for any act that opens a session with the account's password, as a login does
 * (an invitation accepted with it): the owner hears of a new device either way.
 */
export function checkNewDevice(
  auth: AuthContext,
  user: LoginSuccess['user'],
  where: { orgId: string; role: LoginSuccess['role'] },
  meta: RequestMeta,
): void {
  const who = { userId: user.id, orgId: where.orgId, role: where.role };
  const device = { ip: meta.ip, userAgent: meta.userAgent };
  auth.background.enqueue('new-device check', async () => {
    if (await recordDevice(auth, who, device)) sendNewDeviceNotice(auth, user, device);
  });
}

/** At sign-up: the first device is recorded, nothing is mailed. */
export async function recordFirstDevice(
  auth: AuthContext,
  who: { userId: string; orgId: string; role: LoginSuccess['role'] },
  meta: RequestMeta,
): Promise<void> {
  await recordDevice(auth, who, meta);
}
