// Builds the dashboard (web/) into web/dist with Vite.
//   tsx scripts/build-web.ts            build now (npm run build:web)
//   tsx scripts/build-web.ts --if-stale build only when web/dist is missing or older than its
//                                       sources (npm start runs this first: `prestart`)
// The build goes to a temporary folder that then replaces web/dist, so a server (or a second
// build running at the same time) never sees half a build.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildTarget, buildInto, buildIsCurrent, ensureBuild } from './build-kit.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WEB = join(ROOT, 'web');
export const DIST = join(WEB, 'dist');

const TARGET: BuildTarget = {
  dist: DIST,
  entry: join(DIST, 'index.html'),
  sources: ['src', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json'].map((p) =>
    join(WEB, p),
  ),
  lock: join(WEB, '.build-lock'),
  // A lock older than three minutes belongs to a build that died.
  lockStaleMs: 180_000,
};

export function webBuildIsCurrent(): boolean {
  return buildIsCurrent(TARGET);
}

export function buildWeb(options: { quiet?: boolean } = {}): void {
  const vite = join(
    dirname(createRequire(import.meta.url).resolve('vite/package.json')),
    'bin/vite.js',
  );
  buildInto(TARGET, join(WEB, '.build'), (tmp) => {
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
  });
}

/**
 * Builds when web/dist is missing or stale. Parallel callers (test files, two starts) take turns
 * through a lock directory, so the second one finds the first one's build current.
 */
export function ensureWebBuild(options: { quiet?: boolean } = {}): Promise<boolean> {
  return ensureBuild(TARGET, () => buildWeb(options));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--if-stale')) {
    if (await ensureWebBuild()) console.log('dashboard built into web/dist');
  } else {
    buildWeb();
  }
}
