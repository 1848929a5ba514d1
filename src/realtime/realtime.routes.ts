// Device audio: GET /ws (Opus) and GET /ws_pcm (PCM) — the WebSocket gate — plus
// POST /api/realtime/tickets, GET /api/devices and DELETE /api/devices/{client_id}.
//
// A socket is always accepted, then either closed at once with a reason (1008 refused, 1013 try
// again later) or handed, authenticated and registered, to the stream handler (the `stream`
// option: src/conversations/ speaks the protocol from `ready` on). Registered sockets close with
// 1008 when their session ends (the revocation list: at once here, at the next poll elsewhere;
// a session that ran out of lifetime or idleness: at the watcher's next look everywhere),
// when their device is revoked or their API key stops working (here at once; elsewhere at the
// watcher's next look, every REVOCATION_POLL_MS), and with 1001 when the app closes.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import type { WebSocket } from 'ws';
import { requirePrincipal } from '../access/principal.ts';
import { createApiKeyAuthenticator } from '../api-keys/authenticate-api-key.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import type { Config } from '../config.ts';
import type { Device, DeviceCodec } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED, SOCKET_GATE } from '../http/route-config.ts';
import { NoContent, optionalBody, responses, Timestamp } from '../http/schemas.ts';
import { createRecentSet, type RecentSet } from '../infra/recent-set.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import { takeSocketSlot } from '../quotas/socket-slots.ts';
import type { AudioStreamHandler } from './audio-stream.ts';
import { closeReason } from './close-reason.ts';
import { CLIENT_ID_PATTERN, DEVICE_NAME_PATTERN, sanitizeDeviceName } from './device-name.ts';
import {
  DEVICE_REVOKED,
  deviceSeen,
  findEnded,
  issueTicket,
  KEY_CLOSE_REASON,
  listDevices,
  openDevice,
  returnTicket,
  revokeDevice,
  sessionInOrg,
} from './devices.ts';
import { authenticateSocket, type GateDeps, ORG_SUSPENDED, type SocketHolder } from './gate.ts';
import { handshakeProblem } from './handshake.ts';
import { createSocketRegistry, type LiveSocket, type SocketRegistry } from './socket-registry.ts';

export interface RealtimeOptions {
  auth: AuthContext;
  config: Readonly<Config>;
  /** This instance's live device sockets (createDeviceSockets), decorated on the app by routes.ts. */
  registry: SocketRegistry;
  /** Takes over each accepted socket (the stream protocol). */
  stream: AudioStreamHandler;
  /** How long shutdown waits for sockets to answer the 1001 close before cutting them. */
  closeGraceMs?: number;
  /** Concurrency quotas: a device-socket slot per accepted socket, across instances. */
  quotas?: Quotas;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's live device sockets (tests and the bench read it). */
    deviceSockets: SocketRegistry;
  }
}

const REVOKED = 'revoked';
/** Longer than any wait in the gate; the watcher's poll covers the rest. */
const DEVICES_REVOKED_REMEMBER_MS = 5 * 60_000;
const TRY_LATER = 'try again later';

const DeviceOut = Type.Object(
  {
    client_id: Type.String({ description: '`<last 6 characters of the user id>-<name>`' }),
    name: Type.String({ description: 'The sanitised device name' }),
    codec: Type.Union([Type.Literal('opus'), Type.Literal('pcm')], {
      description: 'Of its latest socket: `opus` (/ws) or `pcm` (/ws_pcm)',
    }),
    first_seen_at: Timestamp,
    last_seen_at: Timestamp,
    revoked_at: Type.Union([Timestamp, Type.Null()], {
      description: 'Set once revoked; a revoked device stays refused',
    }),
  },
  { title: 'Device' },
);

function deviceJson(d: Device) {
  return {
    client_id: d.client_id,
    name: d.name,
    codec: d.codec,
    first_seen_at: d.first_seen_at.toISOString(),
    last_seen_at: d.last_seen_at.toISOString(),
    revoked_at: d.revoked_at?.toISOString() ?? null,
  };
}

/** Whether the request came by Node's 'upgrade' event (Node sets `upgrade`; its typings omit it). */
function isUpgrade(request: FastifyRequest): boolean {
  return (request.raw as { upgrade?: boolean }).upgrade === true;
}

/** The registry of this instance's device sockets, with the configured per-instance limits. */
export function createDeviceSockets(config: Readonly<Config>): SocketRegistry {
  return createSocketRegistry({
    perUser: config.realtime.maxSocketsPerUser,
    perOrg: config.realtime.maxSocketsPerOrg,
  });
}

