// The LiveKit capability as the rest of the app sees it: room tokens, the webhook, voice sessions
// and their background work (the expiry and revocation sweep, the revocation subscription).
// Without LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET every entry point but the stored
// voice-session history answers 503 livekit_not_configured, sign-up and login answers carry no
// LiveKit fields, and nothing runs in the background.
import type { Logger } from 'pino';
import type { Principal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import type { OpenedSession } from '../auth/session-response.ts';
import type { VoiceSessionSource } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import { type ContextForToken, noPreferencesDigest } from './context.ts';
import { createLiveKitServer, type LiveKitServer } from './livekit-server.ts';
import {
  createRoomTokens,
  type IssuedRoomToken,
  type RoomTokenRequest,
} from './room-token.service.ts';
import {
  createVoiceSessions,
  listVoiceSessionsFor,
  type VoiceSessionQuery,
} from './voice-session.service.ts';
import { createLiveKitWebhooks, type WebhookOutcome } from './webhook.service.ts';

/** How often the sweep runs (expired tokens, missed revocations, old webhook event ids). */
export const SWEEP_INTERVAL_MS = 30_000;

export interface LiveKitLoginFields {
  livekit_token?: string;
  livekit_url?: string;
}

export function createLiveKit(deps: {
  auth: AuthContext;
  logger?: Logger;
  /** The preferences digest for the token's metadata (the preferences API plugs in here). */
  contextForToken?: ContextForToken;
  /** Test-only: a LiveKit server stand-in (default: the SDK against LIVEKIT_URL). */
  server?: LiveKitServer;
  /** Concurrency quotas: a voice-session slot per room token, released when it ends. */
  quotas?: Quotas;
}) {
  const { auth, logger } = deps;
  const { config, database } = auth;
  const server =
    deps.server ?? (config.livekit.server ? createLiveKitServer(config.livekit.server) : undefined);
  function build(server: LiveKitServer) {
    const sessions = createVoiceSessions({ database, server, logger, quotas: deps.quotas });
    return {
      tokens: createRoomTokens({
        database,
        server,
        ttlSeconds: config.livekit.tokenTtlSeconds,
        contextForToken: deps.contextForToken ?? noPreferencesDigest,
        quotas: deps.quotas,
      }),
      webhooks: createLiveKitWebhooks({
        database,
        server,
        revokeJoinedIfEnded: sessions.revokeJoinedIfEnded,
        quotas: deps.quotas,
        logger,
      }),
      sessions,
    };
  }
  const parts = server && build(server);

  function configured() {
    if (!parts) throw new AppError('livekit_not_configured');
    return parts;
  }

  // Background work in flight (evictions), awaited on close and by tests.
  const pending = new Set<Promise<unknown>>();
  function track(work: Promise<unknown>, what: string): void {
    const p = work
      .catch((err) => logger?.warn({ err: { message: (err as Error).message } }, what))
      .finally(() => pending.delete(p));
    pending.add(p);
  }
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let unsubscribeSuspended: (() => void) | undefined;
  let unsubscribeApiKeys: (() => void) | undefined;

  async function issue(
    p: Principal,
    input: RoomTokenRequest,
    source: VoiceSessionSource,
  ): Promise<IssuedRoomToken> {
    const { tokens, sessions } = configured();
    const issued = await tokens.issue(p, input, source);
    // The login session ended while the token was being issued: its revocation may have run
    // before the row existed, so close it now (the sweep would, later).
    if (p.sessionId && auth.revocation.isRevoked(p.sessionId)) {
      await sessions.revokeFor([p.sessionId]);
    }
    return issued;
  }

  return {
    configured: parts !== undefined,

    issue,

    receiveWebhook(body: string, authorization: string | undefined): Promise<WebhookOutcome> {
      return configured().webhooks.receive(body, authorization);
    },

    /** Stored history: answered with or without LiveKit configured. */
    listSessions(p: Principal, q: VoiceSessionQuery) {
      return listVoiceSessionsFor(database, p, q);
    },

    /**
     * The document's contract: sign-up and login also answer a token for the user's personal
     * room. Never for a pending MFA step; without LiveKit, nothing. The session is already open
     * when this runs: a failure here is logged and the answer goes without the fields (the
     * client can ask POST /auth/token).
     */
    async sessionFields(
      s: OpenedSession,
      source: 'register' | 'login',
    ): Promise<LiveKitLoginFields> {
      if (!parts || s.mfaPending) return {};
      const principal: Principal = {
        userId: s.userId,
        orgId: s.orgId,
        role: s.role,
        superuser: s.superuser,
        sessionId: s.sessionId,
        via: 'bearer',
      };
      try {
        const t = await issue(principal, {}, source);
        return { livekit_token: t.livekit_token, livekit_url: t.livekit_url };
      } catch (err) {
        logger?.warn(
          { err: { message: (err as Error).message } },
          'no LiveKit token for the new session',
        );
        return {};
      }
    },

    /** Run the sweep now (the timer does every SWEEP_INTERVAL_MS). */
    sweep() {
      return configured().sessions.sweep();
    },

    /** Revocation and eviction work started so far has finished. */
    async idle(): Promise<void> {
      while (pending.size > 0) await Promise.all([...pending]);
    },

    start(): void {
      if (!parts || timer) return;
      unsubscribe = auth.revocation.onRevoked((ids) =>
        track(parts.sessions.revokeFor(ids), 'revoking voice sessions failed'),
      );
      // API keys revoked here (deleted, or with their creator): the voice sessions their tokens
      // minted close and their participants are removed (other instances' sweeps do the same
      // for keys revoked there).
      unsubscribeApiKeys = auth.apiKeyRevocations.onRevoked((ids) =>
        track(parts.sessions.revokeForApiKeys(ids), 'revoking voice sessions failed'),
      );
      // The kill switch: every participant of a suspended org's rooms, whoever's token it was.
      unsubscribeSuspended = auth.suspendedOrgs.onSuspended((orgIds) =>
        track(parts.sessions.revokeForOrgs(orgIds), 'revoking voice sessions failed'),
      );
      timer = setInterval(
        () => track(parts.sessions.sweep(), 'voice-session sweep failed'),
        SWEEP_INTERVAL_MS,
      );
      timer.unref();
    },

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      unsubscribe?.();
      unsubscribe = undefined;
      unsubscribeSuspended?.();
      unsubscribeSuspended = undefined;
      unsubscribeApiKeys?.();
      unsubscribeApiKeys = undefined;
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}

export type LiveKit = ReturnType<typeof createLiveKit>;
