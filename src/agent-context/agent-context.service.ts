// The agent API: what an agent worker (a LiveKit room's agent, holding an API key of the org)
// may learn about the participant it talks to, and the one thing it may change — a remembered
// preference.
//
// Invariants:
// - API keys only. A person (any role, the superuser too) is refused: people read their own
//   account at /api/users/me and their preferences at /api/users/me/preferences.
// - The key's scope grants the permission (`agent:context`, `agent:preferences`), and its
//   creator's current role must hold it (managers and up: a worker sees any member of the org).
// - The participant (`identity` = user id) must be an active member, with an active account, of
//   the key's org; anyone else — another org's user, an unknown id, a removed member, a disabled
//   account — is the same 404, so a key cannot probe who exists elsewhere.
// - The work runs in the org service context (the org acting as itself, no person): row-level
//   security confines it to the key's org. The email is included only when the key also holds
//   `users:read`.
// - The latest voice sessions are the participant's own in this org (the voice_sessions policy
//   lets the org service context read its org's rows).
// - A preference write is checked, applied under the row lock and audited (key name, never the
//   value) in one transaction.
import { isPerson } from '../access/actor.ts';
import { findActiveMembership, findOrg } from '../access/membership.repository.ts';
import { can, type Permission, requirePermission } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';
import { recordAct } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import type { Org, Role, User, VoiceSession } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { expireUnused, listVoiceSessions } from '../livekit/voice-session.repository.ts';
import { withOrgService } from '../telephony/org-service.ts';
import {
  digestOf,
  type PreferencesView,
  readPreferences,
  setOnePreference,
} from '../users/preferences.ts';
import { findUserById } from '../users/user.repository.ts';

export interface AgentContext {
  user: User;
  org: Org;
  role: Role;
  /** Whether the key may see the participant's email (`users:read`). */
  withEmail: boolean;
  preferences: PreferencesView;
  digest: string | null;
  /** The participant's latest voice sessions in the org, newest first. */
  voiceSessions: VoiceSession[];
}

/** How many of the participant's latest voice sessions the context carries. */
export const CONTEXT_VOICE_SESSIONS = 5;

function requireAgentKey(p: Principal, permission: Permission): void {
  if (isPerson(p))
    throw new AppError(
      'forbidden',
      `The agent API is for agent workers: use an API key with the ${permission} scope`,
    );
  requirePermission(p, permission);
}

/** The participant: an active member, with an active account, of the key's org; else 404. */
async function participant(tx: Tx, orgId: string, identity: string) {
  const membership = await findActiveMembership(tx, orgId, identity);
  const user = membership ? await findUserById(tx, identity) : undefined;
  if (!membership || user?.status !== 'active') throw notFound('member of this organization');
  return { membership, user };
}

export function createAgentContextService(database: Database) {
  return {
    async context(p: Principal, identity: string): Promise<AgentContext> {
      requireAgentKey(p, 'agent:context');
      return withOrgService(database, p.orgId, async (tx) => {
        const { membership, user } = await participant(tx, p.orgId, identity);
        const org = await findOrg(tx, p.orgId);
        if (!org) throw notFound('organization');
        const preferences = await readPreferences(tx, p.orgId, identity);
        // Tokens that expired unused show as such (as on GET /api/voice-sessions).
        await expireUnused(tx, new Date(), p.orgId);
        const voiceSessions = await listVoiceSessions(tx, {
          orgId: p.orgId,
          userId: identity,
          limit: CONTEXT_VOICE_SESSIONS,
        });
        return {
          user,
          org,
          role: membership.role,
          withEmail: can(p, 'members:read'),
          preferences,
          digest: digestOf(preferences.preferences),
          voiceSessions,
        };
      });
    },

    async setPreference(
      p: Principal,
      identity: string,
      entry: { key: string; value: string | null },
      meta: RequestMeta,
    ): Promise<PreferencesView & { digest: string | null }> {
      requireAgentKey(p, 'agent:preferences');
      return withOrgService(database, p.orgId, async (tx) => {
        await participant(tx, p.orgId, identity);
        const out = await setOnePreference(tx, p.orgId, identity, entry.key, entry.value);
        if (out.changed) {
          await recordAct(tx, meta, p, {
            action: entry.value === null ? 'preferences.remove' : 'preferences.set',
            target_type: 'user',
            target_id: identity,
            metadata: { key: entry.key, api_key_id: p.apiKeyId ?? null },
          });
        }
        return { ...out, digest: digestOf(out.preferences) };
      });
    },
  };
}

export type AgentContextService = ReturnType<typeof createAgentContextService>;