const plugin: FastifyPluginAsyncTypebox<RealtimeOptions> = async (app, opts) => {
  // Listening for upgrades means Node no longer hangs up on an upgrade request to a route that
  // is not a socket (or one refused over HTTP before the upgrade, like a 429): the answer is
  // written to the raw socket, which nothing would ever close, so shutdown would wait on it.
  // Hang up once answered — for every route, hence this plugin is not encapsulated.
  // Synchronous (done-style): it runs on every request.
  app.addHook('onResponse', (request, _reply, done) => {
    if (isUpgrade(request)) request.raw.socket?.destroy();
    done();
  });
  // The sockets in a scope of their own: @fastify/websocket upgrades (and at once closes) an
  // upgrade request to ANY route of the scope it is registered in, so the HTTP routes below stay
  // outside it and answer an upgrade like any other request.
  // Devices revoked on this instance, for sockets still in the gate when it happened (the
  // watcher's poll covers older revokes and other instances').
  const scoped = { ...opts, devicesRevokedHere: createRecentSet(DEVICES_REVOKED_REMEMBER_MS) };
  await app.register(socketGate, scoped);
  await app.register(deviceApi, scoped);
};

/** What both scopes of the plugin share. */
type ScopedOptions = RealtimeOptions & { devicesRevokedHere: RecentSet };

export const realtimeRoutes = fp(plugin, { name: 'realtime' });

