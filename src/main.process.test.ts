// The real entry point as a process, as production runs it: the compiled main.ts
// (`node dist/src/main.js`, built here when stale like `npm start` does) on the embedded
// database. SIGTERM drains in-flight requests and closes the database; a second start on the same
// data folder finds everything that was acknowledged while a third start on the same folder is
// refused; `npm start` leaves one node process that gets npm's SIGTERM; one Ctrl-C delivered
// twice still drains; production refuses to start without its secrets; a bad configuration is
// listed in full.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  ensureServerBuild,
  SERVER_ENV,
  SERVER_MAIN,
  SERVER_NODE_FLAGS,
} from '../scripts/build-server.ts';
import { ensureSigningKey } from './auth/signing-keys.ts';
import { loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { GOOD_PASSWORD } from './test/auth-helpers.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sb-main-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// tsc over the whole server: slow on a busy machine, once per change of the sources.
beforeAll(() => ensureServerBuild({ quiet: true }), 600_000);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function start(
  env: Record<string, string>,
  command = [process.execPath, ...SERVER_NODE_FLAGS, SERVER_MAIN],
) {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  // This test is about the embedded database, whatever the suite runs against.
  delete childEnv.DATABASE_URL;
  // What npm start sets when the caller has not (checked below): not inherited from this run.
  for (const name of Object.keys(SERVER_ENV)) delete childEnv[name];
  delete childEnv.REDIS_URL;
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, exited, output: () => output };
}

// Generous: a first start migrates an empty embedded database, slow on a busy machine.
async function waitReady(base: string, child: ChildProcess, ms = 150_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('server exited during start');
    try {
      const res = await fetch(`${base}/ready`);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not become ready');
}

/** Waits for a line the server writes through its asynchronous log destination. */
async function waitForOutput(output: () => string, text: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!output().includes(text) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  expect(output()).toContain(text);
}

const json = (body: object) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Log lines as objects (the server writes JSON when its output is not a terminal). */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Six sign-ups, each hashing a password at the production cost (slow enough to be in flight when
 * a signal comes), returned once the server has read every one (its debug log says so).
 */
async function signUpsInFlight(base: string, output: () => string, label: string) {
  const emails = Array.from({ length: 6 }, (_, i) => `${label}-${i}-${Date.now()}@example.test`);
  const inflight = emails.map((email) =>
    fetch(`${base}/api/auth/register`, json({ email, password: GOOD_PASSWORD })).then(
      async (r) => ({ status: r.status, body: (await r.json()) as { access_token?: string } }),
    ),
  );
  const received = () =>
    logLines(output()).filter(
      (l) =>
        l.msg === 'incoming request' &&
        (l.req as { url?: string } | undefined)?.url === '/api/auth/register',
    ).length;
  const deadline = Date.now() + 20_000;
  while (received() < emails.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 2));
  expect(received()).toBe(emails.length);
  return { emails, inflight };
}

