// What the server and dashboard builds share: a build goes to a temporary folder that then
// replaces its output folder (nothing ever sees half a build), is stamped with when it started,
// counts as current while no source is newer than that, and parallel callers take turns through
// a lock directory, so the second one finds the first one's build current.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** Written last into a finished build: when it started, to compare with the sources. */
const STAMP = '.build-info.json';

export interface BuildTarget {
  /** The output folder a finished build replaces. */
  dist: string;
  /** A file every finished build has (a stamp without it is not a build). */
  entry: string;
  /** Files and folders whose changes make the build stale. */
  sources: string[];
  /** Files under the sources that do not count (tests). */
  ignore?: (path: string) => boolean;
  /** The lock directory parallel callers take turns through. */
  lock: string;
  /** How long a build may take; a lock older than this belongs to a build that died. */
  lockStaleMs: number;
}

function newestMtime(path: string, ignore: (path: string) => boolean): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return ignore(path) ? 0 : s.mtimeMs;
  let newest = s.mtimeMs;
  for (const entry of readdirSync(path)) {
    newest = Math.max(newest, newestMtime(join(path, entry), ignore));
  }
  return newest;
}

function builtAt(target: BuildTarget): number | null {
  try {
    const info = JSON.parse(readFileSync(join(target.dist, STAMP), 'utf8')) as {
      startedAt?: number;
    };
    return typeof info.startedAt === 'number' && existsSync(target.entry) ? info.startedAt : null;
  } catch {
    return null;
  }
}

export function buildIsCurrent(target: BuildTarget): boolean {
  const at = builtAt(target);
  if (at === null) return false;
  const ignore = target.ignore ?? (() => false);
  return Math.max(...target.sources.map((p) => newestMtime(p, ignore))) <= at;
}

/**
 * Runs `build(tmp)` into a fresh temporary folder `<prefix>-<pid>-<time>` beside the output,
 * stamps it and puts it in the output's place; a build that fails leaves the output as it was.
 */
export function buildInto(
  target: BuildTarget,
  tmpPrefix: string,
  build: (tmp: string) => void,
): void {
  const startedAt = Date.now();
  const tmp = `${tmpPrefix}-${process.pid}-${startedAt}`;
  try {
    build(tmp);
    writeFileSync(join(tmp, STAMP), `${JSON.stringify({ startedAt })}\n`);
    const old = `${tmpPrefix}-old-${process.pid}-${startedAt}`;
    try {
      renameSync(target.dist, old);
    } catch {
      // No previous build (or another build just moved it).
    }
    try {
      renameSync(tmp, target.dist);
    } catch {
      // Another build finished first and its output is in place: keep it.
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds when the output is missing or stale, one caller at a time; true when it built. */
export async function ensureBuild(target: BuildTarget, build: () => void): Promise<boolean> {
  if (buildIsCurrent(target)) return false;
  const deadline = Date.now() + target.lockStaleMs;
  for (;;) {
    try {
      mkdirSync(target.lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(target.lock).mtimeMs > target.lockStaleMs)
          rmSync(target.lock, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${target.lock}`);
      await sleep(250);
    }
  }
  try {
    if (buildIsCurrent(target)) return false;
    build();
    return true;
  } finally {
    rmSync(target.lock, { recursive: true, force: true });
  }
}
