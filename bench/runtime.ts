// The production process itself, as `npm start` runs it (`node dist/src/main.js`, compiled):
// how long it takes to become healthy on an empty and on a used data directory, what a request
// line in the log costs, and how much memory it holds after load (VmRSS of the server process,
// read from /proc). Used by bench/run.ts; every figure comes from the same run as the others.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  ensureServerBuild,
  SERVER_ENV,
  SERVER_MAIN,
  SERVER_NODE_FLAGS,
  withServerEnv,
} from '../scripts/build-server.ts';
import { inTurns, type LoadRow, ROUNDS } from './kit.ts';

export interface RuntimeTarget {
  port: number;
  pid: number;
  headers: Record<string, string>;
  stop(): Promise<number | null>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The resident set of a process in MB (VmRSS in /proc/<pid>/status), or null off Linux. */
export function rssMb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One set of secrets for the whole run: a restart must read what the first start encrypted. */
const SECRETS = {
  ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`,
  SECRET_KEY: randomBytes(32).toString('base64url'),
};

/**
 * Starts the compiled server and resolves once GET /health answers 200, with the milliseconds
 * from spawn to that answer. Its log goes to `logFile` (JSON lines, as in production when
 * stdout is not a terminal) or nowhere.
 */
export async function startCompiled(options: {
  env: Record<string, string>;
  logFile?: string;
}): Promise<{ target: RuntimeTarget; ms: number }> {
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    // As npm start runs it: the server's environment unless this one sets the same variables.
    ...withServerEnv(),
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    ...SECRETS,
    RATE_LIMIT_REGISTER_IP: '1000000/3600',
    ...options.env,
  };
  if (!options.env.DATABASE_URL) delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_FLAGS, SERVER_MAIN], {
    env,
    stdio: ['ignore', out, 'inherit'],
  });
  if (typeof out === 'number') closeSync(out);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited during start (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error('server did not become healthy in 120 s');
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) break;
    } catch {}
    await sleep(20);
  }
  const ms = performance.now() - started;
  return {
    ms,
    target: {
      port,
      pid: child.pid!,
      headers: {},
      stop: () => {
        child.kill('SIGTERM');
        return exited;
      },
    },
  };
}

/** Signs up through the API and creates `prompts` prompts; returns the bearer headers. */
export async function seedOverHttp(port: number, prompts = 20): Promise<Record<string, string>> {
  const base = `http://127.0.0.1:${port}`;
  const res = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `runtime-${Date.now()}@example.test`,
      password: 'correct horse battery staple 2026',
      company_name: 'Bench Co',
    }),
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const { access_token } = (await res.json()) as { access_token: string };
  const headers = { authorization: `Bearer ${access_token}` };
  for (let i = 0; i < prompts; i++) {
    const p = await fetch(`${base}/api/prompts`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `Prompt ${i}`,
        content: 'You are a helpful receptionist. '.repeat(8),
      }),
    });
    if (p.status !== 201) throw new Error(`prompt failed: ${p.status} ${await p.text()}`);
  }
  return headers;
}