const socketGate: FastifyPluginAsyncTypebox<ScopedOptions> = async (app, opts) => {
  const { auth, config, registry, devicesRevokedHere } = opts;
  const database = auth.database;
  const gate: GateDeps = {
    auth,
    origin: new URL(config.publicUrl).origin,
    apiKey: createApiKeyAuthenticator(auth),
  };
  const graceMs = opts.closeGraceMs ?? 2000;

  await app.register(websocket, {
    options: {
      maxPayload: config.realtime.maxFrameBytes,
      // `Sec-WebSocket-Protocol: bearer, <token>` is answered with `bearer` (the token is not a
      // protocol); a client offering anything else gets no subprotocol.
      handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false),
    },
    // ws closes an oversized message with 1009 and a protocol error with 1002 itself, then
    // reports it here: note it and let the close handshake finish (no terminate).
    errorHandler: (err, _socket, request) => {
      request.log.info({ err: { message: err.message } }, 'device socket error');
    },
    preClose: async function closeDeviceSockets() {
      await closeEverything();
    },
  });

  async function closeEverything() {
    stopWatching();
    const wss = app.websocketServer;
    // Registered sockets abort their stream first (the handler finishes its files), then close.
    await Promise.all([
      registry.closeAll(graceMs),
      // Sockets still in the gate, not registered yet.
      new Promise<void>((resolve) => {
        const rest = [...wss.clients].filter((c) => c.readyState === c.OPEN);
        for (const c of rest) c.close(1001, 'server shutting down');
        if (rest.length === 0) return resolve();
        const t = setTimeout(() => {
          for (const c of rest) c.terminate();
          resolve();
        }, graceMs);
        t.unref();
        let left = rest.length;
        for (const c of rest) {
          c.once('close', () => {
            if (--left === 0) {
              clearTimeout(t);
              resolve();
            }
          });
        }
      }),
    ]);
  }

  // Revocation -------------------------------------------------------------------------------
  // At once, never after a read: a suspension ended its org's sessions too, and its sockets hear
  // why (`org suspended`, README kill switch) from the revocation itself (endedBySuspension) or
  // from the org being known suspended here, whichever of the two polls arrives first elsewhere.
  const unsubscribe = auth.revocation.onRevoked((ids) => {
    const ended = new Set(ids);
    const hit = (s: LiveSocket) => s.sessionId !== undefined && ended.has(s.sessionId);
    const bySuspension = (s: LiveSocket) =>
      auth.suspendedOrgs.isSuspended(s.orgId) ||
      (s.sessionId !== undefined && auth.revocation.endedBySuspension(s.sessionId));
    registry.closeWhere((s) => hit(s) && bySuspension(s), 1008, ORG_SUSPENDED);
    registry.closeWhere((s) => hit(s) && !bySuspension(s), 1008, REVOKED);
  });

  // API keys revoked here (deleted, or with their creator): their sockets at once; those revoked
  // on other instances at the watcher's next look, below.
  const unsubscribeApiKeys = auth.apiKeyRevocations.onRevoked((ids) => {
    const dead = new Set(ids);
    registry.closeWhere((s) => s.apiKeyId !== undefined && dead.has(s.apiKeyId), 1008, REVOKED);
  });

  // The kill switch: every socket of a suspended org, whoever opened it (session, ticket or API
  // key), here at once and on the other instances at their next suspended-org poll.
  const unsubscribeSuspended = auth.suspendedOrgs.onSuspended((orgIds) => {
    const cut = new Set(orgIds);
    registry.closeWhere((s) => cut.has(s.orgId), 1008, ORG_SUSPENDED);
  });

  // Other instances' device revokes, API keys that stopped working and sessions that ran out
  // (their lifetime, or idleness: nobody revokes those): looked up for the live sockets of this
  // instance, in the revocation list's cadence (one query each, only with sockets).
  let watchTimer: NodeJS.Timeout | undefined;
  let watching: Promise<void> | undefined;
  async function watchOnce() {
    const live = registry.all();
    if (live.length === 0) return;
    const ids = <K extends 'deviceId' | 'apiKeyId' | 'sessionId'>(k: K) => [
      ...new Set(live.flatMap((s) => (s[k] === undefined ? [] : [s[k] as string]))),
    ];
    const ended = await findEnded(database, {
      deviceIds: ids('deviceId'),
      apiKeyIds: ids('apiKeyId'),
      sessions: live.flatMap((s) =>
        s.sessionId === undefined ? [] : [{ sessionId: s.sessionId, orgId: s.orgId }],
      ),
    });
    registry.closeWhere((s) => ended.devices.has(s.deviceId), 1008, DEVICE_REVOKED);
    // A key's sockets with the reason a new connect with it gets (revoked, org suspended, mfa
    // pending): the same rule, so a socket never outlives what refuses the key elsewhere.
    for (const reason of new Set(ended.keys.values())) {
      registry.closeWhere(
        (s) => s.apiKeyId !== undefined && ended.keys.get(s.apiKeyId) === reason,
        1008,
        reason,
      );
    }
    // A session's sockets likewise: `org suspended` when the suspension ended it, else `revoked`.
    for (const reason of new Set(ended.sessions.values())) {
      registry.closeWhere(
        (s) => s.sessionId !== undefined && ended.sessions.get(s.sessionId) === reason,
        1008,
        reason,
      );
    }
    // A person's socket in an org whose MFA policy now pins its session to enrolment: what a new
    // connect with the session gets (openDevice), as the session's next refresh gets enrolment.
    registry.closeWhere(
      (s) =>
        s.sessionId !== undefined &&
        !ended.sessions.has(s.sessionId) &&
        ended.pinned.has(sessionInOrg(s.sessionId, s.orgId)),
      1008,
      KEY_CLOSE_REASON.mfa_pending,
    );
  }
  function stopWatching() {
    if (watchTimer) clearInterval(watchTimer);
    watchTimer = undefined;
    unsubscribe();
    unsubscribeApiKeys();
    unsubscribeSuspended();
  }
  app.addHook('onReady', async () => {
    watchTimer = setInterval(() => {
      watching ??= watchOnce()
        .catch((err) =>
          app.log.warn({ err: { message: err.message } }, 'device socket watch failed'),
        )
        .finally(() => {
          watching = undefined;
        });
    }, config.auth.revocationPollMs);
    watchTimer.unref();
  });
  app.addHook('onClose', async () => {
    stopWatching();
    await watching;
  });

  // The gate ------------------------------------------------------------------------------------
  /**
   * Why a holder accepted by the gate may no longer open a socket: its session, API key or device
   * was revoked, or its org suspended, while the gate was waiting. The revocation listeners (and
   * a device revoke here) reach registered sockets only, so a socket still in the gate is checked
   * before it registers.
   */
  function endedMeanwhile(holder: SocketHolder, deviceId: string): string | null {
    if (auth.suspendedOrgs.isSuspended(holder.orgId)) return ORG_SUSPENDED;
    if (devicesRevokedHere.has(deviceId)) return DEVICE_REVOKED;
    if (holder.sessionId !== undefined && auth.revocation.isRevoked(holder.sessionId)) {
      return auth.revocation.endedBySuspension(holder.sessionId) ? ORG_SUSPENDED : REVOKED;
    }
    if (holder.apiKeyId !== undefined && auth.apiKeyRevocations.isRevoked(holder.apiKeyId)) {
      return REVOKED;
    }
    return null;
  }

  async function accept(socket: WebSocket, request: FastifyRequest, codec: DeviceCodec) {
    // Hold the client's first messages until the stream handler listens.
    socket.pause();
    const close = (code: number, reason: string) => {
      socket.resume();
      if (socket.readyState === socket.OPEN) socket.close(code, closeReason(reason));
    };
    const log = request.log;
    // A redeemed ticket whose socket is refused with 1013 opened nothing: it is given back, so
    // "try again later" can be tried with it (until the socket registers).
    let ticketId: string | undefined;
    // Given back before the close, so a retry at once finds it.
    const tryLater = async () => {
      if (ticketId) {
        await returnTicket(database, ticketId).catch((err: Error) =>
          log.warn({ err: { message: err.message } }, 'device ticket not given back'),
        );
      }
      close(1013, TRY_LATER);
    };
    try {
      const result = await authenticateSocket(gate, request);
      if (!result.ok) {
        log.info({ reason: result.reason }, 'device socket refused');
        return close(result.code, result.reason);
      }
      const holder = result.holder;
      ticketId = holder.ticketId;
      const asked = (request.query as Record<string, unknown>).device_name;
      const deviceName =
        typeof asked === 'string' || !holder.ticketDevice
          ? sanitizeDeviceName(typeof asked === 'string' ? asked : undefined)
          : holder.ticketDevice;
      if (holder.ticketDevice && deviceName !== holder.ticketDevice) {
        return close(1008, 'wrong device');
      }
      if (!registry.fits(holder.orgId, holder.userId)) return tryLater();

      const opened = await openDevice(
        database,
        holder,
        deviceName,
        codec,
        config.realtime.maxDevicesPerUser,
      );
      if (!opened.ok) {
        log.info({ reason: opened.reason }, 'device socket refused');
        return close(1008, opened.reason);
      }
      // The client may have left while the gate was waiting.
      if (socket.readyState !== socket.OPEN) return;
      const cut = endedMeanwhile(holder, opened.device.id);
      if (cut) return close(1008, cut);
      const device = opened.device;
      const controller = new AbortController();
      const entry = {
        socket,
        orgId: holder.orgId,
        userId: holder.userId,
        deviceId: device.id,
        clientId: device.client_id,
        sessionId: holder.sessionId,
        apiKeyId: holder.apiKeyId,
        controller,
      };
      // The org's device-socket quota (every instance together); released when the socket closes.
      const slot = await takeSocketSlot(opts.quotas, holder.orgId);
      if (!slot) {
        log.info({ reason: 'quota exceeded' }, 'device socket refused');
        return tryLater();
      }
      // Again once the slot is taken: nothing awaits between this check and the registration.
      const cutAfterSlot = endedMeanwhile(holder, device.id);
      if (cutAfterSlot) {
        close(1008, cutAfterSlot);
        slot.release().catch(() => {}); // its lease expires by itself otherwise
        return;
      }
      if (socket.readyState !== socket.OPEN || !registry.add(entry)) {
        await slot.release();
        return tryLater();
      }
      ticketId = undefined; // registered: the ticket has opened its socket
      socket.once('close', () => {
        slot.release().catch(() => {});
        deviceSeen(database, holder, device.id).catch((err) =>
          log.warn({ err: { message: err.message } }, 'device last_seen_at not recorded'),
        );
      });
      log.info({ client_id: device.client_id, codec, via: holder.via }, 'device socket accepted');
      opts.stream(socket, {
        orgId: holder.orgId,
        userId: holder.userId,
        deviceId: device.id,
        clientId: device.client_id,
        deviceName: device.name,
        codec,
        signal: controller.signal,
        log,
      });
      socket.resume();
    } catch (err) {
      log.error({ err: { message: (err as Error).message } }, 'device socket gate failed');
      await tryLater();
    }
  }

  for (const [url, codec] of [
    ['/ws', 'opus'],
    ['/ws_pcm', 'pcm'],
  ] as const) {
    app.route({
      method: 'GET',
      url,
      // The MFA gate would answer an enrolment-only token with an HTTP 403 before the upgrade,
      // the request authenticator a rate-limited key with a 429: the socket gate refuses them
      // itself, with a close frame devices understand.
      config: { ...MFA_PENDING_ALLOWED, ...SOCKET_GATE },
      schema: { hide: true },
      // A malformed handshake is answered here, as a problem document, before the socket gate
      // reads a credential (a ticket would be spent; the global authenticator has already looked
      // up an Authorization header's API key, as for any request) and before `ws` would answer it
      // with its own page.
      onRequest: async (request) => {
        if (!isUpgrade(request)) return;
        const problem = handshakeProblem(request.headers);
        if (problem) throw problem;
      },
      wsHandler: (socket, request) => accept(socket, request, codec),
      // Without an upgrade (a plain GET): the route has nothing for it, said as every route does.
      handler: async () => {
        throw new AppError(
          'route_not_found',
          `${url} is a WebSocket: open it with a WebSocket handshake (Upgrade: websocket)`,
        );
      },
    });
  }
};

