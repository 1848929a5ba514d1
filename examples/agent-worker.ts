// A minimal Twilio media-stream agent worker: the other end of the TwiML <Connect><Stream> that
// Switchboard answers incoming calls with. It trusts a stream only once the media token Twilio
// passes on (start.customParameters.token) verifies against Switchboard's public JWKS:
//   - signed by a key of Switchboard's ring (EdDSA only; keys fetched from /.well-known/jwks.json),
//   - JOSE header `typ: media+jwt` (an access token, `at+jwt`, is refused),
//   - `iss` = Switchboard's JWT_ISSUER, `aud` = this worker's own public URL (the agent's media
//     stream URL), not expired,
//   - `sub` = Twilio's start.callSid (a token lifted from one call cannot open another call),
//   - `org` one of the orgs this worker serves (ORG_IDS): any org may name this URL as its agent's
//     media_stream_url, and Switchboard then signs genuine tokens for it, of that org.
// Anything else — no start, a start without a valid token, media before start — closes the
// socket with 1008 (policy violation) before a single audio frame is used.
//
// Run: SWITCHBOARD_URL=https://switchboard.example.com PUBLIC_URL=wss://agents.example.com/media \
//      ORG_IDS=<your org id> PORT=8080 npx tsx examples/agent-worker.ts
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { type WebSocket, WebSocketServer } from 'ws';

export interface AgentWorkerOptions {
  /** Port to listen on (0: any free port). */
  port: number;
  host?: string;
  /** Where Switchboard serves /.well-known/jwks.json. */
  switchboardUrl: string;
  /** Switchboard's JWT_ISSUER (default: switchboardUrl without a trailing slash). */
  issuer?: string;
  /**
   * This worker's public URL: exactly the agent's media_stream_url, the tokens' `aud` (or a
   * function of the port it listens on, for port 0).
   */
  publicUrl: string | ((port: number) => string);
  /**
   * The orgs whose calls this worker serves (their ids). A media_stream_url is not a secret and
   * any org may point its agent at it: Switchboard then signs genuine tokens for this URL, of
   * that org, so a worker that pins no org would serve (and pay for) another org's calls.
   */
  orgIds: readonly string[];
  /** Called once a stream's token has verified. */
  onStream?: (stream: VerifiedStream) => void;
}

export interface VerifiedStream {
  callSid: string;
  streamSid: string;
  orgId: string;
  agentId: string;
  direction: 'inbound' | 'outbound';
  socket: WebSocket;
}

export interface AgentWorker {
  port: number;
  publicUrl: string;
  close(): Promise<void>;
}

/** A stream that sends no valid `start` within this long is closed. */
const START_TIMEOUT_MS = 10_000;
/** Twilio's media messages are small (20 ms of audio); anything far larger is not Twilio. */
const MAX_MESSAGE_BYTES = 64 * 1024;

interface TwilioStart {
  event: 'start';
  streamSid?: string;
  start?: { callSid?: unknown; streamSid?: unknown; customParameters?: Record<string, unknown> };
}

export async function startAgentWorker(opts: AgentWorkerOptions): Promise<AgentWorker> {
  const issuer = opts.issuer ?? opts.switchboardUrl.replace(/\/+$/, '');
  // Fetched on first use, cached, and refetched when a token names a kid it does not know (a
  // rotated key): Switchboard publishes a new key before it signs with it.
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', opts.switchboardUrl));

  let audience = '';

  async function verify(token: unknown, callSid: unknown): Promise<JWTPayload | null> {
    if (typeof token !== 'string' || typeof callSid !== 'string') return null;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        typ: 'media+jwt',
        issuer,
        audience,
        algorithms: ['EdDSA'],
        requiredClaims: ['sub', 'exp', 'org', 'agent'],
      });
      if (payload.sub !== callSid) return null;
      return opts.orgIds.includes(String(payload.org)) ? payload : null;
    } catch {
      return null;
    }
  }

  const wss = new WebSocketServer({
    port: opts.port,
    host: opts.host,
    maxPayload: MAX_MESSAGE_BYTES,
  });
  wss.on('connection', (socket) => {
    let state: 'waiting' | 'verifying' | 'verified' = 'waiting';
    const refuse = (reason: string) => socket.close(1008, reason);
    const timer = setTimeout(() => refuse('no start'), START_TIMEOUT_MS);
    socket.on('close', () => clearTimeout(timer));
    socket.on('message', async (data, isBinary) => {
      let msg: { event?: unknown };
      try {
        msg = isBinary ? {} : JSON.parse(data.toString());
      } catch {
        return refuse('not json');
      }
      if (msg.event === 'connected') return;
      if (state === 'verified') {
        // Here a real worker feeds msg.media.payload (base64 mu-law, 8 kHz) to its agent.
        return;
      }
      // Twilio sends media right after start; it is dropped, never used, until the token checks out.
      if (state === 'verifying') return;
      if (msg.event !== 'start' || state !== 'waiting') return refuse('expected start');
      state = 'verifying';
      const start = (msg as TwilioStart).start ?? {};
      const claims = await verify(start.customParameters?.token, start.callSid);
      if (!claims) return refuse('invalid media token');
      clearTimeout(timer);
      state = 'verified';
      const streamSid = String(start.streamSid ?? (msg as TwilioStart).streamSid ?? '');
      // A mark tells Twilio (and a test) the worker has taken the stream.
      socket.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'verified' } }));
      opts.onStream?.({
        callSid: claims.sub as string,
        streamSid,
        orgId: claims.org as string,
        agentId: claims.agent as string,
        direction: claims.call_direction as 'inbound' | 'outbound',
        socket,
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const address = wss.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  audience = typeof opts.publicUrl === 'function' ? opts.publicUrl(port) : opts.publicUrl;
  return {
    port,
    publicUrl: audience,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

// Started directly (not imported): configure from the environment.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { SWITCHBOARD_URL, PUBLIC_URL, PORT, JWT_ISSUER, ORG_IDS } = process.env;
  const orgIds = (ORG_IDS ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (!SWITCHBOARD_URL || !PUBLIC_URL || orgIds.length === 0) {
    console.error(
      'Set SWITCHBOARD_URL, PUBLIC_URL (the agent media_stream_url) and ORG_IDS (the orgs served).',
    );
    process.exit(1);
  }
  const worker = await startAgentWorker({
    port: Number(PORT ?? 8080),
    switchboardUrl: SWITCHBOARD_URL,
    publicUrl: PUBLIC_URL,
    issuer: JWT_ISSUER,
    orgIds,
    onStream: (s) => console.log(`stream ${s.streamSid} for call ${s.callSid} verified`),
  });
  console.log(`agent worker listening on port ${worker.port}`);
}
