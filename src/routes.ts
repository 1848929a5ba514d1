// The route table: every route plugin of the app, what it serves and in which order it is mounted.
// A new capability adds a line here (never to app.ts). Start here to find the code behind a URL.
// Order matters twice: it is the order of the OpenAPI document, and the dashboard's catch-all
// comes last so it never shadows an API route.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { adminRoutes } from './admin/admin.routes.ts';
import { agentContextRoutes } from './agent-context/agent-context.routes.ts';
import { createAgentContextService } from './agent-context/agent-context.service.ts';
import { apiKeyRoutes } from './api-keys/api-key.routes.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { accountEmailRoutes } from './auth/account-email.routes.ts';
import { authRoutes } from './auth/auth.routes.ts';
import type { AuthContext } from './auth/auth-context.ts';
import { authCompatRoutes } from './auth/compat.routes.ts';
import { forwardAuthRoutes } from './auth/forward-auth.routes.ts';
import { jwksRoutes } from './auth/jwks.routes.ts';
import { newDeviceCheck } from './auth/new-device.ts';
import { sessionRoutes } from './auth/sessions.routes.ts';
import { afterSignUp } from './auth/sign-up-mails.ts';
import { callingRulesRoutes } from './calling-rules/calling-rules.routes.ts';
import { createCallingRulesService } from './calling-rules/calling-rules.service.ts';
import type { Config } from './config.ts';
import { createAudioStreamHandler } from './conversations/audio-stream.handler.ts';
import { conversationRoutes } from './conversations/conversation.routes.ts';
import { createConversationService } from './conversations/conversation.service.ts';
import { conversationRecovery } from './conversations/conversations.plugin.ts';
import type { Database } from './db/database.ts';
import { healthRoutes } from './health/health.routes.ts';
import { type RouteName, routeAliases } from './http/route-alias.ts';
import { livekitBackground } from './livekit/livekit.plugin.ts';
import { livekitRoutes } from './livekit/livekit.routes.ts';
import { createLiveKit } from './livekit/livekit.service.ts';
import { livekitWebhookRoutes } from './livekit/livekit-webhook.routes.ts';
import { mfaSecondFactor } from './mfa/login-challenge.ts';
import { mfaRoutes } from './mfa/mfa.routes.ts';
import { orgCompatRoutes } from './orgs/compat.routes.ts';
import { invitationRoutes } from './orgs/invitation.routes.ts';
import { orgRoutes } from './orgs/org.routes.ts';
import { promptRoutes } from './prompts/prompt.routes.ts';
import { createPromptService } from './prompts/prompt.service.ts';
import { quotaRoutes } from './quotas/quota.routes.ts';
import type { Quotas } from './quotas/quotas.service.ts';
import type { AudioStreamHandler } from './realtime/audio-stream.ts';
import { createDeviceSockets, realtimeRoutes } from './realtime/realtime.routes.ts';
import { suspensionRoutes } from './suspension/suspension.routes.ts';
import { createSuspension } from './suspension/suspension.service.ts';
import { createCallEnder } from './telephony/live-calls.ts';
import { mediaTokenRoutes } from './telephony/media-token.routes.ts';
import { createMediaTokenService } from './telephony/media-token.service.ts';
import { createMediaTokens } from './telephony/stream-token.ts';
import { twilioCredentialsRoutes } from './telephony/twilio-credentials.routes.ts';
import { createTwilioCredentialsService } from './telephony/twilio-credentials.service.ts';
import { twilioWebhookRoutes } from './telephony/webhooks.routes.ts';
import { meRoutes } from './users/me.routes.ts';
import { preferencesRoutes } from './users/preferences.routes.ts';
import { preferencesDigest } from './users/preferences.ts';
import { agentRoutes } from './voice/agents/agent.routes.ts';
import { createAgentService } from './voice/agents/agent.service.ts';
import { analyticsRoutes } from './voice/analytics/analytics.routes.ts';
import { createAnalyticsService } from './voice/analytics/analytics.service.ts';
import { callRoutes } from './voice/calls/call.routes.ts';
import { createCallService } from './voice/calls/call.service.ts';
import { messageAgentRoutes } from './voice/message-agents/message-agent.routes.ts';
import { createMessageAgentService } from './voice/message-agents/message-agent.service.ts';
import { messageRoutes } from './voice/messages/message.routes.ts';
import { createMessageService } from './voice/messages/message.service.ts';
import { phoneRoutes } from './voice/phones/phone.routes.ts';
import { createPhoneAssignment, createPhoneService } from './voice/phones/phone.service.ts';
import { scheduledCallRoutes } from './voice/scheduled-calls/scheduled-call.routes.ts';
import { createScheduledCallService } from './voice/scheduled-calls/scheduled-call.service.ts';
import { webRoutes } from './web/web.routes.ts';

