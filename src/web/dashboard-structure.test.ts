// The dashboard's layering (ARCHITECTURE.md): a feature never imports another feature, except the
// one shared feature folder (features/voice-shared: voice code two or more features use), which
// itself imports no feature; shared code (lib/, components/) never imports a feature or the app
// shell. Only app/ composes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../web/src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a file, resolved to paths under web/src (e.g. "features/auth/x.tsx"). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)].map(
    (m) => m[1] as string,
  );
  return specs.map((s) =>
    relative(SRC, resolve(dirname(file), s))
      .split(sep)
      .join('/'),
  );
}

/** The one feature folder every feature may import; it may import no other feature. */
const SHARED_FEATURE = 'features/voice-shared';

const area = (path: string) => {
  const [top, feature] = path.split('/');
  return top === 'features' ? `features/${feature}` : top;
};

describe('dashboard structure', () => {
  const all = files(SRC).map((f) => ({ file: relative(SRC, f).split(sep).join('/'), abs: f }));

  it('finds the dashboard sources', () => {
    expect(all.some((f) => f.file.startsWith('features/'))).toBe(true);
  });

  it('no feature imports another feature (but the shared one)', () => {
    const bad: string[] = [];
    for (const { file, abs } of all.filter((f) => f.file.startsWith('features/'))) {
      for (const target of importsOf(abs)) {
        if (!target.startsWith('features/') || area(target) === area(file)) continue;
        if (area(target) === SHARED_FEATURE && area(file) !== SHARED_FEATURE) continue;
        bad.push(`${file} → ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the shared feature folder is the only one of its kind, and exists', () => {
    const shared = new Set(
      all
        .map((f) => area(f.file))
        .filter((a) => a?.startsWith('features/') && a.endsWith('-shared')),
    );
    expect([...shared]).toEqual([SHARED_FEATURE]);
  });

  it('lib/ and components/ import neither features nor the app shell', () => {
    const bad: string[] = [];
    for (const { file, abs } of all.filter((f) => /^(lib|components)\//.test(f.file))) {
      for (const target of importsOf(abs)) {
        if (/^(features|app)\//.test(target)) bad.push(`${file} → ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no page stores anything in localStorage or sessionStorage (the session is cookies)', () => {
    const bad = all
      .filter(({ abs }) => /\b(localStorage|sessionStorage)\b/.test(readFileSync(abs, 'utf8')))
      .map((f) => f.file);
    expect(bad).toEqual([]);
  });
});
