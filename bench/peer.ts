// The peer: better-auth (email and password, SQLite through better-sqlite3, session cookie cache
// on) hosted by Fastify, in its own process. Installed on demand into a scratch folder outside
// the project (never a dependency of Switchboard; reused by later runs), then started like the
// other bench servers: it prints one JSON line {port, headers} with a signed-up user's cookies.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { withServerEnv } from '../scripts/build-server.ts';
import { type LoadRow, measureLoad, medianTurn, ROUNDS, startBenchServer } from './kit.ts';

const PACKAGES = ['better-auth@1', 'better-sqlite3@12', 'fastify@5'];
export const PEER_DIR =
  process.env.BENCH_PEER_DIR ?? join(tmpdir(), 'switchboard-bench-peer-better-auth-1');

// The peer's server: GET /me answers the session of the request's cookies, as better-auth's
// own docs host it. With the cookie cache, a session check verifies the signed session_data
// cookie and reads no database row while the cache is fresh (5 minutes here).
const SERVER = `
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { fromNodeHeaders } from 'better-auth/node';
import Fastify from 'fastify';

const dbDir = mkdtempSync(join(tmpdir(), 'sb-peer-db-'));
const db = new Database(join(dbDir, 'auth.db'));
db.pragma('journal_mode = WAL');
const auth = betterAuth({
  database: db,
  secret: randomBytes(32).toString('hex'),
  baseURL: 'http://127.0.0.1',
  emailAndPassword: { enabled: true },
  session: { cookieCache: { enabled: true, maxAge: 300 } },
  logger: { disabled: true },
  telemetry: { enabled: false },
});
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
const app = Fastify({ logger: false });
app.get('/me', async (req, reply) => {
  const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
  if (!session) return reply.code(401).send({ error: 'unauthenticated' });
  return { user: session.user, session: session.session };
});
await app.listen({ port: 0, host: '127.0.0.1' });
const res = await auth.api.signUpEmail({
  body: { email: 'peer-' + Date.now() + '@example.test', password: 'correct horse battery staple 2026', name: 'Peer' },
  asResponse: true,
});
const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
console.log(JSON.stringify({ port: app.server.address().port, headers: { cookie } }));
// Stopped by the bench: the database and its folder go with it (a run leaves nothing in /tmp).
process.on('SIGTERM', () =>
  app.close().then(() => {
    db.close();
    rmSync(dbDir, { recursive: true, force: true });
    process.exit(0);
  }),
);
`;

/** Installs better-auth and its SQLite driver into PEER_DIR unless a previous run did. */
export function ensurePeer(): void {
  const installed = ['better-auth', 'better-sqlite3', 'fastify'].every((p) =>
    existsSync(join(PEER_DIR, 'node_modules', p, 'package.json')),
  );
  if (!installed) {
    mkdirSync(PEER_DIR, { recursive: true });
    // better-sqlite3 builds its native module in its install script, which npm 12 skips unless
    // the project's package.json approves it (allowScripts).
    const manifest = {
      name: 'switchboard-bench-peer',
      private: true,
      type: 'module',
      allowScripts: { 'better-sqlite3': true },
    };
    writeFileSync(join(PEER_DIR, 'package.json'), `${JSON.stringify(manifest)}\n`);
    console.log(`installing ${PACKAGES.join(', ')} into ${PEER_DIR} (once)`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...PACKAGES], {
      cwd: PEER_DIR,
      stdio: 'inherit',
    });
  }
  writeFileSync(join(PEER_DIR, 'server.mjs'), SERVER);
}

