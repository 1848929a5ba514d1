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
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildTarget, buildInto, buildIsCurrent, ensureBuild } from './build-kit.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SERVER_DIST = join(ROOT, 'dist');
/** The compiled entry point: what `npm start`, process managers and containers run. */
export const SERVER_MAIN = join(SERVER_DIST, 'src', 'main.js');
/**
 * The node flags the server runs with (`npm start`, the README's production command, the bench).
 * V8 lets the old generation grow to a multiple of what survived the last full collection before
 * it collects again, and picks that multiple from the heap's limit: 4× under the default limit on
 * a machine with 16 GB or more (about 4 GB), about 1.6× under a 1 GB limit. Requests in flight
 * across two young-generation collections are promoted and die there, so under load the default
 * let a 40 MB live heap swell to 150 MB before it was collected (BENCHMARKS.md: RSS). 1 GB is
 * far above what the server holds (paginated reads, audio streamed to disk) and keeps RSS near
 * the live heap, for a major collection every second or so under load instead of every few.
 * The young generation's two semi-spaces may each grow to 16 MB by default (V8 on 64-bit); at 8
 * the server's RSS after the runtime bench's reads on the embedded database measured lower in
 * each of 7 paired runs, by 2-53 MB (mean 20; 260-289 MB against 286-313), and its CPU per
 * request no higher (/auth/me 0.52 ms against 0.56, prompts 0.49 against 0.50; main thread and
 * V8's helper threads together, three alternating turns each): a request's short-lived objects
 * die as well in 8 MB, collected twice as often, each collection as cheap (its cost is what
 * survives).
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  '--max-old-space-size=1024',
  '--max-semi-space-size=8',
];

/**
 * The environment the server runs with, unless the operator set these variables themselves
 * (`npm start`, the README's production command, the bench). glibc's malloc gives each thread that
 * allocates its own arena, up to eight per core, and rarely hands freed arena memory back: V8's
 * compiler and collector threads and libuv's pool (argon2 hashes, WebCrypto, file writes) each
 * may leave one behind, holding what they once needed. Two arenas held the embedded server
 * 60-90 MB lower after a first start while its initdb ran in a worker thread; since initdb runs
 * in a child process (src/db/pglite.ts) the difference measured is within noise: a bound, not a
 * saving. Read by glibc when the process starts, so it cannot be set from inside; other C
 * libraries ignore it.
 */
export const SERVER_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: '2',
});

/** `env` (this process's by default) with SERVER_ENV's variables where it sets none: npm start's rule. */
export function withServerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...SERVER_ENV, ...env };
}

const TARGET: BuildTarget = {
  dist: SERVER_DIST,
  entry: SERVER_MAIN,
  sources: ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) =>
    join(ROOT, p),
  ),
  ignore: (path) => /\.test\.ts$/.test(path),
  lock: join(ROOT, '.dist-lock'),
  // A lock older than five minutes belongs to a build that died.
  lockStaleMs: 300_000,
};

export function serverBuildIsCurrent(): boolean {
  return buildIsCurrent(TARGET);
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

/** tsc with `tsconfig` into `tmp`, then src/'s data files beside the compiled modules. */
function compile(tsconfig: string, tmp: string, quiet: boolean | undefined): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, tsconfig), '--outDir', tmp], {
    cwd: ROOT,
    stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
  });
  copyAssets(join(ROOT, 'src'), join(tmp, 'src'));
}

export function buildServer(options: { quiet?: boolean } = {}): void {
  buildInto(TARGET, join(ROOT, '.dist'), (tmp) =>
    compile('tsconfig.build.json', tmp, options.quiet),
  );
}

/**
 * The bench's servers (bench/*-server.ts) compiled the same way, with src/, into .dist-bench/:
 * `npm run bench` measures the JavaScript that production runs, not tsx's transpilation of it
 * (esbuild's output differs: keepNames wraps every function created per request in a
 * defineProperty call; forward-auth served 12–25% fewer requests under tsx on a 2-core VM).
 */
export const BENCH_DIST = join(ROOT, '.dist-bench');
const BENCH_TARGET: BuildTarget = {
  dist: BENCH_DIST,
  entry: join(BENCH_DIST, 'bench', 'server.js'),
  sources: ['src', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.bench.json'].map(
    (p) => join(ROOT, p),
  ),
  ignore: TARGET.ignore,
  lock: join(ROOT, '.dist-bench-lock'),
  lockStaleMs: 300_000,
};

export function ensureBenchBuild(): Promise<boolean> {
  return ensureBuild(BENCH_TARGET, () =>
    buildInto(BENCH_TARGET, join(ROOT, '.dist-bench-tmp'), (tmp) =>
      compile('tsconfig.bench.json', tmp, true),
    ),
  );
}

/**
 * Builds when dist/ is missing or stale. Parallel callers (two starts, test files) take turns
 * through a lock directory, so the second one finds the first one's build current.
 */
export function ensureServerBuild(options: { quiet?: boolean } = {}): Promise<boolean> {
  return ensureBuild(TARGET, () => buildServer(options));
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
