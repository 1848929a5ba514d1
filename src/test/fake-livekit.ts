// A LiveKit-compatible fake on 127.0.0.1, for tests driving the real livekit-server-sdk
// (LIVEKIT_URL points at it). It speaks LiveKit's Twirp JSON API for the RoomService methods the
// app uses and a few more (RemoveParticipant, ListParticipants, GetParticipant, ListRooms,
// DeleteRoom): it checks the caller's bearer token with the SDK's TokenVerifier and the grants
// LiveKit requires (roomAdmin + the request's room; roomList; roomCreate), and answers errors as
// LiveKit's Twirp server does (`{code, msg}`, application/json, with Twirp's HTTP status). It keeps
// rooms and participants in memory; `join` is a client connecting with a room token (verified like
// LiveKit: signature, expiry, roomJoin, room, and — as RemoveParticipant's `revoke_token_ts` asks —
// no token issued before its participant was removed). It sends webhooks signed as LiveKit's
// server signs them (a JWT from the API key and secret, valid 5 minutes, whose `sha256` claim is
// the base64 SHA-256 of the body, in the Authorization header; body: the WebhookEvent as protobuf
// JSON, Content-Type application/webhook+json), made with the SDK's own AccessToken.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AccessToken,
  type ClaimGrants,
  ParticipantInfo,
  ParticipantInfo_State,
  Room,
  TokenVerifier,
  WebhookEvent,
  type WebhookEventNames,
} from 'livekit-server-sdk';

export interface FakeParticipant {
  sid: string;
  identity: string;
  name: string;
  metadata: string;
  attributes: Record<string, string>;
  joinedAt: number;
  /** The verified claims of the token it joined with. */
  claims: ClaimGrants;
}

export interface FakeRoom {
  sid: string;
  name: string;
  createdAt: number;
  participants: Map<string, FakeParticipant>;
  /** Agents the token that created the room dispatched (its room configuration). */
  dispatchedAgents: { agentName: string; metadata: string }[];
}

export interface SignedWebhook {
  body: string;
  authorization: string;
}

export interface FakeLiveKit {
  /** LIVEKIT_URL (http://127.0.0.1:port; the SDK speaks Twirp over it). */
  url: string;
  apiKey: string;
  apiSecret: string;
  /** The LIVEKIT_* variables for testConfig. */
  env: Record<string, string>;
  rooms: Map<string, FakeRoom>;
  /** Every Twirp request: method, HTTP status answered, room and identity asked about. */
  requests: { method: string; status: number; room?: string; identity?: string }[];
  /** Every webhook sent, with the status its receiver answered. */
  deliveries: { event: string; id: string; status: number; webhook: SignedWebhook }[];
  /** Where webhooks go (tests route them into app.inject); unset: they are only recorded. */
  deliver?: (w: SignedWebhook) => Promise<number>;
  /** A client connects with a room token; throws FakeJoinRefused as LiveKit would refuse it. */
  join(token: string): Promise<FakeParticipant>;
  /** The participant hangs up (participant_left). */
  leave(room: string, identity: string): Promise<void>;
  /** The room closes (participant_left for each, then room_finished). */
  finishRoom(room: string): Promise<void>;
  /** A webhook body and header signed as LiveKit signs them (the key and secret by default). */
  sign(event: WebhookEvent, opts?: { apiKey?: string; apiSecret?: string }): Promise<SignedWebhook>;
  /** Build, sign and send an event. */
  send(event: WebhookInit): Promise<number>;
  close(): Promise<void>;
}

type WebhookEventInit = ConstructorParameters<typeof WebhookEvent>[0] & object;
/** An event to send: its name, and any other WebhookEvent fields (id and createdAt default). */
export type WebhookInit = Partial<WebhookEventInit> & { event: WebhookEventNames };

export class FakeJoinRefused extends Error {
  override name = 'FakeJoinRefused';
}

const TWIRP = /^\/twirp\/livekit\.RoomService\/([A-Za-z]+)$/;
/** LiveKit's Twirp error codes and their HTTP statuses. */
const TWIRP_STATUS = {
  malformed: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  bad_route: 404,
  internal: 500,
} as const;

const rand = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

function twirpError(res: ServerResponse, code: keyof typeof TWIRP_STATUS, msg: string) {
  res.writeHead(TWIRP_STATUS[code], { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code, msg }));
}