/** The source documents' paths that are exactly one of ours: [alias, canonical route]. */
const COMPAT_ALIASES: readonly (readonly [RouteName, RouteName])[] = [
  ['POST /auth/register', 'POST /api/auth/register'],
  ['POST /auth/login', 'POST /api/auth/login'],
  ['POST /api/auth/verify-mfa', 'POST /api/auth/mfa/verify'],
  ['GET /api/auth/mfa/backup-codes', 'GET /api/auth/mfa'],
  ['PUT /api/users/me', 'PATCH /api/users/me'],
  ['GET /api/users', 'GET /api/orgs/current/members'],
];

export interface RouteDeps {
  config: Readonly<Config>;
  database: Database;
  redis?: Redis;
  auth: AuthContext;
  webDistDir?: string;
  /** Test-only override of the device-socket stream handler (AppDeps.audioStream). */
  audioStream?: AudioStreamHandler;
  /** Per-org concurrency quotas, checked where credentials are issued. */
  quotas: Quotas;
}

export async function registerRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { config, database, auth, quotas } = deps;
  // Records every route from here on, for the compatibility aliases at the end.
  const aliases = routeAliases(app);
  // The login flow's hooks: the MFA step after a correct password, the new-device notice after it.
  const login = { secondFactor: mfaSecondFactor(auth), afterLogin: newDeviceCheck(auth) };
  const agents = createAgentService(database, config);
  const analytics = createAnalyticsService(database);
  // LiveKit rooms. Token metadata carries the member's preferences digest (src/livekit/context.ts).
  const livekit = createLiveKit({
    auth,
    logger: app.log as unknown as Logger,
    contextForToken: async (tx, userId, orgId) => ({
      preferences_digest: await preferencesDigest(tx, userId, orgId),
    }),
    quotas,
  });

  // Platform                          /health, /ready · /.well-known/jwks.json
  await app.register(healthRoutes, {
    database,
    redis: deps.redis,
    timeoutMs: config.database.timeoutMs,
  });
  await app.register(jwksRoutes, { getKeyRing: () => auth.getKeyRing() });

  // Accounts and sessions             /api/auth/{register,login,refresh,password/change}
  await app.register(authRoutes, {
    auth,
    ...login,
    afterRegister: afterSignUp(auth),
    // The document's contract: a LiveKit token for the personal room with every new session.
    sessionExtras: (s, source) => livekit.sessionFields(s, source),
  });
  //                                   /api/auth/{logout,logout-all,sessions}
  await app.register(sessionRoutes, { auth });
  //                                   /api/users/me, /api/users/me/preferences
  await app.register(meRoutes, { database });
  await app.register(preferencesRoutes, { database });
  //                                   /api/auth/verify (forward-auth)
  await app.register(forwardAuthRoutes);
  //                                   /api/auth/mfa/*
  await app.register(mfaRoutes, { auth, afterLogin: login.afterLogin });
  //                                   /api/auth/email/*, /api/auth/password/{forgot,reset}
  await app.register(accountEmailRoutes, { auth });

  // Organizations and access control  /api/audit-logs, /api/admin/audit-logs · /api/prompts ·
  //                                   /api/orgs*, switch-org · invitations · /api/api-keys ·
  //                                   /api/admin/*
  await app.register(auditRoutes, { database });
  await app.register(promptRoutes, { prompts: createPromptService(database) });
  await app.register(orgRoutes, { auth });
  await app.register(invitationRoutes, { auth });
  await app.register(apiKeyRoutes, { auth });
  await app.register(adminRoutes, { auth });
  // Kill switch                       /api/admin/orgs/{id}/{suspend,resume}, /api/admin/suspended-orgs,
  //                                   /api/orgs/current/lockdown
  await app.register(suspensionRoutes, {
    suspension: createSuspension({
      auth,
      config,
      endCalls: createCallEnder(config, app.log as unknown as Logger),
    }),
  });
  //                                   /api/orgs/current/{quotas,usage}
  await app.register(quotaRoutes, { quotas });

  // Voice resources                   /api/phones (and /api/admin/phone-assignments), /api/agents,
  //                                   /api/message-agents, /api/scheduled-calls, /api/calls,
  //                                   /api/messages, /api/analytics
  await app.register(phoneRoutes, {
    phones: createPhoneService(database, config),
    assign: createPhoneAssignment(database),
  });
  await app.register(agentRoutes, { agents });
  await app.register(messageAgentRoutes, { messageAgents: createMessageAgentService(database) });
  await app.register(scheduledCallRoutes, {
    scheduledCalls: createScheduledCallService(database, config),
  });
  await app.register(callRoutes, { calls: createCallService(database) });
  await app.register(messageRoutes, { messages: createMessageService(database) });
  await app.register(analyticsRoutes, { analytics });
  // Outbound calling rules          /api/orgs/current/calling-window, /api/orgs/current/do-not-call
  await app.register(callingRulesRoutes, { callingRules: createCallingRulesService(database) });

  // Telephony                         /webhooks/twilio/{voice,status,sms} · /api/twilio/credentials
  //                                   /api/telephony/media-tokens/introspect
  // Media tokens are signed by the access-token key ring: the JWKS that verifies access tokens
  // verifies them too.
  const mediaTokens = createMediaTokens({
    getKeyRing: () => auth.getKeyRing(),
    issuer: config.auth.issuer,
    ttlSeconds: config.twilio.streamTokenTtlSeconds,
  });
  await app.register(twilioWebhookRoutes, {
    database,
    config,
    logger: app.log as unknown as Logger,
    mediaTokens,
    quotas,
  });
  await app.register(mediaTokenRoutes, {
    mediaTokens: createMediaTokenService(database, mediaTokens),
  });
  await app.register(twilioCredentialsRoutes, {
    credentials: createTwilioCredentialsService(database, config),
  });

  // LiveKit                           /api/livekit/token, /auth/token (the document's path) ·
  //                                   /api/voice-sessions · /webhooks/livekit
  await app.register(livekitRoutes, { livekit });
  await app.register(livekitWebhookRoutes, { livekit });
  await app.register(livekitBackground, { livekit });
  // Device audio                      GET /ws (Opus), GET /ws_pcm (PCM) — WebSockets ·
  //                                   /api/realtime/tickets · /api/devices
  // The gate (credentials, devices, limits, revocation) hands accepted sockets to the stream
  // handler (src/conversations/), which speaks the protocol and records each conversation.
  const audioStreams = createAudioStreamHandler({ database, config });
  // Finalise every conversation before the database closes.
  app.addHook('preClose', () => audioStreams.closeAll('server shutting down'));
  const deviceSockets = createDeviceSockets(config);
  app.decorate('deviceSockets', deviceSockets);
  await app.register(realtimeRoutes, {
    auth,
    config,
    registry: deviceSockets,
    stream: deps.audioStream ?? audioStreams,
    quotas,
  });
  //                                   /api/conversations, /{id}, /{id}/audio (the recovery
  //                                   sweep of unfinished recordings runs here)
  await app.register(conversationRoutes, {
    conversations: createConversationService(database, config.dataDir),
  });
  await app.register(conversationRecovery, { database, dataDir: config.dataDir });

  // Agent workers (API keys)         /api/agent/context, /api/agent/preferences/{identity}
  await app.register(agentContextRoutes, { agent: createAgentContextService(database) });

  // The source documents' paths: the same services and answers as their /api counterparts
  // (README's compatibility table lists each with its canonical route).
  //                                   /auth/jwt/login, /auth/cookie/login, /auth/logout · /auth/me
  await app.register(authCompatRoutes, { auth, ...login });
  await app.register(meRoutes, { database, path: '/auth/me' });
  //                                   /api/create_user (display_name; hidden from the OpenAPI document)
  await app.register(orgCompatRoutes, { auth });
  //                                   /agents*, /analytics/* (hidden from the OpenAPI document)
  await app.register(agentRoutes, { agents, base: '/agents' });
  await app.register(analyticsRoutes, { analytics, base: '/analytics' });
  // Aliases: the canonical route itself at a second method and path (handler, schema, hooks and
  // config, so the cross-site refusal and the MFA gate hold there unchanged), hidden from the
  // OpenAPI document.
  for (const [alias, canonical] of COMPAT_ALIASES) aliases.mount(alias, canonical);

  // The dashboard                     its assets and the HTML fallback. Last: a catch-all.
  await app.register(webRoutes, { distDir: deps.webDistDir });
}
