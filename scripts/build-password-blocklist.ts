// Rebuilds src/security/data/common-passwords.txt, the shipped blocklist of common/breached
// passwords (NIST SP 800-63B rev. 4). Run by hand only, never at install or test time:
//
//   npx tsx scripts/build-password-blocklist.ts
//
// Source: the `passwords-common` dictionary of the npm package @zxcvbn-ts/language-common
// (pinned below; https://github.com/zxcvbn-ts/zxcvbn), a frequency-ranked list of passwords
// from public breach corpora that zxcvbn-ts uses for strength estimation.
// Licence: MIT — Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.; Copyright (c) 2021
// @zxcvbn-ts. The list is data taken from that package; its LICENSE travels with this note.
//
// The package is installed into a throw-away directory so it never becomes a dependency of the
// project. Output: one password per line, NFKC-normalised, lower-cased, deduplicated, in the
// source's order (most common first).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const SOURCE_PACKAGE = '@zxcvbn-ts/language-common@4.1.3';
const OUTPUT = new URL('../src/security/data/common-passwords.txt', import.meta.url);

function installSource(dir: string): void {
  execFileSync('npm', ['init', '-y'], { cwd: dir, stdio: 'ignore' });
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', SOURCE_PACKAGE], {
    cwd: dir,
    stdio: 'inherit',
  });
}

async function loadSourceList(dir: string): Promise<string[]> {
  const entry = join(dir, 'node_modules/@zxcvbn-ts/language-common/dist/index.mjs');
  const mod = (await import(pathToFileURL(entry).href)) as {
    dictionary: Record<string, unknown>;
  };
  const list = mod.dictionary['passwords-common'];
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    throw new Error(`${SOURCE_PACKAGE}: dictionary 'passwords-common' is not a list of strings`);
  }
  return list;
}

/** Same folding as the policy's lookup, so every line can actually match. */
function canonicalise(list: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const raw of list) {
    const p = raw.normalize('NFKC').toLowerCase();
    if (p !== '' && !/[\r\n]/.test(p)) seen.add(p);
  }
  return [...seen];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'password-blocklist-'));
  try {
    installSource(dir);
    const passwords = canonicalise(await loadSourceList(dir));
    if (passwords.length < 10_000) throw new Error(`only ${passwords.length} passwords`);
    writeFileSync(OUTPUT, `${passwords.join('\n')}\n`);
    console.log(`wrote ${passwords.length} passwords to ${OUTPUT.pathname}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