function ok(res: ServerResponse, body: unknown) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

export async function startFakeLiveKit(
  opts: { apiKey?: string; apiSecret?: string } = {},
): Promise<FakeLiveKit> {
  const apiKey = opts.apiKey ?? `APIfake${randomBytes(4).toString('hex')}`;
  const apiSecret = opts.apiSecret ?? randomBytes(32).toString('base64url');
  const verifier = new TokenVerifier(apiKey, apiSecret);
  const rooms = new Map<string, FakeRoom>();
  /** room \n identity → tokens issued (nbf) before this second are refused. */
  const revokedBefore = new Map<string, number>();
  const requests: FakeLiveKit['requests'] = [];
  const deliveries: FakeLiveKit['deliveries'] = [];

  const participantInfo = (p: FakeParticipant) =>
    new ParticipantInfo({
      sid: p.sid,
      identity: p.identity,
      name: p.name,
      metadata: p.metadata,
      attributes: p.attributes,
      state: ParticipantInfo_State.ACTIVE,
      joinedAt: BigInt(p.joinedAt),
      joinedAtMs: BigInt(p.joinedAt * 1000),
    });
  const roomInfo = (r: FakeRoom) =>
    new Room({
      sid: r.sid,
      name: r.name,
      creationTime: BigInt(r.createdAt),
      numParticipants: r.participants.size,
    });

  async function sign(
    event: WebhookEvent,
    o: { apiKey?: string; apiSecret?: string } = {},
  ): Promise<SignedWebhook> {
    const body = event.toJsonString();
    // As LiveKit's server: a token valid 5 minutes carrying the body's SHA-256 (base64).
    const at = new AccessToken(o.apiKey ?? apiKey, o.apiSecret ?? apiSecret, { ttl: '5m' });
    at.sha256 = createHash('sha256').update(body).digest('base64');
    return { body, authorization: await at.toJwt() };
  }

  async function send(init: WebhookInit): Promise<number> {
    const event = new WebhookEvent({
      id: rand('EV_'),
      createdAt: BigInt(nowSeconds()),
      ...init,
    } as WebhookEventInit);
    // The SDK's WebhookEvent resets `event` after its constructor copied it.
    event.event = init.event;
    const webhook = await sign(event);
    const status = fake.deliver ? await fake.deliver(webhook) : 0;
    deliveries.push({ event: event.event, id: event.id, status, webhook });
    return status;
  }

  async function removeFromRoom(room: FakeRoom, identity: string) {
    const p = room.participants.get(identity);
    if (!p) return;
    room.participants.delete(identity);
    await send({
      event: 'participant_left',
      room: roomInfo(room),
      participant: participantInfo(p),
    });
  }

  async function twirp(
    method: string,
    req: IncomingMessage,
    res: ServerResponse,
    entry: FakeLiveKit['requests'][number],
  ) {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    let claims: ClaimGrants;
    try {
      if (!m) throw new Error('no token');
      claims = (await verifier.verify(m[1] as string)) as ClaimGrants;
    } catch {
      return twirpError(res, 'unauthenticated', 'invalid token');
    }
    const body = await readJson(req);
    if (!body) return twirpError(res, 'malformed', 'could not parse request');
    const roomName = typeof body.room === 'string' ? body.room : '';
    const identity = typeof body.identity === 'string' ? body.identity : undefined;
    entry.room = roomName;
    entry.identity = identity;
    const video = claims.video ?? {};
    const roomAdmin = video.roomAdmin === true && video.room === roomName && roomName !== '';
    const room = rooms.get(roomName);
    switch (method) {
      case 'RemoveParticipant': {
        if (!roomAdmin) return twirpError(res, 'permission_denied', 'permissions denied');
        if (!room) return twirpError(res, 'not_found', 'requested room does not exist');
        if (!identity || !room.participants.has(identity)) {
          return twirpError(res, 'not_found', 'participant not found');
        }
        // Tokens issued before now (+ LiveKit's one-minute leeway) no longer join as it.
        const ts = Number(body.revokeTokenTs ?? body.revoke_token_ts ?? 0) || nowSeconds() + 60;
        revokedBefore.set(`${roomName}\n${identity}`, ts);
        await removeFromRoom(room, identity);
        return ok(res, {});
      }
      case 'ListParticipants': {
        if (!roomAdmin) return twirpError(res, 'permission_denied', 'permissions denied');
        if (!room) return twirpError(res, 'not_found', 'requested room does not exist');
        return ok(res, {
          participants: [...room.participants.values()].map((p) => participantInfo(p).toJson()),
        });
      }
      case 'GetParticipant': {
        if (!roomAdmin) return twirpError(res, 'permission_denied', 'permissions denied');
        const p = identity ? room?.participants.get(identity) : undefined;
        if (!p) return twirpError(res, 'not_found', 'participant not found');
        return ok(res, participantInfo(p).toJson());
      }
      case 'ListRooms': {
        if (video.roomList !== true)
          return twirpError(res, 'permission_denied', 'permissions denied');
        return ok(res, { rooms: [...rooms.values()].map((r) => roomInfo(r).toJson()) });
      }
      case 'DeleteRoom': {
        if (video.roomCreate !== true) {
          return twirpError(res, 'permission_denied', 'permissions denied');
        }
        if (!room) return twirpError(res, 'not_found', 'requested room does not exist');
        await fake.finishRoom(roomName);
        return ok(res, {});
      }
      default:
        return twirpError(res, 'bad_route', `no handler for path "${req.url}"`);
    }
  }

  const server = createServer((req, res) => {
    const url = req.url ?? '';
    const m = TWIRP.exec(url);
    const entry: FakeLiveKit['requests'][number] = { method: m?.[1] ?? url, status: 0 };
    requests.push(entry);
    const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      entry.status = status;
      return writeHead(status, ...rest);
    }) as typeof res.writeHead;
    if (req.method !== 'POST' || !m)
      return twirpError(res, 'bad_route', `no handler for path "${url}"`);
    twirp(m[1] as string, req, res, entry).catch(() =>
      twirpError(res, 'internal', 'internal error'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const fake: FakeLiveKit = {
    url,
    apiKey,
    apiSecret,
    env: { LIVEKIT_URL: url, LIVEKIT_API_KEY: apiKey, LIVEKIT_API_SECRET: apiSecret },
    rooms,
    requests,
    deliveries,
    async join(token) {
      let claims: ClaimGrants;
      try {
        claims = (await verifier.verify(token)) as ClaimGrants;
      } catch (err) {
        throw new FakeJoinRefused(`invalid token: ${(err as Error).message}`);
      }
      const video = claims.video ?? {};
      const identity = claims.sub;
      if (!video.roomJoin || !video.room || !identity) {
        throw new FakeJoinRefused('permissions denied: no roomJoin grant for a room');
      }
      const revoked = revokedBefore.get(`${video.room}\n${identity}`);
      if (revoked !== undefined && (claims.nbf ?? 0) < revoked) {
        throw new FakeJoinRefused('token revoked: the participant was removed');
      }
      let room = rooms.get(video.room);
      if (!room) {
        const agents =
          (claims.roomConfig as unknown as { agents?: { agentName?: string; metadata?: string }[] })
            ?.agents ?? [];
        room = {
          sid: rand('RM_'),
          name: video.room,
          createdAt: nowSeconds(),
          participants: new Map(),
          dispatchedAgents: agents.map((a) => ({
            agentName: a.agentName ?? '',
            metadata: a.metadata ?? '',
          })),
        };
        rooms.set(room.name, room);
        await send({ event: 'room_started', room: roomInfo(room) });
      }
      // An identity is unique in a room: a second connection replaces the first.
      if (room.participants.has(identity)) await removeFromRoom(room, identity);
      const p: FakeParticipant = {
        sid: rand('PA_'),
        identity,
        name: claims.name ?? '',
        metadata: claims.metadata ?? '',
        attributes: claims.attributes ?? {},
        joinedAt: nowSeconds(),
        claims,
      };
      room.participants.set(identity, p);
      await send({
        event: 'participant_joined',
        room: roomInfo(room),
        participant: participantInfo(p),
      });
      return p;
    },
    async leave(roomName, identity) {
      const room = rooms.get(roomName);
      if (room) await removeFromRoom(room, identity);
    },
    async finishRoom(roomName) {
      const room = rooms.get(roomName);
      if (!room) return;
      for (const identity of [...room.participants.keys()]) await removeFromRoom(room, identity);
      rooms.delete(roomName);
      await send({ event: 'room_finished', room: roomInfo(room) });
    },
    sign,
    send,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
  return fake;
}