export async function startPeer(): Promise<{
  port: number;
  headers: Record<string, string>;
  pid: number;
  stop(): Promise<void>;
}> {
  ensurePeer();
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: PEER_DIR,
    stdio: ['ignore', 'pipe', 'inherit'],
    // The allocator settings Switchboard's servers run with (bench/kit.ts), for comparable RSS.
    env: { ...withServerEnv(), NODE_ENV: 'production' },
  });
  const rl = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`peer server exited (${code})`)));
  });
  const info = JSON.parse(first) as { port: number; headers: Record<string, string> };
  return {
    ...info,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The BENCHMARKS.md section: each authenticated path of Switchboard against the peer's check. */
export function peerMarkdown(
  peerRps: number | undefined,
  rows: { scenario: string; rps: number }[],
): string {
  if (peerRps === undefined)
    return '## Against better-auth\n\nThe peer could not be installed or started in this run.\n';
  const lines = rows
    .filter(
      (r) =>
        /`GET \/auth\/me`|`GET \/api\/prompts`|`GET \/api\/auth\/verify`/.test(r.scenario) &&
        // The tenant bench's unguarded baselines are not Switchboard paths.
        !r.scenario.includes('unguarded baseline'),
    )
    .map((r) => {
      const goal = r.scenario.includes('/api/auth/verify') ? '≥ 15×' : '> 1×';
      return `| ${r.scenario} | ${Math.round(r.rps)} | ${(r.rps / peerRps).toFixed(2)}× | ${goal} |`;
    });
  return `## Against better-auth

better-auth 1 (email and password, SQLite through better-sqlite3, session cookie cache on) in a
Fastify host, installed by the bench into a scratch folder (never a dependency of Switchboard):
its \`GET /me\` answers \`auth.api.getSession\` from the signed cookie cache, **${Math.round(peerRps)} req/s**
in this run.

| Switchboard path | req/s | vs the peer's session check | Goal |
| --- | ---: | ---: | --- |
${lines.join('\n')}
`;
}

/**
 * Switchboard's authenticated paths and the peer's session check, side by side: every server up
 * at once, each path measured in alternating turns with the peer (ROUNDS rounds), each figure the
 * median of its turns. A single turn of the peer, measured once at the end of the run, swung
 * between 3,375 and 4,464 req/s on the same code; turns taken in the same minutes see the same
 * machine.
 */
export async function headToHead(opts: {
  duration: number;
  connections: number;
  postgres: boolean;
}): Promise<string> {
  const peer = await startPeer();
  const stops: (() => Promise<void>)[] = [peer.stop];
  try {
    // No route of a Fastify app answers faster than a bare Fastify's /health on the same machine:
    // its ratio to the peer is the ceiling of every ratio below (forward-auth's goal included).
    const bare = await startBenchServer<{ port: number }>('bench/server.ts', ['bare']);
    stops.push(bare.stop);
    const embedded = await startBenchServer<{ port: number; headers: Record<string, string> }>(
      'bench/server.ts',
      ['app', 'pglite'],
    );
    stops.push(embedded.stop);
    const postgres = opts.postgres
      ? await startBenchServer<{ port: number; headers: Record<string, string> }>(
          'bench/server.ts',
          ['app', 'postgres'],
        )
      : undefined;
    if (postgres) stops.push(postgres.stop);
    type Side = {
      scenario: string;
      goal: string;
      port: number;
      headers: Record<string, string>;
      path: string;
    };
    const sides: Side[] = [
      { scenario: 'peer', goal: '', ...peer, path: '/me' },
      {
        scenario: 'bare Fastify `GET /health` (the ceiling: no Switchboard code)',
        goal: '–',
        port: bare.info.port,
        headers: {},
        path: '/health',
      },
      {
        scenario: '`GET /api/auth/verify` (bearer, forward-auth)',
        goal: '≥ 15×',
        ...embedded.info,
        path: '/api/auth/verify',
      },
      {
        scenario: '`GET /auth/me` (bearer), embedded PGlite',
        goal: '> 1×',
        ...embedded.info,
        path: '/auth/me',
      },
      {
        scenario: '`GET /api/prompts` (20 rows), embedded PGlite',
        goal: '> 1×',
        ...embedded.info,
        path: '/api/prompts?limit=20',
      },
      ...(postgres
        ? [
            {
              scenario: '`GET /auth/me` (bearer), PostgreSQL',
              goal: '> 1×',
              ...postgres.info,
              path: '/auth/me',
            },
            {
              scenario: '`GET /api/prompts` (20 rows), PostgreSQL',
              goal: '> 1×',
              ...postgres.info,
              path: '/api/prompts?limit=20',
            },
          ]
        : []),
    ];
    const turns = new Map<string, LoadRow[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of sides) {
        const row = await measureLoad(
          `head to head ${round + 1}/${ROUNDS}: ${s.scenario}`,
          {
            url: `http://127.0.0.1:${s.port}${s.path}`,
            connections: opts.connections,
            headers: s.headers,
          },
          opts.duration,
        );
        turns.set(s.scenario, [...(turns.get(s.scenario) ?? []), row]);
      }
    }
    const peerRps = medianTurn(turns.get('peer')!).rps;
    const lines = sides
      .filter((s) => s.scenario !== 'peer')
      .map((s) => {
        const { rps } = medianTurn(turns.get(s.scenario)!);
        return `| ${s.scenario} | ${Math.round(rps)} | ${(rps / peerRps).toFixed(2)}× | ${s.goal} |`;
      });
    return `### Head to head (alternating turns)

The same comparison with every server up at once: the peer and each path below measured in ${ROUNDS}
alternating rounds of ${opts.duration} s, each figure the median of its turns (bench/peer.ts
\`headToHead\`), so that the machine's drift during the run reaches both sides alike. The peer's
median: **${Math.round(peerRps)} req/s**. The bare Fastify row is no Switchboard path: a Fastify
app with one route and nothing else, whose ratio to the peer bounds every ratio below on this
machine.

| Switchboard path | req/s (median) | vs the peer's session check (median) | Goal |
| --- | ---: | ---: | --- |
${lines.join('\n')}
`;
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}
