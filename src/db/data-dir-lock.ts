// One process at a time on an embedded (PGlite) data directory. PGlite keeps the database in the
// process's memory and writes it back to the folder; a second process on the same folder works on
// its own copy, reports success, and one of the two silently overwrites the other's changes (a
// rotated signing key, a migration, accepted requests). So the opener takes a lock file first.
//
// The lock is a file created with an exclusive open (`wx`: fails if it exists) holding the owner's
// pid, host and start time. A lock whose owner is gone (crash, SIGKILL, power loss) is recovered:
// on the same host, a pid that no longer exists — or our own pid when this process does not hold
// the lock (a restarted container reuses pid 1) — is stale. The owner may name a helper, a
// process it started to write the folder (the embedded set-up): the lock is stale only once both
// are gone, since a helper outlives an owner killed alone.
// Threat: a pid is reused. After a crash, and surely after a reboot, the pid in the lock may
// belong to an unrelated process, and a check by pid alone would refuse every start until an
// operator deleted the file. So on Linux the lock also holds the kernel's boot id and each
// process's start time (clock ticks since boot, /proc/<pid>/stat): a lock from an earlier boot is
// stale, and a pid whose process started at another time is not the one that wrote it. Where
// /proc is missing (another OS) the pid alone decides, as before.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE_NAME = 'switchboard.lock';

interface LockOwner {
  pid: number;
  hostname: string;
  started_at: string;
  /**
   * A process the owner started to work on the folder (the embedded database's set-up, which
   * writes the cluster): the lock stays live while either runs, so a server killed alone during
   * its first start does not let the next one set up the same folder beside its helper.
   */
  helper_pid?: number;
  /** The kernel's boot id when the lock was written (Linux): another boot's lock is stale. */
  boot_id?: string;
  /** When `pid` started, in clock ticks since boot (Linux): tells it from a later reuse. */
  pid_start_ticks?: number;
  /** The same for `helper_pid`. */
  helper_start_ticks?: number;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dir: string,
    readonly lockFile: string,
    readonly owner: LockOwner,
  ) {
    const where = owner.hostname === hostname() ? '' : ` on host ${owner.hostname}`;
    const helper = owner.helper_pid ? `, or its set-up process pid ${owner.helper_pid}` : '';
    super(
      `the embedded database in ${dir} is in use by another process (pid ${owner.pid}${where}, ` +
        `started ${owner.started_at}${helper}); one process at a time may open it: stop that ` +
        `one first. If no such process is running, delete ${lockFile}`,
    );
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Names the process working on the folder for us (or none): the lock lives while it runs. */
  setHelper(pid: number | null): void;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** Lock files this process holds (absolute paths): our own pid in a lock we do not hold is stale. */
const heldHere = new Set<string>();

const PROCESS_STARTED_AT = new Date(Date.now() - process.uptime() * 1000).toISOString();

/** The running kernel's boot id, or undefined where the system has none to read. */
function currentBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat, counted
 * after the command name, which may hold spaces and parentheses); undefined when unreadable.
 */
function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

const BOOT_ID = currentBootId();
const OWN_START_TICKS = startTicks(process.pid);

const isPid = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isTicks = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const o = JSON.parse(raw) as Partial<LockOwner>;
    if (isPid(o.pid) && typeof o.hostname === 'string') {
      const owner: LockOwner = {
        pid: o.pid,
        hostname: o.hostname,
        started_at: typeof o.started_at === 'string' ? o.started_at : 'at an unknown time',
      };
      if (isPid(o.helper_pid)) owner.helper_pid = o.helper_pid;
      if (typeof o.boot_id === 'string') owner.boot_id = o.boot_id;
      if (isTicks(o.pid_start_ticks)) owner.pid_start_ticks = o.pid_start_ticks;
      if (isTicks(o.helper_start_ticks)) owner.helper_start_ticks = o.helper_start_ticks;
      return owner;
    }
  } catch {
    // fall through: not a lock we can read
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` still runs the process that started at `ticks` (when the lock recorded it). */
function isRunning(pid: number, ticks: number | undefined): boolean {
  if (!isAlive(pid)) return false;
  if (ticks === undefined) return true;
  const now = startTicks(pid);
  // Unreadable though alive (a hardened /proc): the pid alone decides.
  return now === undefined || now === ticks;
}

function isStale(file: string, owner: LockOwner): boolean {
  // A pid on another host cannot be checked from here (a data dir on a shared volume).
  if (owner.hostname !== hostname()) return false;
  // Written before the machine last booted: none of its processes still runs.
  if (owner.boot_id !== undefined && BOOT_ID !== undefined && owner.boot_id !== BOOT_ID) {
    return true;
  }
  if (owner.helper_pid !== undefined && isRunning(owner.helper_pid, owner.helper_start_ticks)) {
    return false;
  }
  if (owner.pid === process.pid) return !heldHere.has(file);
  return !isRunning(owner.pid, owner.pid_start_ticks);
}

function readLock(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Moves a stale lock out of the way, but only the one we judged: between our read and the move,
 * another opener may have recovered it and taken a fresh lock, which we must not delete.
 */
function removeStale(file: string, judged: string): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readLock(aside) !== judged) {
    // Someone else's live lock: put it back unless yet another lock took its place.
    try {
      linkSync(aside, file);
    } catch {
      // EEXIST: the place is taken again; the next attempt judges that one.
    }
  }
  unlinkSync(aside);
}

/**
 * Takes the lock on `dir` or throws DataDirLockedError naming the process that holds it.
 * Never waits for a live holder: a second server or `keys:rotate` must fail at once.
 */
export function lockDataDir(dir: string): DataDirLock {
  const file = join(dir, LOCK_FILE_NAME);
  const content = (helper: number | null) => {
    const owner: LockOwner = {
      pid: process.pid,
      hostname: hostname(),
      started_at: PROCESS_STARTED_AT,
    };
    if (BOOT_ID !== undefined) owner.boot_id = BOOT_ID;
    if (OWN_START_TICKS !== undefined) owner.pid_start_ticks = OWN_START_TICKS;
    if (helper) {
      owner.helper_pid = helper;
      const ticks = startTicks(helper);
      if (ticks !== undefined) owner.helper_start_ticks = ticks;
    }
    return `${JSON.stringify(owner)}\n`;
  };
  let mine = content(null);

  for (let attempt = 0; attempt < 20; attempt++) {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      heldHere.add(file);
      let released = false;
      return {
        file,
        setHelper(pid) {
          if (released || readLock(file) !== mine) return;
          // Written aside and renamed over: a reader sees the old content or the new, whole.
          const next = content(pid);
          const aside = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
          writeFileSync(aside, next, { mode: 0o600 });
          renameSync(aside, file);
          mine = next;
        },
        release() {
          if (released) return;
          released = true;
          heldHere.delete(file);
          try {
            if (readLock(file) === mine) unlinkSync(file);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    }

    const raw = readLock(file);
    if (raw === undefined) continue; // released meanwhile: try again
    const owner = parseOwner(raw);
    if (!owner) {
      // Created but not yet written by another opener, or a torn write after a crash: give the
      // writer a moment, then treat a lock that stays unreadable as stale.
      if (attempt < 10) {
        pause(25);
        continue;
      }
      removeStale(file, raw);
      continue;
    }
    if (!isStale(file, owner)) throw new DataDirLockedError(dir, file, owner);
    removeStale(file, raw);
  }
  throw new Error(`could not take the lock ${file}: it keeps changing under us`);
}
