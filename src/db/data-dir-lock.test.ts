// The embedded database is one process's at a time. A second opener (another `npm start`,
// `npm run keys:rotate`, `npm run migrate`) fails at once naming the holder's pid, instead of
// working on its own copy of the folder and losing its writes; a lock left by a dead process is
// recovered; closing the database releases it.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { DataDirLockedError, LOCK_FILE_NAME, lockDataDir } from './data-dir-lock.ts';
import { openDatabase } from './database.ts';

const roots: string[] = [];
const children: ChildProcess[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sb-lock-'));
  roots.push(d);
  return d;
}
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

const KEYS = `k1:${Buffer.alloc(32, 5).toString('base64')}`;
const configFor = (dir: string) =>
  loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dir,
    ENCRYPTION_KEYS: KEYS,
    SECRET_KEY: 's'.repeat(40),
  });

function childEnv(extra: Record<string, string> = {}) {
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  // About the embedded database, whatever the suite runs against.
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  return env;
}

/** A child process that holds the lock on `dir` until killed. */
async function holder(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/test/hold-data-dir.ts', dir], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('locked')) resolve();
    });
    child.stderr!.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => reject(new Error(`holder exited ${code}: ${out}`)));
  });
  return child;
}

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  );
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('embedded data directory lock', () => {
  it('a second opener fails at once, naming the pid of the process that holds the folder', async () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'pgdata'));
    const child = await holder(join(dir, 'pgdata'));
    const started = Date.now();
    const err = await openDatabase(configFor(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect(String((err as Error).message)).toContain(`pid ${child.pid}`);
    expect(Date.now() - started).toBeLessThan(2000);
    // A crash leaves the file behind; the next opener recovers it because the pid is gone.
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const lock = lockDataDir(join(dir, 'pgdata'));
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
  });

  it('recovers a stale lock (dead pid, or our own pid from an earlier life) and refuses a live one', async () => {
    const dir = dataDir();
    const file = join(dir, LOCK_FILE_NAME);
    for (const pid of [await deadPid(), process.pid]) {
      writeFileSync(file, JSON.stringify({ pid, hostname: hostname(), started_at: 'earlier' }));
      const lock = lockDataDir(dir);
      expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
      // Held by this process now: a second opener in the same process is refused too.
      expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
      lock.release();
    }
    // A live process (our parent) holding it: refused, and the file is left alone.
    const live = JSON.stringify({ pid: process.ppid, hostname: hostname(), started_at: 'now' });
    writeFileSync(file, live);
    expect(() => lockDataDir(dir)).toThrow(`pid ${process.ppid}`);
    expect(readFileSync(file, 'utf8')).toBe(live);
    // A torn write (crash between create and write) does not lock the folder forever.
    writeFileSync(file, '');
    lockDataDir(dir).release();
    expect(existsSync(file)).toBe(false);
  });

  it('recovers a lock whose pid now names another process: reused after a crash, or a reboot', async () => {
    // Linux's /proc tells a process's start time and the boot; elsewhere the pid alone decides.
    const ticksOf = (pid: number) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    };
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const dir = dataDir();
    const file = join(dir, LOCK_FILE_NAME);
    // What this process writes names its boot and start, so a later reuse of its pid is told apart.
    const own = lockDataDir(dir);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      pid: process.pid,
      boot_id: bootId,
      pid_start_ticks: ticksOf(process.pid),
    });
    own.release();
    // A live pid (our parent) that started at another time, or a lock from another boot: stale.
    const parent = ticksOf(process.ppid);
    const owner = { pid: process.ppid, hostname: hostname(), started_at: 'earlier' };
    for (const stale of [
      { ...owner, boot_id: bootId, pid_start_ticks: parent + 1 },
      { ...owner, boot_id: 'a-boot-since-gone', pid_start_ticks: parent },
      { ...owner, pid: await deadPid(), helper_pid: process.ppid, helper_start_ticks: parent + 1 },
    ]) {
      writeFileSync(file, JSON.stringify(stale));
      const lock = lockDataDir(dir);
      expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
      lock.release();
    }
    // The same process still running: refused, the file left alone (as the owner or the helper).
    for (const live of [
      { ...owner, boot_id: bootId, pid_start_ticks: parent },
      { ...owner, pid: await deadPid(), helper_pid: process.ppid, helper_start_ticks: parent },
    ]) {
      writeFileSync(file, JSON.stringify(live));
      expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(live);
    }
    rmSync(file);
    // A helper named by this process is recorded with its start, for the same reason.
    const lock = lockDataDir(dir);
    lock.setHelper(process.ppid);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      helper_pid: process.ppid,
      helper_start_ticks: parent,
    });
    lock.release();
  });

  it('stays live while the set-up process its holder started runs, though the holder is gone', async () => {
    const dir = dataDir();
    const file = join(dir, LOCK_FILE_NAME);
    // The embedded set-up child outliving a server killed during its first start.
    const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    children.push(helper);
    const orphaned = JSON.stringify({
      pid: await deadPid(),
      hostname: hostname(),
      started_at: 'earlier',
      helper_pid: helper.pid,
    });
    writeFileSync(file, orphaned);
    expect(() => lockDataDir(dir)).toThrow(`set-up process pid ${helper.pid}`);
    expect(readFileSync(file, 'utf8')).toBe(orphaned);
    helper.kill('SIGKILL');
    await new Promise((resolve) => helper.on('exit', resolve));
    // Both gone: stale, recovered.
    const lock = lockDataDir(dir);
    // Naming a helper keeps the lock ours: the file says so, and release still removes it.
    lock.setHelper(process.ppid);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      pid: process.pid,
      helper_pid: process.ppid,
    });
    lock.setHelper(null);
    expect(JSON.parse(readFileSync(file, 'utf8')).helper_pid).toBeUndefined();
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('the database holds the lock while open and releases it on close', async () => {
    const dir = dataDir();
    const database = await openDatabase(configFor(dir));
    const file = join(dir, 'pgdata', LOCK_FILE_NAME);
    try {
      expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
      await expect(openDatabase(configFor(dir))).rejects.toThrow(DataDirLockedError);
      await database.ping();
    } finally {
      await database.close();
    }
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('keys:rotate on a running server’s folder tells the operator to stop it or use the admin route', async () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'pgdata'));
    const child = await holder(join(dir, 'pgdata'));
    const { code, output } = await run(['scripts/keys-rotate.ts'], {
      NODE_ENV: 'development',
      DATA_DIR: dir,
      ENCRYPTION_KEYS: KEYS,
      SECRET_KEY: 's'.repeat(40),
    });
    expect(code).toBe(1);
    expect(output).toContain(`pid ${child.pid}`);
    expect(output).toMatch(/stop the server/i);
    expect(output).toContain('POST /api/admin/signing-keys/rotate');
    expect(output).not.toMatch(/new active signing key|staged/);
  }, 60_000);
});
