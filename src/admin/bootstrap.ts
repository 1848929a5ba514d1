// The platform superuser, created at start from ADMIN_EMAIL / ADMIN_PASSWORD (main.ts calls
// this after the migrations).
//
// - Idempotent, and safe when several instances start at once (an advisory lock serialises them).
// - Never overwrites a password: ADMIN_PASSWORD is used only when the account is created; after
//   that the account's own password rules (changed in the app, reset by mail).
// - An existing account with that address is promoted only if its address is verified; an
//   unverified one may have been registered by someone else to be promoted, so it is refused
//   (logged, the start goes on without a superuser).
// - It needs an org to log into: a "Platform" org it owns is created when it has none.
import type { Logger } from 'pino';
import {
  activeMembershipsOfUser,
  insertMembership,
  insertOrg,
} from '../access/membership.repository.ts';
import { recordAudit } from '../audit/audit.ts';
import { hashPassword } from '../auth/password.ts';
import type { Config } from '../config.ts';
import { lockForTransaction } from '../db/advisory-lock.ts';
import type { Database } from '../db/database.ts';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { systemMeta } from '../http/request-meta.ts';
import { findUserByEmail, insertUser } from '../users/user.repository.ts';
import { makeSuperuser } from './admin.repository.ts';

// Any constant unique to this use; pg_advisory_xact_lock is released when the transaction ends.
const BOOTSTRAP_LOCK_ID = 0x5b_ad_01;
export const PLATFORM_ORG_NAME = 'Platform';

const SYSTEM_META = systemMeta('bootstrap');

export type BootstrapOutcome =
  | { status: 'not_configured' }
  | { status: 'created' | 'exists' | 'promoted'; userId: string; orgCreated: boolean }
  | { status: 'refused_unverified'; userId: string };

export async function bootstrapSuperuser(
  database: Database,
  config: Pick<Config, 'admin' | 'auth'>,
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>,
): Promise<BootstrapOutcome> {
  const admin = config.admin;
  if (!admin) return { status: 'not_configured' };
  // Hashed up front (outside the transaction); used only if the account does not exist yet.
  const passwordHash = await hashPassword(admin.password, config.auth.argon2);

  // System path: there is no tenant at start-up; this is the platform's own bootstrap.
  const outcome = await withSystem(database, async (tx): Promise<BootstrapOutcome> => {
    await lockForTransaction(tx, BOOTSTRAP_LOCK_ID);
    let user = await findUserByEmail(tx, admin.email);
    let status: 'created' | 'exists' | 'promoted' = 'exists';
    if (!user) {
      user = await insertUser(tx, {
        id: newId(),
        email: admin.email,
        password_hash: passwordHash,
        full_name: 'Platform administrator',
        is_superuser: true,
        email_verified_at: new Date(),
      });
      status = 'created';
    } else if (!user.is_superuser) {
      if (!user.email_verified_at) return { status: 'refused_unverified', userId: user.id };
      await makeSuperuser(tx, user.id);
      status = 'promoted';
    }

    let orgCreated = false;
    let orgId = (await activeMembershipsOfUser(tx, user.id))[0]?.org_id;
    if (!orgId) {
      orgId = newId();
      await insertOrg(tx, { id: orgId, name: PLATFORM_ORG_NAME, kind: 'company' });
      await insertMembership(tx, orgId, user.id, 'owner');
      orgCreated = true;
    }
    if (status !== 'exists' || orgCreated) {
      await recordAudit(tx, SYSTEM_META, {
        org_id: orgId,
        actor_user_id: null,
        actor_type: 'system',
        action: 'superuser.bootstrap',
        target_type: 'user',
        target_id: user.id,
        outcome: 'success',
        metadata: { status, org_created: orgCreated },
      });
    }
    return { status, userId: user.id, orgCreated };
  });

  if (outcome.status === 'refused_unverified') {
    logger?.error(
      'ADMIN_EMAIL belongs to an existing account whose address is not verified: it was NOT made ' +
        'the platform superuser. Verify that address (or use another ADMIN_EMAIL) and restart.',
    );
  } else if (outcome.status === 'created' || outcome.status === 'promoted') {
    logger?.info({ userId: outcome.userId }, `platform superuser ${outcome.status}`);
  }
  return outcome;
}
