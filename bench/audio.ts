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

/**
 * A device's answer may never come: streaming as fast as the server reads, 20 sockets can hold
 * the server's file writes busy long enough that a new socket's audio-start waits past any
 * reasonable time. Each device therefore fails (never hangs the run) when its socket closes
 * before audio-stopped, or DEADLINE_MS after it stopped streaming.
 */
const DEADLINE_MS = 60_000;

/** One device: streams frames until `until`, then stops; resolves with the bytes stored. */
function device(port: number, until: number, wyoming: boolean): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws_pcm`);
  const frame = Buffer.alloc(FRAME, 1);
  const header = `${JSON.stringify({ type: 'audio-chunk', payload_length: FRAME })}\n`;
  const framed = Buffer.concat([Buffer.from(header), frame]);
  return new Promise((resolve, reject) => {
    let stage = 'connecting';
    const deadline = setTimeout(
      () => {
        reject(
          new Error(`device audio: no audio-stopped ${DEADLINE_MS} ms after the end (${stage})`),
        );
        ws.terminate();
      },
      until - Date.now() + DEADLINE_MS,
    );
    const fail = (err: Error) => {
      clearTimeout(deadline);
      reject(err);
    };
    ws.on('error', fail);
    ws.on('close', (code, reason) => {
      clearTimeout(deadline);
      if (stage !== 'stopped')
        reject(new Error(`device audio: socket closed ${code} ${reason.toString()} (${stage})`));
    });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'ready') {
        stage = 'ready';
        ws.send(
          JSON.stringify({ type: 'audio-start', data: { rate: 16000, width: 2, channels: 1 } }),
        );
      } else if (m.type === 'audio-started') {
        stage = 'streaming';
        const pump = () => {
          if (ws.readyState !== ws.OPEN) return;
          if (Date.now() >= until) {
            stage = 'stopping';
            ws.send(JSON.stringify({ type: 'audio-stop' }));
            return;
          }
          // Keep at most 64 KiB in the client's send buffer: the server's pace, not ours. And
          // at most 64 KiB per turn: while the kernel takes every write at once the buffer never
          // fills, and one device's loop would hold the load generator (every other device
          // starved until the end, its audio-stop its only message; seen on a 2-core AMD VM).
          const message = wyoming ? framed : frame;
          for (let turn = 0; turn < 65_536 && ws.bufferedAmount < 65_536; turn += message.length)
            ws.send(message);
          setImmediate(pump);
        };
        pump();
      } else if (m.type === 'audio-stopped') {
        stage = 'stopped';
        clearTimeout(deadline);
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
      // Warm up, then measure. A device that fails is counted as an error of the row (its bytes
      // are not counted), never a hang or an abort of the whole run.
      const warm = Date.now() + 2000;
      await Promise.allSettled(
        Array.from({ length: opts.sockets }, () => device(server.port, warm, wyoming)),
      );
      const start = Date.now();
      const until = start + opts.duration * 1000;
      const settled = await Promise.allSettled(
        Array.from({ length: opts.sockets }, () => device(server.port, until, wyoming)),
      );
      const elapsed = (Date.now() - start) / 1000;
      const failed = settled.filter((r) => r.status === 'rejected');
      if (failed[0]) console.log(`${failed.length} devices failed: ${failed[0].reason}`);
      const bytes = settled.map((r) => (r.status === 'fulfilled' ? r.value : 0));
      const frames = bytes.reduce((a, b) => a + b, 0) / FRAME / elapsed;
      const how = wyoming
        ? 'Wyoming events (header + payload in one binary message)'
        : 'raw binary frames';
      const scenario = `device audio: 20 ms PCM frames ingested to disk, ${opts.sockets} sockets, ${how} (frames/s)`;
      console.log(`${scenario}: ${Math.round(frames)} frames/s`);
      rows.push({ scenario, rps: frames, p50: Number.NaN, p99: Number.NaN, errors: failed.length });
    }
  } finally {
    await server.stop();
  }
  return rows;
}
