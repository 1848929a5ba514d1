// Device audio ingestion: real ws clients on 127.0.0.1 stream 20 ms frames of 16 kHz mono PCM
// (640 bytes) to the stream handler (bench/audio-server.ts, its own process) as fast as the
// server takes them, for BENCH_SECONDS; each then sends audio-stop and the server's
// audio-stopped answer says how many bytes reached the file. Frames per second = those bytes
// / 640 / elapsed: audio on disk, not audio sent.
import { WebSocket } from 'ws';
import { type LoadRow, startBenchServer } from './kit.ts';

const FRAME = 640;

async function startServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const server = await startBenchServer<{ port: number }>('bench/audio-server.ts');
  return { port: server.info.port, stop: server.stop };
}

/** One device: streams frames until `until`, then stops; resolves with the bytes stored. */
function device(port: number, until: number, wyoming: boolean): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws_pcm`);
  const frame = Buffer.alloc(FRAME, 1);
  const header = `${JSON.stringify({ type: 'audio-chunk', payload_length: FRAME })}\n`;
  const framed = Buffer.concat([Buffer.from(header), frame]);
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'ready') {
        ws.send(
          JSON.stringify({ type: 'audio-start', data: { rate: 16000, width: 2, channels: 1 } }),
        );
      } else if (m.type === 'audio-started') {
        const pump = () => {
          if (Date.now() >= until) {
            ws.send(JSON.stringify({ type: 'audio-stop' }));
            return;
          }
          // Keep at most 64 KiB in the client's send buffer: the server's pace, not ours.
          while (ws.bufferedAmount < 65_536) ws.send(wyoming ? framed : frame);
          setImmediate(pump);
        };
        pump();
      } else if (m.type === 'audio-stopped') {
        ws.close();
        resolve(m.data.bytes);
      }
    });
  });
}

export async function audioScenarios(opts: { duration: number; sockets: number }) {
  const rows: LoadRow[] = [];
  const server = await startServer();
  try {
    for (const wyoming of [false, true]) {
      // Warm up, then measure.
      await Promise.all(
        Array.from({ length: opts.sockets }, () => device(server.port, Date.now() + 2000, wyoming)),
      );
      const start = Date.now();
      const until = start + opts.duration * 1000;
      const bytes = await Promise.all(
        Array.from({ length: opts.sockets }, () => device(server.port, until, wyoming)),
      );
      const elapsed = (Date.now() - start) / 1000;
      const frames = bytes.reduce((a, b) => a + b, 0) / FRAME / elapsed;
      const how = wyoming
        ? 'Wyoming events (header + payload in one binary message)'
        : 'raw binary frames';
      const scenario = `device audio: 20 ms PCM frames ingested to disk, ${opts.sockets} sockets, ${how} (frames/s)`;
      console.log(`${scenario}: ${Math.round(frames)} frames/s`);
      rows.push({ scenario, rps: frames, p50: Number.NaN, p99: Number.NaN, errors: 0 });
    }
  } finally {
    await server.stop();
  }
  return rows;
}
