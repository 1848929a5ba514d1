// `npm run bench`: autocannon against servers on 127.0.0.1 (each in its own process), every
// scenario in one run on one machine next to a bare-Fastify baseline; writes BENCHMARKS.md.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import pg from 'pg';
import { audioScenarios } from './audio.ts';
import { deviceSocketScenario } from './device-sockets.ts';
import { inTurns, type LoadRow, measureLoad, ROUNDS, startBenchServer } from './kit.ts';
import { headToHead, peerMarkdown, startPeer } from './peer.ts';
import { quotaBench, quotaMarkdown } from './quotas.ts';
import { rssMb, runtimeBench, runtimeMarkdown } from './runtime.ts';
import { tenantScenarios } from './tenant.ts';
import { voiceScenarios } from './voice.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

interface Target {
  port: number;
  headers: Record<string, string>;
  login?: { email: string; password: string };
  argon2?: { memoryCost: number; timeCost: number; parallelism: number };
  pid?: number;
  stop(): Promise<void>;
}

async function startTarget(args: string[]): Promise<Target> {
  const server = await startBenchServer<Omit<Target, 'stop'>>('bench/server.ts', args);
  return { ...server.info, pid: server.child.pid, stop: server.stop };
}

interface BenchRequest {
  path: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  connections?: number;
  /** Record where the measured load's CPU went (bench/cpu.ts). */
  cpu?: boolean;
}

async function load(
  scenario: string,
  t: Target,
  req: BenchRequest | string,
  duration = DURATION,
): Promise<LoadRow> {
  const q = typeof req === 'string' ? { path: req } : req;
  const opts = {
    url: `http://127.0.0.1:${t.port}${q.path}`,
    method: q.method ?? 'GET',
    body: q.body,
    headers: { ...t.headers, ...q.headers },
    connections: q.connections ?? CONNECTIONS,
  };
  return measureLoad(scenario, opts, duration, q.cpu ? t.pid : undefined);
}

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({
    connectionString: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    connectionTimeoutMillis: 2000,
  });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** The machine's 1-minute load average when the run starts: anything else running skews it all. */
const loadAtStart = loadavg()[0]!;
const rows: LoadRow[] = [];
/** VmRSS of each bench server process right after its scenarios' load. */
const processRss: { scenario: string; mb: number | null }[] = [];
type Run = [string, BenchRequest | string | ((t: Target) => BenchRequest)];
/** Runs measured one after the other; a `turns` group in alternating turns (kit.ts inTurns). */
async function scenario(args: string[], runs: (Run | { turns: Run[] })[]) {
  const t = await startTarget(args);
  const request = (req: Run[1]) => (typeof req === 'function' ? req(t) : req);
  try {
    for (const run of runs) {
      if (Array.isArray(run)) {
        rows.push(await load(run[0], t, request(run[1])));
      } else {
        const loads = run.turns.map(
          ([name, req]) =>
            (turn: number) =>
              load(name, t, request(req), turn),
        );
        rows.push(...(await inTurns(loads, DURATION)));
      }
    }
    if (t.pid) processRss.push({ scenario: `bench/server.ts ${args.join(' ')}`, mb: rssMb(t.pid) });
  } finally {
    await t.stop();
  }
}

/** Raw argon2id hashes per second at the server's parameters, one hash per core at a time. */
async function argon2Rate(params: { memoryCost: number; timeCost: number; parallelism: number }) {
  const { hash } = await import('@node-rs/argon2');
  const workers = cpus().length;
  let done = 0;
  const end = Date.now() + DURATION * 1000;
  const start = Date.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < end) {
        await hash('correct horse battery staple 2026', { ...params, algorithm: 2 });
        done++;
      }
    }),
  );
  return (done * 1000) / (Date.now() - start);
}

