// Builds the dashboard (web/) into web/dist with Vite.
//   tsx scripts/build-web.ts            build now (npm run build:web)
//   tsx scripts/build-web.ts --if-stale build only when web/dist is missing or older than its
//                                       sources (npm start runs this first: `prestart`)
// The build goes to a temporary folder that then replaces web/dist, so a server (or a second
// build running at the same time) never sees half a build.
import { execFileSync } from 'node:child_process';
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
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WEB = join(ROOT, 'web');
export const DIST = join(WEB, 'dist');
/** Written last into a finished build: when it started, to compare with the sources. */
const STAMP = '.build-info.json';
const SOURCES = ['src', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json'].map((p) =>
  join(WEB, p),
);

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function builtAt(): number | null {
  try {
    const info = JSON.parse(readFileSync(join(DIST, STAMP), 'utf8')) as { startedAt?: number };
    return typeof info.startedAt === 'number' && existsSync(join(DIST, 'index.html'))
      ? info.startedAt
      : null;
  } catch {
    return null;
  }
}

export function webBuildIsCurrent(): boolean {
  const at = builtAt();
  if (at === null) return false;
  return Math.max(...SOURCES.map(newestMtime)) <= at;
}

export function buildWeb(options: { quiet?: boolean } = {}): void {
  const startedAt = Date.now();
  const tmp = join(WEB, `.build-${process.pid}-${startedAt}`);
  const vite = join(
    dirname(createRequire(import.meta.url).resolve('vite/package.json')),
    'bin/vite.js',
  );
  try {
    // A child process with NODE_ENV=production: under a test runner NODE_ENV is "test", which
    // would make Vite bundle React's development build.
    execFileSync(
      process.execPath,
      [vite, 'build', '--config', join(WEB, 'vite.config.ts'), '--outDir', tmp, '--emptyOutDir'],
      {
        cwd: ROOT,
        stdio: options.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
        env: { ...process.env, NODE_ENV: 'production' },
      },
    );
    writeFileSync(join(tmp, STAMP), `${JSON.stringify({ startedAt })}\n`);
    const old = join(WEB, `.build-old-${process.pid}-${startedAt}`);
    try {
      renameSync(DIST, old);
    } catch {
      // No previous build (or another build just moved it).
    }
    try {
      renameSync(tmp, DIST);
    } catch {
      // Another build finished first and its output is in place: keep it.
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds when web/dist is missing or stale. Parallel callers (test files, two starts) take turns
 * through a lock directory, so the second one finds the first one's build current.
 */
export async function ensureWebBuild(options: { quiet?: boolean } = {}): Promise<boolean> {
  if (webBuildIsCurrent()) return false;
  const lock = join(WEB, '.build-lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than three minutes belongs to a build that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 180_000)
          rmSync(lock, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await sleep(250);
    }
  }
  try {
    if (webBuildIsCurrent()) return false;
    buildWeb(options);
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--if-stale')) {
    if (await ensureWebBuild()) console.log('dashboard built into web/dist');
  } else {
    buildWeb();
  }
}
