// The seam between the device-socket gate (this folder: credentials, devices, limits, revocation)
// and the stream protocol spoken after acceptance (src/conversations/). The gate authenticates,
// records the device, registers the socket, then hands it over: nothing else crosses.
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';

export interface AudioStreamContext {
  orgId: string;
  userId: string;
  /** devices.id of the (created or updated) device row */
  deviceId: string;
  /** `<last 6 characters of the user id>-<device name>` */
  clientId: string;
  deviceName: string;
  /** /ws carries Opus, /ws_pcm 16-bit little-endian PCM */
  codec: 'opus' | 'pcm';
  /** aborted when the server ends the socket (revocation, device revoke, shutdown); reason = close reason */
  signal: AbortSignal;
  log: FastifyBaseLogger;
}

/** Takes over an accepted socket: sends `ready` first, then speaks the stream protocol. */
export type AudioStreamHandler = (socket: WebSocket, ctx: AudioStreamContext) => void;