await scenario(['bare'], [['bare Fastify `GET /health` (baseline)', '/health']]);
let argon2: Target['argon2'];
/** Password logins of the seeded account, 8 at a time (a few per core: the hash is the work). */
const loginRequest = (t: Target): BenchRequest => {
  argon2 = t.argon2;
  return {
    path: '/api/auth/login',
    method: 'POST',
    body: JSON.stringify(t.login),
    headers: { 'content-type': 'application/json', authorization: '' },
    connections: 8,
    cpu: true,
  };
};
const LOGIN = '`POST /api/auth/login` (argon2id at the configured cost)';
await scenario(
  ['app', 'pglite'],
  [
    // Compared with each other (goal 7): in alternating turns.
    {
      turns: [
        ['`GET /health`', '/health'],
        ['`GET /api/auth/verify` (bearer, forward-auth)', '/api/auth/verify'],
      ],
    },
    ['`GET /auth/me` (bearer)', '/auth/me'],
    ['`GET /api/prompts` (20 rows), embedded PGlite', '/api/prompts?limit=20'],
    [`${LOGIN}, embedded PGlite`, loginRequest],
  ],
);
if (await postgresReachable()) {
  await scenario(
    ['app', 'postgres'],
    [
      ['`GET /api/prompts` (20 rows), PostgreSQL', '/api/prompts?limit=20'],
      [`${LOGIN}, PostgreSQL`, loginRequest],
    ],
  );
} else {
  console.log('PostgreSQL not reachable at BENCH_DATABASE_URL: skipping its scenarios');
}

rows.push(
  ...(await voiceScenarios({
    duration: DURATION,
    connections: CONNECTIONS,
    postgres: await postgresReachable(),
  })),
);
rows.push(...(await audioScenarios({ duration: DURATION, sockets: 20 })));
const sockets = await deviceSocketScenario();
console.log(
  `idle device sockets: ${sockets.stillOpenAfterHold}/${sockets.sockets} held, RSS ${Math.round(sockets.rssAfterMiB)} MiB`,
);
const tenant = await tenantScenarios({
  duration: DURATION,
  connections: CONNECTIONS,
  postgres: await postgresReachable(),
});
rows.push(...tenant.rows);
// The concurrency-quota check per credential issue, on each counter this machine has.
const quotaRows = await quotaBench({
  postgres: await postgresReachable(),
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
}).catch((err) => {
  console.log(`quota bench unavailable: ${(err as Error).message}`);
  return [];
});
const runtime = await runtimeBench({
  load: (name, t, req, duration) => load(name, t as Target, req, duration),
  duration: DURATION,
  startBare: () => startTarget(['bare']),
  postgresUrl: (await postgresReachable())
    ? (process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test')
    : undefined,
});
// The peer, better-auth's cookie-cached session check, in the same run (installed on first use).
let peerRps: number | undefined;
try {
  const peer = await startPeer();
  try {
    peerRps = (
      await load(
        'better-auth `GET /me` (peer: cookie-cached session check)',
        peer as unknown as Target,
        '/me',
      )
    ).rps;
    processRss.push({
      scenario: 'better-auth peer (Fastify + better-sqlite3)',
      mb: rssMb(peer.pid),
    });
  } finally {
    await peer.stop();
  }
} catch (err) {
  console.log(`better-auth peer unavailable: ${(err as Error).message}`);
}
// The goals against the peer, judged in alternating turns with every server up at once.
const headToHeadMarkdown =
  peerRps === undefined
    ? ''
    : await headToHead({
        duration: DURATION,
        connections: CONNECTIONS,
        postgres: await postgresReachable(),
      }).catch((err) => {
        console.log(`head to head unavailable: ${(err as Error).message}`);
        return '';
      });
const hashes = argon2 ? await argon2Rate(argon2) : 0;
console.log(`raw argon2id hashes/s: ${Math.round(hashes)}`);

const base = rows[0]!.rps;
const find = (prefix: string) => rows.find((r) => r.scenario.startsWith(prefix));
const verify = find('`GET /api/auth/verify`');
const health = find('`GET /health`');
const loginEmbedded = find(`${LOGIN}, embedded PGlite`);
const loginPostgres = find(`${LOGIN}, PostgreSQL`);
const vsHashes = (r: LoadRow | undefined) =>
  r && hashes > 0 ? `${(r.rps / hashes).toFixed(2)}×` : '?';
/**
 * Where a login's CPU goes (bench/cpu.ts), next to one raw hash's share of the machine: the
 * cores divided by the raw hash rate is the CPU one hash costs when nothing else runs.
 */
function loginCpuMarkdown(): string {
  const measured = [
    ['PostgreSQL', loginPostgres],
    ['embedded PGlite', loginEmbedded],
  ] as const;
  const lines = measured.flatMap(([db, r]) => {
    const c = r?.cpu;
    if (!c) return [];
    const all = c.main + c.otherThreads + c.postgres + c.bench;
    const f = (v: number) => v.toFixed(2);
    return [
      `  | ${db} | ${f(c.main)} | ${f(c.otherThreads)} | ${f(c.postgres)} | ${f(c.bench)} | ${f(all)} |`,
    ];
  });
  if (lines.length === 0 || hashes <= 0) return '';
  const cores = cpus().length;
  const rawHashMs = (cores * 1000) / hashes;
  // At 0.9× the raw rate a login may cost cores / (0.9 × rate) of CPU: one raw hash and this.
  const budget = rawHashMs / 0.9 - rawHashMs;
  return `
  Where a login's CPU goes, in milliseconds per login over the measured load (\`/proc\`: utime +
  stime; every PostgreSQL process of the machine, backends that ended included; the load
  generator is the bench process), next to one raw hash, which costs ${rawHashMs.toFixed(2)} ms of CPU here (${cores} cores ÷ ${Math.round(hashes)} hashes/s):

  | Database | server main thread | server's other threads (argon2's pool, V8's helpers) | PostgreSQL | load generator | all |
  | --- | ---: | ---: | ---: | ---: | ---: |
${lines.join('\n')}

  At 0.9× the raw rate a login may cost ${(rawHashMs / 0.9).toFixed(2)} ms of CPU on these ${cores} cores: its hash and
  **${budget.toFixed(2)} ms** for everything else — the HTTP exchange, the database's statements
  and the load generator's own share, which the raw hashes never pay.
`;
}

/** Throughput rows (audio frames) have no latency. */
const ms = (v: number) => (Number.isFinite(v) ? String(v) : '—');
const table = [
  '| Scenario | req/s | vs baseline | p50 ms | p99 ms | non-2xx |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${Math.round(r.rps)} | ${Number.isFinite(r.p50) ? `${Math.round((r.rps / base) * 100)}%` : '—'} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.errors} |`,
  ),
].join('\n');

