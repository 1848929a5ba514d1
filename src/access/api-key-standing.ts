// Whether an API key may act now: the one rule behind every place a key is honoured (HTTP
// requests in src/api-keys/authenticate-api-key.ts; device sockets at connect, at ticket
// redemption and while open, in src/realtime/). A key never does more than its creator can do now,
// so a place that judged it by fewer of these facts would let a key outlive what stopped it
// elsewhere (an MFA policy set after a socket opened, a ticket minted before).
import type { Role } from '../db/schema.ts';
import { rolesRequiringMfa } from './org-policy.ts';

/** What is read with the key (src/api-keys/api-key.repository.ts). */
export interface ApiKeyFacts {
  revoked_at: Date | null;
  expires_at: Date | null;
  user_status: 'active' | 'disabled';
  /** The creator's role in the key's org now; null when no longer an active member. */
  member_role: Role | null;
  org_suspended_at: Date | null;
  creator_mfa_enabled_at: Date | null;
  org_settings: Record<string, unknown> | null;
}

/**
 * - `dead`: revoked, expired, or its creator disabled or gone from the org (for good);
 * - `org_suspended`: the kill switch (kept; works again when the org is resumed);
 * - `mfa_pending`: the org requires MFA of the creator's role and the creator has none (kept;
 *   works again once they turn it on), as their own logins reach only enrolment;
 * - `usable`.
 * In this order: a dead key is dead whatever else holds.
 */
export type ApiKeyStanding = 'usable' | 'dead' | 'org_suspended' | 'mfa_pending';

export function apiKeyStanding(k: ApiKeyFacts, now: number = Date.now()): ApiKeyStanding {
  if (
    k.revoked_at !== null ||
    (k.expires_at !== null && k.expires_at.getTime() <= now) ||
    k.user_status !== 'active' ||
    k.member_role === null
  ) {
    return 'dead';
  }
  if (k.org_suspended_at !== null) return 'org_suspended';
  if (
    k.creator_mfa_enabled_at === null &&
    rolesRequiringMfa(k.org_settings).includes(k.member_role)
  ) {
    return 'mfa_pending';
  }
  return 'usable';
}
