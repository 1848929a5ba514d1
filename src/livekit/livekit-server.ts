// The one place that talks to LiveKit, through the official livekit-server-sdk only: room tokens
// (AccessToken), webhook verification (WebhookReceiver: the JWT in Authorization, signed with the
// API secret, carrying the sha256 of the exact body) and removing participants
// (RoomServiceClient, Twirp). Nothing here touches the database.
// The SDK is loaded on first use: a server that never mints a room token does not hold it.
import type {
  RoomServiceClient,
  VideoGrant,
  WebhookEvent,
  WebhookReceiver,
} from 'livekit-server-sdk';

type Sdk = typeof import('livekit-server-sdk');
let sdk: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => {
  sdk ??= import('livekit-server-sdk');
  return sdk;
};

export interface LiveKitServerConfig {
  url: string;
  apiKey: string;
  apiSecret: string;
}

export interface RoomTokenSpec {
  identity: string;
  name: string | undefined;
  metadata: string;
  attributes: Record<string, string>;
  grant: VideoGrant;
  ttlSeconds: number;
  /** Dispatch this agent into the room when the token creates it. */
  agentName?: string;
  agentMetadata?: string;
}

export interface LiveKitServer {
  url: string;
  /** A signed room token and when it expires. */
  mintToken(spec: RoomTokenSpec): Promise<{ token: string; expiresAt: Date }>;
  /** The verified event, or throws (forged, stale, body changed, missing header). */
  receiveWebhook(body: string, authorization: string | undefined): Promise<WebhookEvent>;
  /** Disconnect a participant; false when LiveKit does not know it (room or participant gone). */
  removeParticipant(room: string, identity: string): Promise<boolean>;
  /**
   * The attributes of the participant connected now under `identity` (its token's, unless a room
   * admin changed them); undefined when LiveKit does not know it.
   */
  participantAttributes(
    room: string,
    identity: string,
  ): Promise<Record<string, string> | undefined>;
}

const REQUEST_TIMEOUT_SECONDS = 10;

export function createLiveKitServer(cfg: LiveKitServerConfig): LiveKitServer {
  let receiver: WebhookReceiver | undefined;
  let rooms: RoomServiceClient | undefined;
  return {
    url: cfg.url,
    async mintToken(spec) {
      const { AccessToken, RoomAgentDispatch, RoomConfiguration } = await loadSdk();
      const at = new AccessToken(cfg.apiKey, cfg.apiSecret, {
        identity: spec.identity,
        name: spec.name,
        metadata: spec.metadata,
        attributes: spec.attributes,
        ttl: spec.ttlSeconds,
      });
      at.addGrant(spec.grant);
      if (spec.agentName) {
        at.roomConfig = new RoomConfiguration({
          agents: [
            new RoomAgentDispatch({
              agentName: spec.agentName,
              metadata: spec.agentMetadata ?? '',
            }),
          ],
        });
      }
      // jose stamps exp from its own clock in whole seconds; this is the same instant.
      const expiresAt = new Date((Math.floor(Date.now() / 1000) + spec.ttlSeconds) * 1000);
      return { token: await at.toJwt(), expiresAt };
    },
    async receiveWebhook(body, authorization) {
      if (!authorization) throw new Error('authorization header is empty');
      const { WebhookReceiver } = await loadSdk();
      receiver ??= new WebhookReceiver(cfg.apiKey, cfg.apiSecret);
      return receiver.receive(body, authorization);
    },
    async removeParticipant(room, identity) {
      const client = await roomService();
      try {
        await client.removeParticipant(room, identity);
        return true;
      } catch (err) {
        if (await isNotFound(err)) return false;
        throw err;
      }
    },
    async participantAttributes(room, identity) {
      const client = await roomService();
      try {
        return (await client.getParticipant(room, identity)).attributes;
      } catch (err) {
        if (await isNotFound(err)) return undefined;
        throw err;
      }
    },
  };

  async function roomService(): Promise<RoomServiceClient> {
    const { RoomServiceClient } = await loadSdk();
    rooms ??= new RoomServiceClient(httpUrl(cfg.url), cfg.apiKey, cfg.apiSecret, {
      requestTimeout: REQUEST_TIMEOUT_SECONDS,
    });
    return rooms;
  }
}

/** LiveKit does not know the room or the participant (gone already). */
async function isNotFound(err: unknown): Promise<boolean> {
  const { TwirpError } = await loadSdk();
  return err instanceof TwirpError && (err.code === 'not_found' || err.status === 404);
}

/** Twirp runs over HTTP(S) on the same host as the clients' WebSocket URL. */
function httpUrl(url: string): string {
  return url.replace(/^ws(s?):\/\//, 'http$1://');
}