const md = `# Benchmarks

Generated by \`npm run bench\` (bench/run.ts) — every number below comes from the same run on the
same machine. Each server runs in its own process on 127.0.0.1, as the JavaScript tsc compiles it
(\`.dist-bench/\`, built first like production's \`dist/\`; no TypeScript transpiler at run time); autocannon runs in another with
${CONNECTIONS} connections for ${DURATION} s per scenario after a 2 s warm-up; where figures are compared,
each side is measured in ${ROUNDS} alternating turns (each after its own warm-up; the ${DURATION} s shared out
among them, except in the head to head below) and its figure is its median turn.

- Date: ${new Date().toISOString()}
- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM
- Node.js ${process.version}
- Load average (1 min) at the start / end of the run: ${loadAtStart.toFixed(1)} / ${loadavg()[0]!.toFixed(1)} (${loadAtStart > cpus().length ? 'above the core count at the start: other processes shared the CPU and every figure is low' : 'the start is what else ran on the machine; the end includes the bench’s own processes'})

${table}

- \`/api/auth/verify\` runs at **${verify && health ? Math.round((verify.rps / health.rps) * 100) : '?'}%** of Switchboard's own \`GET /health\`
  (goal: at least 80%; both measured in ${ROUNDS} alternating turns, each row its median turn):
  a valid token is checked from the verified-token cache and the in-memory
  revocation list, with no database round trip. It can beat \`/health\` because its answers go
  to proxies and carry no browser security headers (helmet's ~0.5 KB), while \`/health\` does:
  on this 2-core machine autocannon shares the CPU, so bytes per response count.
- Logins next to **${Math.round(hashes)} raw argon2id hashes/s** on the same machine
  (${argon2 ? `m=${argon2.memoryCost} KiB, t=${argon2.timeCost}, p=${argon2.parallelism}` : 'configured cost'}, one hash per core at a time): a login costs one
  hash plus three round trips to the database (the account, its memberships and their orgs in one
  read statement; with BEGIN, the org share-locked, then the account share-locked and the
  membership read again under both locks; the session, refresh token and audit rows with COMMIT)
  and, after the answer, one statement for the device, so the hash rate is its ceiling.

  | Database | logins/s | vs raw hashes/s | Goal |
  | --- | ---: | ---: | --- |
  | PostgreSQL | ${loginPostgres ? Math.round(loginPostgres.rps) : '–'} | ${vsHashes(loginPostgres)} | ≥ 0.9× |
  | embedded PGlite | ${loginEmbedded ? Math.round(loginEmbedded.rps) : '–'} | ${vsHashes(loginEmbedded)} | – (queries share the main thread) |
${loginCpuMarkdown()}

- Device audio: frames per second that reached the conversation files (the server's own count
  at audio-stop), 20 sockets streaming 640-byte frames (20 ms of 16 kHz mono PCM) as fast as the
  server reads them, through the stream handler with its flow control, on the embedded database.
  One frame per 20 ms per device means the figure divided by 50 is how many live devices one
  instance ingests.
## Idle device sockets

Real \`ws\` clients open ${sockets.sockets} sockets to \`/ws_pcm\` on one instance (embedded PGlite), each
through the whole gate (access token in the \`bearer\` subprotocol, membership check, device upsert,
live-socket registry), wait for \`ready\` and stay idle (bench/device-sockets.ts).

| Sockets held | still open after 5 s | time to open all | server RSS before → after | JS heap + external per socket |
| ---: | ---: | ---: | ---: | ---: |
| ${sockets.opened} | ${sockets.stillOpenAfterHold} | ${sockets.openSeconds.toFixed(1)} s | ${Math.round(sockets.rssBeforeMiB)} → ${Math.round(sockets.rssAfterMiB)} MiB | ${sockets.kibPerSocket.toFixed(1)} KiB |

RSS is dominated by the embedded database's WebAssembly memory, which grows and shrinks on its own;
the per-socket figure is the server's JS heap plus external memory after a full garbage collection,
before and after. The limits that bound it are \`REALTIME_MAX_SOCKETS_PER_USER\`,
\`REALTIME_MAX_SOCKETS_PER_ORG\`, \`REALTIME_MAX_DEVICES_PER_USER\` (each socket names its own device)
and the org quota \`QUOTA_MAX_DEVICE_SOCKETS\` (lifted for this run).
## Tenant-scoped reads next to the same query unguarded

Each route on Switchboard (bearer token, row-level security forced, the tenant context set
transaction-locally by src/db/tenant.ts) next to a bare Fastify running the same repository
SELECTs on the same kind of database as the owner, with no authentication, RLS or transaction
(bench/tenant-server.ts; six orgs of 20 prompts and 100 calls share the tables). Both servers run
side by side and each route is measured in three alternating turns (baseline, then Switchboard),
so a change in the machine's load reaches both sides alike; each figure is the side's median turn.

${tenant.markdown}

${quotaMarkdown(quotaRows)}
${runtimeMarkdown(runtime, processRss)}
${peerMarkdown(peerRps, [...rows, ...runtime.rows])}
${headToHeadMarkdown}
Reproduce: \`npm run bench\` (PostgreSQL scenarios use \`BENCH_DATABASE_URL\`, default
\`postgres://postgres@127.0.0.1:5432/test\`, creating and dropping a scratch database;
\`BENCH_SECONDS\` and \`BENCH_CONNECTIONS\` change the load).
`;
writeFileSync('BENCHMARKS.md', md);
console.log(`\n${table}\n\nwrote BENCHMARKS.md`);
