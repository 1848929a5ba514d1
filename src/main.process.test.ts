// The real entry point as a process: `npm start`'s main.ts on the embedded database. SIGTERM
// drains in-flight requests and closes the database; a second start on the same data folder
// finds everything that was acknowledged while a third start on the same folder is refused;
// production refuses to start without its secrets; a bad configuration is listed in full.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSigningKey } from './auth/signing-keys.ts';
import { loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { GOOD_PASSWORD } from './test/auth-helpers.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sb-main-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function start(env: Record<string, string>) {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  // This test is about the embedded database, whatever the suite runs against.
  delete childEnv.DATABASE_URL;
  delete childEnv.REDIS_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
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

async function waitReady(base: string, child: ChildProcess, ms = 45_000) {
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

const json = (body: object) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('main.ts as a process', () => {
  it('drains in-flight requests on SIGTERM and a second start finds every acknowledged write', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port),
      DATA_DIR: dataDir,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
    };
    const first = start(env);
    // A fresh embedded database migrates first: slow on a busy machine.
    await waitReady(base, first.child, 110_000);
    expect(first.output()).toMatch(/generated one into/); // dev secrets warning, once
    // Instances that should accept each other's tokens must agree on this issuer.
    expect(first.output()).toContain(`access tokens: iss http://localhost:${port} (PUBLIC_URL;`);

    // Sign-ups hash a password at the production cost: slow enough to be in flight at SIGTERM.
    const emails = Array.from({ length: 6 }, (_, i) => `drain-${i}-${Date.now()}@example.test`);
    const inflight = emails.map((email) =>
      fetch(`${base}/api/auth/register`, json({ email, password: GOOD_PASSWORD })).then(
        async (r) => ({
          status: r.status,
          body: (await r.json()) as { access_token?: string },
        }),
      ),
    );
    // SIGTERM once the server has read every request but before it could finish them all.
    const received = () => first.output().split('"url":"/api/auth/register"').length - 1;
    const completed = () => (first.output().match(/"statusCode":201/g) ?? []).length;
    const deadline = Date.now() + 20_000;
    while (received() < emails.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 2));
    expect(received()).toBe(emails.length);
    first.child.kill('SIGTERM');
    expect(completed()).toBeLessThan(emails.length); // some were still in flight
    const answers = await Promise.all(inflight);
    expect(answers.map((a) => a.status)).toEqual(emails.map(() => 201));
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/shut down cleanly/);
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