export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A fresh database on BENCH_DATABASE_URL's server, dropped by the returned function. */
export async function scratchPostgres(
  base: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sb_runtime_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

export { ensureServerBuild };

/** The authenticated reads each compiled server gets: route (as rows name it) and path. */
const READS = [
  ['/auth/me', '/auth/me'],
  ['/api/prompts', '/api/prompts?limit=20'],
] as const;

type Load = (
  scenario: string,
  target: { port: number; headers: Record<string, string> },
  req: string,
  duration?: number,
) => Promise<LoadRow>;

export interface RuntimeFigures {
  /** Spawn to first healthy answer, ms: embedded empty / used DATA_DIR, PostgreSQL empty / used. */
  start: { embeddedFirst: number; embeddedRestart: number[]; pgFirst?: number; pgRestart?: number };
  /**
   * /health req/s of the compiled server on the embedded database at each log level, and of bare
   * Fastify, measured in alternating turns with all three up.
   */
  health: { silent: number; info: number; bare: number };
  /** VmRSS of the compiled server after its load, MB. */
  rss: { scenario: string; mb: number | null }[];
  /** Every load this bench ran, for the comparisons. */
  rows: { scenario: string; rps: number }[];
}

/**
 * Every figure of the production process, from one run: first start and restarts on an empty
 * then used embedded data directory (and on PostgreSQL when reachable), /health with logging
 * silent and at info (JSON lines into a file, as under a process manager), and the RSS after
 * authenticated load on each database.
 */
export async function runtimeBench(options: {
  load: Load;
  /** Seconds of load per scenario; a comparison in turns shares them out (kit.ts inTurns). */
  duration: number;
  /** bare Fastify (bench/server.ts bare): the ceiling the logging goal is read against. */
  startBare: () => Promise<{
    port: number;
    headers: Record<string, string>;
    stop(): Promise<void>;
  }>;
  postgresUrl?: string;
}): Promise<RuntimeFigures> {
  const rows: RuntimeFigures['rows'] = [];
  const load: Load = async (name, target, req, duration) => {
    const row = await options.load(name, target, req, duration);
    rows.push(row);
    return row;
  };
  if (await ensureServerBuild({ quiet: true })) console.log('server compiled into dist/');
  const dataDir = scratchDir('sb-runtime');
  const infoDataDir = scratchDir('sb-runtime-info');
  const logDir = scratchDir('sb-runtime-log');
  const rss: RuntimeFigures['rss'] = [];
  const recordRss = (scenario: string, pid: number) => {
    const mb = rssMb(pid);
    console.log(`${scenario}: RSS after its load ${mb ?? '?'} MB`);
    rss.push({ scenario, mb });
  };
  /** A new account's reads on `target` (rows named for `where`), then the RSS they leave. */
  const readsThenRss = async (
    target: RuntimeTarget,
    where: string,
    rssScenario: string,
    reads: readonly (readonly [route: string, path: string])[] = READS,
  ) => {
    const t = { port: target.port, headers: await seedOverHttp(target.port) };
    for (const [route, path] of reads) await load(`compiled \`GET ${route}\`, ${where}`, t, path);
    recordRss(rssScenario, target.pid);
  };
  try {
    const embedded = { DATA_DIR: dataDir };
    const first = await startCompiled({ env: { ...embedded, LOG_LEVEL: 'warn' } });
    console.log(`compiled server, embedded, empty DATA_DIR: healthy in ${Math.round(first.ms)} ms`);
    try {
      // The same reads after a first start: the set-up child created the cluster and ran every
      // migration (src/db/embedded-setup.ts); this process opened the result as on a restart.
      await readsThenRss(
        first.target,
        'embedded, after a first start',
        'compiled server, embedded PGlite, after a first start',
      );
    } finally {
      await first.target.stop();
    }
    // A second used data directory, so the info server restarts too and runs beside the silent one.
    cpSync(dataDir, infoDataDir, { recursive: true });

    const restarts: number[] = [];
    // Logging silent: the authenticated reads, then the memory they leave.
    const silent = await startCompiled({ env: { ...embedded, LOG_LEVEL: 'silent' } });
    restarts.push(silent.ms);
    let health: RuntimeFigures['health'];
    try {
      await readsThenRss(
        silent.target,
        'embedded',
        'compiled server, embedded PGlite, after a restart',
      );

      // Logging at info, JSON lines into a file: what one access line per request costs. /health
      // of bare Fastify, of the silent server and of this one, in alternating turns.
      const logFile = join(logDir, 'server.log');
      const info = await startCompiled({
        env: { DATA_DIR: infoDataDir, LOG_LEVEL: 'info' },
        logFile,
      });
      restarts.push(info.ms);
      const bare = await options.startBare();
      try {
        const measured = await inTurns(
          (
            [
              ['bare Fastify `GET /health`, beside the compiled server', bare],
              ['compiled `GET /health`, LOG_LEVEL=silent', silent.target],
              ['compiled `GET /health`, LOG_LEVEL=info', info.target],
            ] as const
          ).map(
            ([name, target]) =>
              (turn: number) =>
                options.load(name, target, '/health', turn),
          ),
          options.duration,
        );
        rows.push(...measured);
        const [b, s, i] = measured.map((r) => r.rps) as [number, number, number];
        health = { bare: b, silent: s, info: i };
      } finally {
        await bare.stop();
        await info.target.stop();
      }
    } finally {
      await silent.target.stop();
    }
    for (const ms of restarts)
      console.log(`compiled server, embedded, used DATA_DIR: healthy in ${Math.round(ms)} ms`);

    let pgFirst: number | undefined;
    let pgRestart: number | undefined;
    if (options.postgresUrl) {
      const scratch = await scratchPostgres(options.postgresUrl);
      try {
        const env = {
          DATABASE_URL: scratch.url,
          DATA_DIR: scratchDir('sb-runtime-pg'),
          LOG_LEVEL: 'warn',
        };
        const pgStart = await startCompiled({ env });
        pgFirst = pgStart.ms;
        await pgStart.target.stop();
        const again = await startCompiled({ env: { ...env, LOG_LEVEL: 'silent' } });
        pgRestart = again.ms;
        console.log(
          `compiled server, PostgreSQL: first start ${Math.round(pgFirst)} ms, restart ${Math.round(again.ms)} ms`,
        );
        try {
          await readsThenRss(again.target, 'PostgreSQL', 'compiled server, PostgreSQL', [
            ['/health', '/health'],
            ...READS,
          ]);
        } finally {
          await again.target.stop();
          removeDir(env.DATA_DIR);
        }
      } finally {
        await scratch.drop();
      }
    }
    return {
      start: { embeddedFirst: first.ms, embeddedRestart: restarts, pgFirst, pgRestart },
      health,
      rss,
      rows,
    };
  } finally {
    removeDir(dataDir);
    removeDir(infoDataDir);
    removeDir(logDir);
  }
}

/** `NAME=value …`: the environment npm start gives the server. */
const serverEnvText = () =>
  Object.entries(SERVER_ENV)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

const s = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
const pct = (a: number, b: number) => `${Math.round((a / b) * 100)}%`;

/** The BENCHMARKS.md section for these figures, each next to its goal and baseline. */
export function runtimeMarkdown(
  f: RuntimeFigures,
  processRss: { scenario: string; mb: number | null }[],
): string {
  const restart = Math.max(...f.start.embeddedRestart);
  return `## The production process (compiled, \`${serverEnvText()} node ${SERVER_NODE_FLAGS.join(' ')} dist/src/main.js\`)

The server as \`npm start\` runs it: JavaScript compiled by tsc (scripts/build-server.ts), one
node process with the server's node flags and environment (the heap limit, two malloc arenas:
README, Running in production), spawned by the bench and polled on \`GET /health\` every 20 ms.
The three \`GET /health\` figures (logging silent, at info, and bare Fastify) come from ${ROUNDS}
alternating turns with all three servers up, each the median of its turns.

| Figure | Measured | Goal |
| --- | ---: | --- |
| First start, embedded, empty \`DATA_DIR\` (all migrations) | ${s(f.start.embeddedFirst)} | ≤ 10 s |
| Restart, embedded, used \`DATA_DIR\` (slowest of ${f.start.embeddedRestart.length}) | ${s(restart)} | ≤ 3 s |
| First start, PostgreSQL, empty database | ${s(f.start.pgFirst)} | – |
| Restart, PostgreSQL | ${s(f.start.pgRestart)} | – |
| \`GET /health\`, \`LOG_LEVEL=silent\` | ${Math.round(f.health.silent)} req/s | – |
| \`GET /health\`, \`LOG_LEVEL=info\` (one JSON access line per request into a file) | ${Math.round(f.health.info)} req/s | – |
| info vs silent | ${pct(f.health.info, f.health.silent)} | ≥ 80% |
| bare Fastify \`GET /health\` (bench/server.ts bare) | ${Math.round(f.health.bare)} req/s | – |
| info vs bare Fastify | ${pct(f.health.info, f.health.bare)} | ≥ 60% |

Memory: VmRSS of each server process (\`/proc/<pid>/status\`) right after its load.

| Process | RSS | Goal |
| --- | ---: | --- |
${[...f.rss, ...processRss]
  .map(
    (r) =>
      `| ${r.scenario} | ${r.mb ?? '?'} MB | ${r.scenario.startsWith('compiled') ? (r.scenario.includes('PostgreSQL') ? '≤ 200 MB' : '≤ 300 MB') : '– (a bench server: the app and its seeding in one process)'} |`,
  )
  .join('\n')}
`;
}
