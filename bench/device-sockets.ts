// Idle device sockets one instance holds, and what they cost in memory: real `ws` clients open
// BENCH_SOCKETS (default 2,000) sockets to /ws_pcm on 127.0.0.1 with an access token, each through
// the whole gate (token check, membership, device upsert, registry), wait for `ready`, then sit
// idle. The server's memory is read before and after, each time after a full garbage collection:
// its resident set size, and the JS heap plus external memory (what the sockets themselves cost:
// the embedded database's WebAssembly memory dominates RSS and moves on its own). The sockets are
// checked still open after a hold, then closed, and the server stopped.
// `npm run bench` runs it (bench/run.ts); alone: `npx tsx bench/device-sockets.ts`.
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startBenchServer } from './kit.ts';

export interface DeviceSocketResult {
  sockets: number;
  opened: number;
  stillOpenAfterHold: number;
  openSeconds: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** JS heap + external memory per socket, after a full GC before and after. */
  kibPerSocket: number;
}

const MiB = 2 ** 20;

function open(url: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['bearer', token]);
    ws.once('message', () => resolve(ws));
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
    ws.once('error', reject);
  });
}

export async function deviceSocketScenario(
  count = Number(process.env.BENCH_SOCKETS ?? 2000),
  holdMs = 5000,
): Promise<DeviceSocketResult> {
  const server = await startBenchServer<{ port: number; token: string }>(
    'bench/device-socket-server.ts',
    [],
    { nodeArgs: ['--expose-gc'], stdin: true },
  );
  const { port, token } = server.info;
  const memory = async () => {
    const line = new Promise<string>((resolve) => server.lines.once('line', resolve));
    server.child.stdin!.write('mem\n');
    return JSON.parse(await line) as NodeJS.MemoryUsage;
  };
  const sockets: WebSocket[] = [];
  try {
    // Settle, then the baseline.
    await new Promise((r) => setTimeout(r, 1000));
    const before = await memory();
    const started = Date.now();
    const BATCH = 50;
    for (let i = 0; i < count; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, count - i) }, (_, k) =>
        open(`ws://127.0.0.1:${port}/ws_pcm?device_name=bench-${i + k}`, token),
      );
      sockets.push(...(await Promise.all(batch)));
    }
    const openSeconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, holdMs));
    const after = await memory();
    const stillOpen = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
    const js = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
    return {
      sockets: count,
      opened: sockets.length,
      stillOpenAfterHold: stillOpen,
      openSeconds,
      rssBeforeMiB: before.rss / MiB,
      rssAfterMiB: after.rss / MiB,
      kibPerSocket: (js(after) - js(before)) / 1024 / Math.max(1, sockets.length),
    };
  } finally {
    for (const s of sockets) s.terminate();
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await deviceSocketScenario();
  console.log(JSON.stringify(r, null, 2));
}
