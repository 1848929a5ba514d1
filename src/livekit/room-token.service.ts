// Issuing a LiveKit room token: who may (the permission table, an active membership, a live login
// session, never a pending MFA step), which room (namespaced by org), what the token grants (by
// role) and says (the user's context as metadata), and the voice session it opens. The row and
// the signed token come out of one transaction: a token is never handed out without its row.
import type { Principal } from '../access/principal.ts';
import { tenantOf } from '../access/principal.ts';
import { lockMember } from '../access/standing.ts';
import { sessionStands } from '../auth/session.repository.ts';
import type { Database } from '../db/database.ts';
import type { VoiceSessionSource } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import { releaseVoiceSlots, takeVoiceSlot } from '../quotas/voice-slots.ts';
import type { ContextForToken } from './context.ts';
import { roomGrant } from './grants.ts';
import type { LiveKitServer } from './livekit-server.ts';
import { namespacedRoom } from './room-names.ts';
import { insertVoiceSession } from './voice-session.repository.ts';

export interface RoomTokenRequest {
  room_name?: string;
  participant_name?: string;
  agent_name?: string;
}

export interface IssuedRoomToken {
  livekit_token: string;
  livekit_url: string;
  room_name: string;
  session_id: string;
  expires_at: Date;
}

/** Participant attribute naming the voice session the token opened (webhooks read it back). */
export const SESSION_ATTRIBUTE = 'switchboard.voice_session_id';

export function createRoomTokens(deps: {
  database: Database;
  server: LiveKitServer;
  ttlSeconds: number;
  contextForToken: ContextForToken;
  quotas?: Quotas;
}) {
  const { database, server } = deps;
  return {
    async issue(
      p: Principal,
      input: RoomTokenRequest,
      source: VoiceSessionSource,
    ): Promise<IssuedRoomToken> {
      if (p.mfaPending) {
        throw new AppError('forbidden', 'Set up two-factor authentication before joining rooms');
      }
      const room = namespacedRoom(p.orgId, p.userId, input.room_name);
      const grant = roomGrant(p, room);
      const sessionId = newId();
      // The org's voice-session quota, before anything is signed (429 quota_exceeded).
      await takeVoiceSlot(deps.quotas, p.orgId, sessionId);
      const released = (err: unknown) =>
        releaseVoiceSlots(deps.quotas, p.orgId, [sessionId]).then(() => Promise.reject(err));
      return withTenant(database, tenantOf(p), async (tx) => {
        // The authenticator already refused revoked sessions, removed members and disabled users;
        // judging them again under the org's and the account's locks (src/access/standing.ts)
        // closes the gap to a removal, disable or suspension committed since, or running now.
        // The kill switch included: no room token for a suspended org, whoever asks.
        const standing = await lockMember(tx, p.orgId, p.userId);
        if (p.sessionId && !(await sessionStands(tx, p.sessionId))) {
          throw new AppError('unauthenticated', 'The session has ended');
        }
        const extras = await deps.contextForToken(tx, p.userId, p.orgId);
        const context = {
          user: { id: p.userId, name: standing.fullName },
          org: { id: standing.org.id, name: standing.org.name },
          role: p.role,
          preferences_digest: extras.preferences_digest,
          session_id: sessionId,
        };
        const metadata = JSON.stringify(context);
        const { token, expiresAt } = await server.mintToken({
          identity: p.userId,
          name: input.participant_name ?? standing.fullName ?? undefined,
          metadata,
          attributes: { [SESSION_ATTRIBUTE]: sessionId },
          grant,
          ttlSeconds: deps.ttlSeconds,
          agentName: input.agent_name,
          agentMetadata: metadata,
        });
        await insertVoiceSession(tx, {
          id: sessionId,
          org_id: p.orgId,
          user_id: p.userId,
          auth_session_id: p.sessionId ?? null,
          api_key_id: p.apiKeyId ?? null,
          room_name: room,
          source,
          token_expires_at: expiresAt,
        });
        return {
          livekit_token: token,
          livekit_url: server.url,
          room_name: room,
          session_id: sessionId,
          expires_at: expiresAt,
        };
      }).catch(released);
    },
  };
}

export type RoomTokens = ReturnType<typeof createRoomTokens>;
