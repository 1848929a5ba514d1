// Test support for device sockets: a stream handler that records what the gate handed over, and
// real `ws` clients that report how a socket ended up (accepted, or closed with code and reason).
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import type { AudioStreamContext, AudioStreamHandler } from '../realtime/audio-stream.ts';

export interface Recorded {
  ctx: AudioStreamContext;
  messages: { data: Buffer; binary: boolean }[];
  /** The abort reason once the server ended the socket. */
  aborted?: unknown;
}

/** A stream handler that sends `ready`, echoes nothing and records the context and messages. */
export function recordingStream(): { handler: AudioStreamHandler; seen: Recorded[] } {
  const seen: Recorded[] = [];
  const handler: AudioStreamHandler = (socket, ctx) => {
    const rec: Recorded = { ctx, messages: [] };
    seen.push(rec);
    ctx.signal.addEventListener('abort', () => {
      rec.aborted = ctx.signal.reason;
    });
    socket.on('message', (data, binary) => {
      rec.messages.push({ data: Buffer.from(data as Buffer), binary });
    });
    socket.send(JSON.stringify({ type: 'ready', data: { client_id: ctx.clientId } }));
  };
  return { handler, seen };
}

export interface Opened {
  ws: WebSocket;
  /** The `ready` message (accepted) */
  ready: Record<string, unknown>;
  /** Resolves when the server closes the socket. */
  closed: Promise<{ code: number; reason: string; at: number }>;
}

export type Outcome =
  | { accepted: true; socket: Opened }
  | { accepted: false; code: number; reason: string };

/** Opens a socket to `url` (ws://…) and waits for `ready` or a close, whichever comes first. */
export function openSocket(
  url: string,
  opts: { headers?: Record<string, string>; protocols?: string[]; timeoutMs?: number } = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers });
    let settled = false;
    let closedResolve: (v: { code: number; reason: string; at: number }) => void = () => {};
    const closed = new Promise<{ code: number; reason: string; at: number }>((r) => {
      closedResolve = r;
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(new Error(`no ready and no close from ${url}`));
    }, opts.timeoutMs ?? 10_000);
    ws.on('message', (data, binary) => {
      if (settled || binary) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        accepted: true,
        socket: { ws, ready: JSON.parse(data.toString()), closed },
      });
    });
    ws.on('close', (code, reason) => {
      closedResolve({ code, reason: reason.toString(), at: Date.now() });
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ accepted: false, code, reason: reason.toString() });
    });
    ws.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The socket, or a failure naming how it was refused. */
export async function mustOpen(
  url: string,
  opts?: Parameters<typeof openSocket>[1],
): Promise<Opened> {
  const o = await openSocket(url, opts);
  if (!o.accepted) throw new Error(`refused: ${o.code} ${o.reason}`);
  return o.socket;
}

/** The close code and reason of a refused socket, or a failure if it was accepted. */
export async function refusal(
  url: string,
  opts?: Parameters<typeof openSocket>[1],
): Promise<{ code: number; reason: string }> {
  const o = await openSocket(url, opts);
  if (o.accepted) {
    o.socket.ws.close();
    throw new Error('accepted');
  }
  return { code: o.code, reason: o.reason };
}

/** ms from `since` until the socket closed, with the close code and reason. */
export async function closedWithin(socket: Opened, since: number) {
  const c = await socket.closed;
  return { code: c.code, reason: c.reason, ms: c.at - since };
}

/** POST /api/realtime/tickets as `headers` (the answer, unchecked). */
export function requestTicket(
  app: FastifyInstance,
  headers: Record<string, string> = {},
  payload: Record<string, unknown> = {},
) {
  return app.inject({ method: 'POST', url: '/api/realtime/tickets', headers, payload });
}
