// Test support for device audio: a bare WebSocket server that hands each accepted socket to the
// conversations' stream handler with a context the test names (standing in for the realtime
// capability's authenticated routes), real `ws` clients, and ffmpeg/ffprobe to make and check
// audio.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import type { AudioStreamContext, AudioStreamHandler } from '../realtime/audio-stream.ts';

const run = promisify(execFile);

export interface Device {
  orgId: string;
  userId: string;
  deviceName?: string;
}

export interface DeviceServer {
  url(codec: 'opus' | 'pcm', device: Device): string;
  /** The server side of each accepted socket, by device name, with its abort controller. */
  sockets: Map<string, { socket: WebSocket; abort: AbortController }>;
  close(): Promise<void>;
}

/** ws://127.0.0.1:<port>/ws(_pcm)?org=…&user=…&device_name=… → handler(socket, context). */
export async function startDeviceServer(handler: AudioStreamHandler): Promise<DeviceServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1_048_576 });
  await once(wss, 'listening');
  const sockets = new Map<string, { socket: WebSocket; abort: AbortController }>();
  const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {} };
  wss.on('connection', (socket, req) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const userId = url.searchParams.get('user') ?? '';
    const deviceName = url.searchParams.get('device_name') ?? 'dev';
    const abort = new AbortController();
    sockets.set(deviceName, { socket, abort });
    const ctx: AudioStreamContext = {
      orgId: url.searchParams.get('org') ?? '',
      userId,
      deviceId: url.searchParams.get('device_id') ?? randomUUID(),
      clientId: `${userId.slice(-6)}-${deviceName}`,
      deviceName,
      codec: url.pathname === '/ws_pcm' ? 'pcm' : 'opus',
      signal: abort.signal,
      log: { ...silent, child: () => silent, level: 'silent' } as never,
    };
    handler(socket, ctx);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: (codec, d) =>
      `ws://127.0.0.1:${port}/${codec === 'pcm' ? 'ws_pcm' : 'ws'}?org=${d.orgId}&user=${d.userId}&device_name=${d.deviceName ?? 'dev'}`,
    sockets,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

export interface Client {
  ws: WebSocket;
  /** Every JSON message the server sent, in order. */
  messages: { type: string; data?: Record<string, unknown> }[];
  next(type: string): Promise<{ type: string; data?: Record<string, unknown> }>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A real ws client; resolves once the server's `ready` arrived. */
export async function connect(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  const messages: Client['messages'] = [];
  const waiters: { type: string; resolve: (m: Client['messages'][number]) => void }[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(data.toString());
    messages.push(m);
    for (const w of waiters.filter((x) => x.type === m.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const client: Client = {
    ws,
    messages,
    next(type) {
      const seen = messages.find((m) => m.type === type && !(m as { taken?: boolean }).taken);
      if (seen) {
        (seen as { taken?: boolean }).taken = true;
        return Promise.resolve(seen);
      }
      return new Promise((resolve) =>
        waiters.push({
          type,
          resolve: (m) => {
            (m as { taken?: boolean }).taken = true;
            resolve(m);
          },
        }),
      );
    },
    closed,
  };
  await client.next('ready');
  return client;
}

/** A Wyoming event as one text message (header only). */
export const event = (type: string, data: Record<string, unknown> = {}, payloadLength = 0) =>
  `${JSON.stringify({ type, data, ...(payloadLength ? { payload_length: payloadLength } : {}) })}\n`;

/** A Wyoming event as one binary message: header line, then the payload. */
export const framed = (type: string, payload: Buffer, data: Record<string, unknown> = {}) =>
  Buffer.concat([Buffer.from(event(type, data, payload.length)), payload]);

/** `seconds` of a sine tone as 16-bit little-endian PCM. */
export function sinePcm(seconds: number, rate = 16000, channels = 1, hz = 440): Buffer {
  const frames = Math.round(seconds * rate);
  const buf = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 12000);
    for (let c = 0; c < channels; c++) buf.writeInt16LE(v, (i * channels + c) * 2);
  }
  return buf;
}

/** Real Opus packets: ffmpeg encodes a sine tone into Ogg Opus; the audio packets are returned. */
export async function opusPackets(seconds: number, channels = 1): Promise<Buffer[]> {
  const encoded = run(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
      ...['-ac', String(channels), '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20'],
      ...['-f', 'ogg', 'pipe:1'],
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1_048_576 },
  ).catch((err) => {
    throw new Error(`Opus tests need ffmpeg with libopus (Debian: apt install ffmpeg): ${err}`);
  });
  return oggPackets((await encoded).stdout).slice(2); // skip OpusHead and OpusTags
}

/** The packets of an Ogg stream (one logical stream), reassembled from the pages' lacing. */
export function oggPackets(ogg: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  let at = 0;
  while (at + 27 <= ogg.length && ogg.toString('ascii', at, at + 4) === 'OggS') {
    const segments = ogg[at + 26] ?? 0;
    const table = ogg.subarray(at + 27, at + 27 + segments);
    let body = at + 27 + segments;
    for (const lace of table) {
      partial.push(ogg.subarray(body, body + lace));
      body += lace;
      if (lace < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    at = body;
  }
  return packets;
}

export interface Probe {
  codec_name: string;
  sample_rate: number;
  channels: number;
  duration: number;
}

/** ffprobe's view of a file (its first audio stream and the container's duration). */
export async function ffprobe(path: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'a:0'],
    ...['-show_entries', 'stream=codec_name,sample_rate,channels:format=duration'],
    ...['-of', 'json', path],
  ]);
  const j = JSON.parse(stdout);
  const s = j.streams[0];
  return {
    codec_name: s.codec_name,
    sample_rate: Number(s.sample_rate),
    channels: s.channels,
    duration: Number(j.format.duration),
  };
}

/** Resolves when the client has handed everything to the network (bufferedAmount 0). */
export async function flushed(ws: WebSocket): Promise<void> {
  while (ws.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 5));
}
