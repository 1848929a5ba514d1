// Compiles the server (src/, tests left out) into dist/ with tsc and tsconfig.build.json, so
// production runs plain JavaScript: `node dist/src/main.js`, no TypeScript transpiler at run time.
//   tsx scripts/build-server.ts            build now (npm run build)
//   tsx scripts/build-server.ts --if-stale build only when dist/ is missing or older than its
//                                          sources (npm start runs this first: `prestart`)
// Relative imports keep their `.ts` extensions in the sources; `rewriteRelativeImportExtensions`
// turns them into `.js` in the output. Files under src/ that are not TypeScript (the password
// blocklist) are copied beside the compiled modules that read them. The build goes to a
// temporary folder that then replaces dist/, so a start never sees half a build, and type
// errors fail the build: what runs in production has passed the type checker.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
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
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SERVER_DIST = join(ROOT, 'dist');
/** The compiled entry point: what `npm start`, process managers and containers run. */
export const SERVER_MAIN = join(SERVER_DIST, 'src', 'main.js');
/** Written last into a finished build: when it started, to compare with the sources. */
const STAMP = '.build-info.json';
const SOURCES = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) =>
  join(ROOT, p),
);
const isTest = (name: string) => /\.test\.ts$/.test(name);

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return isTest(path) ? 0 : s.mtimeMs;
  let newest = s.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function builtAt(): number | null {
  try {
    const info = JSON.parse(readFileSync(join(SERVER_DIST, STAMP), 'utf8')) as {
      startedAt?: number;
    };
    return typeof info.startedAt === 'number' && existsSync(SERVER_MAIN) ? info.startedAt : null;
  } catch {
    return null;
  }
}

export function serverBuildIsCurrent(): boolean {
  const at = builtAt();
  if (at === null) return false;
  return Math.max(...SOURCES.map(newestMtime)) <= at;
}

/** Copies the files under src/ that are not TypeScript (data the modules read at run time). */
function copyAssets(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) {
      copyAssets(source, join(to, entry.name));
    } else if (!entry.name.endsWith('.ts')) {
      mkdirSync(to, { recursive: true });
      cpSync(source, join(to, entry.name));
    }
  }
}

export function buildServer(options: { quiet?: boolean } = {}): void {
  const startedAt = Date.now();
  const tmp = join(ROOT, `.dist-${process.pid}-${startedAt}`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(
      process.execPath,
      [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', tmp],
      {
        cwd: ROOT,
        stdio: options.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
      },
    );
    copyAssets(join(ROOT, 'src'), join(tmp, 'src'));
    writeFileSync(join(tmp, STAMP), `${JSON.stringify({ startedAt })}\n`);
    const old = join(ROOT, `.dist-old-${process.pid}-${startedAt}`);
    try {
      renameSync(SERVER_DIST, old);
    } catch {
      // No previous build.
    }
    try {
      renameSync(tmp, SERVER_DIST);
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
 * Builds when dist/ is missing or stale. Parallel callers (two starts, test files) take turns
 * through a lock directory, so the second one finds the first one's build current.
 */
export async function ensureServerBuild(options: { quiet?: boolean } = {}): Promise<boolean> {
  if (serverBuildIsCurrent()) return false;
  const lock = join(ROOT, '.dist-lock');
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than five minutes belongs to a build that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000)
          rmSync(lock, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await sleep(250);
    }
  }
  try {
    if (serverBuildIsCurrent()) return false;
    buildServer(options);
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    if (process.argv.includes('--if-stale')) {
      if (await ensureServerBuild()) console.log('server compiled into dist/');
    } else {
      buildServer();
    }
  } catch {
    // tsc has printed the errors.
    process.exit(1);
  }
}