describe('main.ts as a process', () => {
  it('drains in-flight requests on SIGTERM and a second start finds every acknowledged write', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port),
      DATA_DIR: dataDir,
      NODE_ENV: 'development',
      // debug: a line when each request arrives, as well as the access line when it is done.
      LOG_LEVEL: 'debug',
    };
    const first = start(env);
    onTestFinished(() => {
      first.child.kill('SIGKILL');
    });
    // A fresh embedded database migrates first: slow on a busy machine.
    await waitReady(base, first.child, 110_000);
    expect(first.output()).toMatch(/generated one into/); // dev secrets warning, once
    // Instances that should accept each other's tokens must agree on this issuer. Said after
    // listen through the asynchronous log destination: it can trail the first /ready answer.
    await waitForOutput(first.output, `access tokens: iss http://localhost:${port} (PUBLIC_URL;`);

    // SIGTERM once the server has read every sign-up but before it could finish them all.
    const { emails, inflight } = await signUpsInFlight(base, first.output, 'drain');
    const completed = () =>
      logLines(first.output()).filter((l) => l.route === '/api/auth/register' && l.status === 201)
        .length;
    first.child.kill('SIGTERM');
    expect(completed()).toBeLessThan(emails.length); // some were still in flight
    const answers = await Promise.all(inflight);
    expect(answers.map((a) => a.status)).toEqual(emails.map(() => 201));
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/shut down cleanly/);
    // One access line per request, each with its request id and time (flushed before the exit).
    const access = logLines(first.output()).filter((l) => l.route === '/api/auth/register');
    expect(access).toHaveLength(emails.length);
    for (const line of access) {
      expect(line).toMatchObject({ msg: 'request', method: 'POST', status: 201 });
      expect(line.request_id).toEqual(expect.any(String));
      expect(line.ms).toEqual(expect.any(Number));
    }
    const acknowledged = emails;

    const second = start(env);
    try {
      await waitReady(base, second.child);
      expect(second.output()).not.toMatch(/generated one into/); // secrets were kept
      for (const email of acknowledged) {
        const res = await fetch(`${base}/api/auth/login`, json({ email, password: GOOD_PASSWORD }));
        expect(res.status, email).toBe(200);
      }
      // A third start on the folder the second one runs on fails at once, naming it: two
      // processes on one embedded database would each lose the other's writes.
      const third = start({ ...env, PORT: String(await freePort()) });
      expect(await third.exited).toBe(1);
      expect(third.output()).toContain(`in use by another process (pid ${second.child.pid}`);
      expect((await fetch(`${base}/ready`)).ok).toBe(true);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 240_000);

  it("`npm start` runs node on the compiled server, which gets npm's SIGTERM and exits 0", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // --ignore-scripts skips prestart (the builds): beforeAll has built the server. The data
    // folder is the one the test above migrated (and released): a restart, not a first start.
    const npm = start({ PORT: String(port), DATA_DIR: dataDir, NODE_ENV: 'development' }, [
      'npm',
      'start',
      '--ignore-scripts',
      '--silent',
    ]);
    let serverPid: number | undefined;
    try {
      await waitReady(base, npm.child);
      // npm's only child is node running dist/src/main.js with the server's flags (the heap
      // limit that bounds its RSS): no shell or tsx in between.
      const pid = npm.child.pid!;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ');
      expect(children).toHaveLength(1);
      const cmdline = readFileSync(`/proc/${children[0]}/cmdline`, 'utf8').split('\0');
      expect(cmdline[0]).toMatch(/node$/);
      expect(cmdline.slice(1).filter(Boolean)).toEqual([...SERVER_NODE_FLAGS, 'dist/src/main.js']);
      // With the server's environment (two malloc arenas: scripts/build-server.ts SERVER_ENV),
      // read by the C library at exec, so it must be in the process's own environment.
      const environ = readFileSync(`/proc/${children[0]}/environ`, 'utf8').split('\0');
      for (const [name, value] of Object.entries(SERVER_ENV))
        expect(environ).toContain(`${name}=${value}`);
      serverPid = Number(children[0]);
      npm.child.kill('SIGTERM');
      expect(await npm.exited).toBe(0);
      expect(npm.output()).toMatch(/shut down cleanly/);
      // The heap limit of the flags (1024 MB of old space, plus the young generation), said at start.
      const listening = logLines(npm.output()).find((l) => typeof l.heap_limit_mb === 'number');
      expect(listening?.heap_limit_mb).toBeGreaterThanOrEqual(1024);
      expect(listening?.heap_limit_mb).toBeLessThan(1200);
    } finally {
      npm.child.kill('SIGKILL');
      if (serverPid) {
        try {
          process.kill(serverPid, 'SIGKILL');
        } catch {} // exited, as it should have
      }
    }
  }, 300_000);

  it("one Ctrl-C that arrives twice (the terminal's and npm's copy) still drains and exits 0", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = start({
      PORT: String(port),
      DATA_DIR: dataDir,
      NODE_ENV: 'development',
      LOG_LEVEL: 'debug',
    });
    try {
      await waitReady(base, server.child);
      const { emails, inflight } = await signUpsInFlight(base, server.output, 'press');
      // Under npm start one key press reaches node twice within milliseconds: the terminal
      // signals the whole process group and npm forwards its own copy once it has handled it.
      // (Two kill() calls in a row would merge into one pending signal.) A press a second or
      // more later exits at once (130; src/infra/shutdown-signals.test.ts).
      server.child.kill('SIGINT');
      await waitForOutput(server.output, 'shutting down: draining requests');
      server.child.kill('SIGINT');
      expect((await Promise.all(inflight)).map((a) => a.status)).toEqual(emails.map(() => 201));
      expect(await server.exited).toBe(0);
      expect(server.output()).toContain('shut down cleanly');
      expect(server.output()).not.toContain('second interrupt');
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 200_000);

  it('with NODE_ENV=production refuses to start without secrets, naming them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-prod-'));
    try {
      const prod = start({
        NODE_ENV: 'production',
        DATA_DIR: dir,
        ENCRYPTION_KEYS: '',
        SECRET_KEY: '',
      });
      expect(await prod.exited).toBe(1);
      expect(prod.output()).toMatch(/ENCRYPTION_KEYS, SECRET_KEY/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a database sealed under other ENCRYPTION_KEYS, in one paragraph', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-keys-'));
    const key = (fill: number) => `k1:${Buffer.alloc(32, fill).toString('base64')}`;
    try {
      const port = await freePort();
      const env = { PORT: String(port), DATA_DIR: dir, NODE_ENV: 'development', LOG_LEVEL: 'info' };
      // The first server's database: migrated, its signing key sealed under key(1).
      const config = loadConfig({ ...env, ENCRYPTION_KEYS: key(1), SECRET_KEY: 'x'.repeat(32) });
      const database = await openDatabase(config);
      await migrateToLatest(database.db);
      await ensureSigningKey(database, config.encryption);
      await database.close();

      // A second server on the same database without the first one's key (here: the same key
      // id with another value, as two development instances that each generated their own).
      const second = start({ ...env, ENCRYPTION_KEYS: key(2) });
      expect(await second.exited).toBe(1);
      const out = second.output();
      expect(out).toContain(
        "Switchboard cannot start: this instance's ENCRYPTION_KEYS cannot decrypt the secrets stored in the database",
      );
      expect(out).toMatch(
        /signing key \S+ stored in the database was sealed under encryption key id "k1"/,
      );
      expect(out).toContain('Set ENCRYPTION_KEYS to the value the first server uses');
      expect(out).not.toMatch(/^\s+at /m);
      expect(out).not.toContain(key(2).slice(3)); // never the key itself
      // One paragraph: a single line of text.
      expect(
        out
          .trim()
          .split('\n')
          .filter((l) => l.includes('cannot')),
      ).toHaveLength(1);

      // An unknown key id is explained the same way.
      const third = start({
        ...env,
        ENCRYPTION_KEYS: `k9:${Buffer.alloc(32, 9).toString('base64')}`,
      });
      expect(await third.exited).toBe(1);
      expect(third.output()).toContain('which is not in this ENCRYPTION_KEYS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('lists every configuration problem at once, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-bad-config-'));
    try {
      const bad = start({ DATA_DIR: dir, PORT: 'eighty', LOG_LEVEL: 'loud' });
      expect(await bad.exited).toBe(1);
      expect(bad.output()).toContain('Switchboard cannot start: 2 configuration problems:');
      expect(bad.output()).toMatch(/^ {2}- PORT .*\n {2}- LOG_LEVEL /m);
      expect(bad.output()).not.toMatch(/^\s+at /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