// Tickets and devices --------------------------------------------------------------------------
const deviceApi: FastifyPluginAsyncTypebox<ScopedOptions> = async (app, opts) => {
  const { config, registry, devicesRevokedHere } = opts;
  const database = opts.auth.database;
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

  app.post(
    '/api/realtime/tickets',
    {
      // No body is the same as `{}`: every field is optional.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        operationId: 'createRealtimeTicket',
        tags: ['realtime'],
        security,
        summary: 'A single-use ticket to open one device audio socket',
        description: `For browsers, which cannot set headers on a WebSocket: open \`/ws?ticket=…\` or \`/ws_pcm?ticket=…\` within \`expires_in\` seconds (REALTIME_TICKET_TTL_SECONDS, at most 60). The ticket works once, on any instance (a socket refused with 1013, try again later, gives it back for the retry), for this user, org and device name only; the socket closes when the session (or API key) that asked for it ends. People, and API keys holding \`audio:write\`; a superuser acting in another org through X-Switchboard-Org gets 403 (the socket gate refuses that act too). Each person, and each API key, may have \`RATE_LIMIT_REALTIME_TICKET\` tickets (default 60 a minute); beyond it, 429 with Retry-After.`,
        body: optionalBody(
          Type.Object(
            {
              device_name: Type.Optional(
                Type.String({
                  maxLength: 256,
                  description:
                    "Sanitised like the socket's `device_name` (lowercased; spaces, `_` and `.` → `-`; other characters dropped; at most 32); default `device`",
                }),
              ),
            },
            { additionalProperties: false },
          ),
        ),
        response: responses(
          {
            201: Type.Object(
              {
                ticket: Type.String({ description: 'Shown only here; only its hash is stored' }),
                expires_in: Type.Integer({ description: 'Seconds' }),
                expires_at: Timestamp,
                device_name: Type.String({ pattern: DEVICE_NAME_PATTERN }),
              },
              { title: 'RealtimeTicket' },
            ),
          },
          [401, 403, 429],
        ),
      },
    },
    async (request, reply) => {
      const p = requirePrincipal(request);
      const ttl = config.realtime.ticketTtlSeconds;
      const issued = await issueTicket(
        opts.auth,
        p,
        sanitizeDeviceName(request.body?.device_name),
        ttl,
      );
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({
        ticket: issued.ticket,
        expires_in: ttl,
        expires_at: issued.expiresAt.toISOString(),
        device_name: issued.deviceName,
      });
    },
  );

  app.get(
    '/api/devices',
    {
      schema: {
        operationId: 'listDevices',
        tags: ['realtime'],
        security,
        summary: 'Your audio devices in this org',
        description:
          'Every device that opened an accepted socket as you in the current org, most recently seen first (revoked ones too), a page at a time. People only (API keys: 403).',
        querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
        response: responses({ 200: PageOf(DeviceOut) }, [400, 401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, cursor } = request.query;
      const r = await listDevices(database, requirePrincipal(request), { limit, cursor });
      return { items: r.items.map(deviceJson), next_cursor: r.next_cursor };
    },
  );

  app.delete(
    '/api/devices/:client_id',
    {
      schema: {
        operationId: 'revokeDevice',
        tags: ['realtime'],
        security,
        summary: 'Revoke one of your devices',
        description:
          'Closes its live sockets (1008 `device revoked`) at once on this instance and within REVOCATION_POLL_MS on the others, and refuses it from then on: a revoked device stays revoked. Audited (`device.revoke`). Revoking a revoked device changes nothing.',
        params: Type.Object({ client_id: Type.String({ pattern: CLIENT_ID_PATTERN }) }),
        response: responses({ 204: NoContent }, [401, 403, 404]),
      },
    },
    async (request, reply) => {
      await revokeDevice(
        database,
        registry,
        devicesRevokedHere,
        requirePrincipal(request),
        request.params.client_id,
        requestMeta(request),
      );
      return reply.code(204).send(null);
    },
  );
};
