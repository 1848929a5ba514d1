// A minimal device client for Switchboard's device audio: streams 16-bit PCM to /ws_pcm in the
// Wyoming framing the server documents (README, "Device audio: stream protocol"):
//   server → {"type":"ready"}; client → audio-start {rate,width,channels}; audio-chunk events
//   (a JSON header with payload_length as a text message, then the bytes as a binary message);
//   audio-stop; server → {"type":"audio-stopped","data":{conversation_id,bytes,duration_ms}}.
// The audio is a WAV file (PCM 16-bit, mono or stereo) or, without one, a generated tone. The
// access token goes in the Authorization header, never in the URL.
//
// Run: SWITCHBOARD_TOKEN=<access token> npx tsx examples/device-client.ts \
//        --url ws://localhost:8000/ws_pcm --device-name pendant [--wav file.wav] [--seconds 3]
//        [--fast]   (send as fast as possible instead of in real time)
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

export interface Pcm {
  rate: number;
  channels: number;
  /** 16-bit little-endian samples, interleaved. */
  samples: Buffer;
}

/** The PCM of a WAV file (RIFF, format 1, 16-bit); throws on anything else. */
export function readWav(file: Buffer): Pcm {
  if (file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file');
  }
  let at = 12;
  let format: { rate: number; channels: number; bits: number; tag: number } | null = null;
  while (at + 8 <= file.length) {
    const id = file.toString('ascii', at, at + 4);
    const size = file.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      format = {
        tag: file.readUInt16LE(body),
        channels: file.readUInt16LE(body + 2),
        rate: file.readUInt32LE(body + 4),
        bits: file.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (format?.tag !== 1 || format.bits !== 16) {
        throw new Error('only 16-bit PCM WAV files are supported');
      }
      const end = Math.min(body + size, file.length);
      return { rate: format.rate, channels: format.channels, samples: file.subarray(body, end) };
    }
    at = body + size + (size % 2);
  }
  throw new Error('WAV file without a data chunk');
}

/** `seconds` of a 440 Hz tone, 16 kHz mono. */
export function tone(seconds: number, rate = 16000): Pcm {
  const samples = Buffer.alloc(Math.round(seconds * rate) * 2);
  for (let i = 0; i < samples.length / 2; i++) {
    samples.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000), i * 2);
  }
  return { rate, channels: 1, samples };
}

export interface StreamOptions {
  /** ws(s)://host/ws_pcm (device_name is added as a query parameter). */
  url: string;
  token: string;
  deviceName: string;
  pcm: Pcm;
  /** Pace the chunks in real time (what a device does); false sends them at once. */
  realtime?: boolean;
  /** Milliseconds of audio per chunk. */
  chunkMs?: number;
  log?: (line: string) => void;
}

export interface StreamResult {
  conversationId: string;
  bytes: number;
  durationMs: number;
}

/** Streams one conversation and resolves with the server's audio-stopped answer. */
export async function streamPcm(o: StreamOptions): Promise<StreamResult> {
  const log = o.log ?? (() => {});
  const url = new URL(o.url);
  url.searchParams.set('device_name', o.deviceName);
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${o.token}` } });
  const format = { rate: o.pcm.rate, width: 2, channels: o.pcm.channels };
  const bytesPerChunk = Math.round((o.pcm.rate * (o.chunkMs ?? 100)) / 1000) * 2 * o.pcm.channels;

  return new Promise<StreamResult>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('close', (code, reason) =>
      reject(new Error(`socket closed: ${code} ${reason.toString() || '(no reason)'}`)),
    );
    ws.on('message', async (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(data.toString());
      log(`← ${JSON.stringify(msg)}`);
      if (msg.type === 'ready') {
        ws.send(`${JSON.stringify({ type: 'audio-start', data: format })}\n`);
      } else if (msg.type === 'audio-started') {
        for (let at = 0; at < o.pcm.samples.length; at += bytesPerChunk) {
          const chunk = o.pcm.samples.subarray(at, at + bytesPerChunk);
          ws.send(
            `${JSON.stringify({ type: 'audio-chunk', data: format, payload_length: chunk.length })}\n`,
          );
          ws.send(chunk);
          if (o.realtime) await new Promise((r) => setTimeout(r, o.chunkMs ?? 100));
        }
        ws.send(`${JSON.stringify({ type: 'audio-stop', data: {} })}\n`);
      } else if (msg.type === 'audio-stopped') {
        ws.removeAllListeners('close');
        ws.close(1000);
        resolve({
          conversationId: msg.data.conversation_id,
          bytes: msg.data.bytes,
          durationMs: msg.data.duration_ms,
        });
      }
    });
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const token = process.env.SWITCHBOARD_TOKEN;
  if (!token) {
    console.error('Set SWITCHBOARD_TOKEN to an access token');
    process.exit(2);
  }
  const wav = arg('wav');
  const pcm = wav ? readWav(readFileSync(wav)) : tone(Number(arg('seconds') ?? 3));
  streamPcm({
    url: arg('url') ?? 'ws://localhost:8000/ws_pcm',
    token,
    deviceName: arg('device-name') ?? 'example',
    pcm,
    realtime: !process.argv.includes('--fast'),
    log: (line) => console.log(line),
  }).then(
    (r) => console.log(`stored conversation ${r.conversationId}: ${r.durationMs} ms`),
    (err) => {
      console.error(String(err));
      process.exit(1);
    },
  );
}
