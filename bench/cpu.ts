// Where a scenario's CPU time goes, read from /proc (Linux): the server's main thread, its other
// threads (libuv's pool, where argon2 hashes; V8's helpers), every PostgreSQL process on the
// machine, and the bench process itself (the load generator). Taken before and after a measured
// load, divided by the requests it served: milliseconds of CPU per request. Elsewhere than Linux
// the snapshot is empty and no breakdown is printed.
import { readdirSync, readFileSync } from 'node:fs';

/** CPU by where it went: seconds so far in a snapshot, milliseconds per request in a result. */
export interface CpuSplit {
  main: number;
  otherThreads: number;
  postgres: number;
  bench: number;
}
type CpuSnapshot = CpuSplit;

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICKS = 100;

/**
 * utime + stime of a /proc stat line, in seconds (fields 14 and 15, after the command name), and
 * with `children` also cutime + cstime (16 and 17: the children it has waited for).
 */
function cpuSeconds(statLine: string, children = false): number {
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  const own = Number(fields[11]) + Number(fields[12]);
  return (children ? own + Number(fields[13]) + Number(fields[14]) : own) / TICKS;
}

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/**
 * Every PostgreSQL process's CPU, its reaped children's included. A backend that exits between two
 * snapshots (a pool closing a connection, an autovacuum worker finishing) would otherwise take
 * its whole CPU out of the second sum: the difference could come out below zero. Once the
 * postmaster has reaped it (at once, on SIGCHLD), its time is in the postmaster's cutime and
 * cstime, so the sum only grows. Backends fork no children of their own: nothing counts twice.
 */
function postgresSeconds(): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || !read(`/proc/${pid}/comm`)?.startsWith('postgres')) continue;
    const stat = read(`/proc/${pid}/stat`);
    if (stat) total += cpuSeconds(stat, true);
  }
  return total;
}

export function cpuSnapshot(serverPid: number): CpuSnapshot | null {
  if (!read(`/proc/${serverPid}/stat`)) return null;
  let main = 0;
  let otherThreads = 0;
  for (const tid of readdirSync(`/proc/${serverPid}/task`)) {
    const stat = read(`/proc/${serverPid}/task/${tid}/stat`);
    if (!stat) continue;
    if (tid === String(serverPid)) main = cpuSeconds(stat);
    else otherThreads += cpuSeconds(stat);
  }
  const own = process.cpuUsage();
  return { main, otherThreads, postgres: postgresSeconds(), bench: (own.user + own.system) / 1e6 };
}

/** Milliseconds of CPU per request between two snapshots. */
export function cpuPerRequest(
  before: CpuSnapshot | null,
  after: CpuSnapshot | null,
  requests: number,
): CpuSplit | undefined {
  if (!before || !after || requests <= 0) return undefined;
  const per = (k: keyof CpuSnapshot) => ((after[k] - before[k]) * 1000) / requests;
  return {
    main: per('main'),
    otherThreads: per('otherThreads'),
    postgres: per('postgres'),
    bench: per('bench'),
  };
}
