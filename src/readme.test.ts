// README's quick start, run as written: every ```sh block marked `<!-- readme-test -->` is
// executed by bash, in order, in one shell, against a real server listening on a free port (the
// test sets BASE). A block that fails fails the test, naming it; so does a block that
// disappears, or a step of the quick start that is no longer shown.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './test/app.ts';

const README = join(import.meta.dirname, '..', 'README.md');
const MARK = '<!-- readme-test -->';

/** The marked blocks of README.md, in order. */
function readmeBlocks(text: string): string[] {
  const blocks: string[] = [];
  const re = new RegExp(`${MARK}\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\`\\n`, 'g');
  for (const m of text.matchAll(re)) blocks.push(m[1]!);
  // A marker without a well-formed block under it would silently drop that block.
  expect(text.split(MARK).length - 1, 'every marker is followed by a ```sh block').toBe(
    blocks.length,
  );
  return blocks;
}

function bash(script: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    // Asynchronous on purpose: the server answering the blocks runs in this process.
    const child = spawn('bash', ['-c', script], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let t: TestApp;
let base: string;
let cwd: string;
beforeAll(async () => {
  t = await buildTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  cwd = mkdtempSync(join(tmpdir(), 'sb-readme-'));
});
afterAll(async () => {
  await t?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe('README quick start', () => {
  it('shows every step: sign-up, bearer, cookies + CSRF, a prompt, the sessions', () => {
    const blocks = readmeBlocks(readFileSync(README, 'utf8'));
    expect(blocks).toHaveLength(6);
    const all = blocks.join('\n');
    for (const step of [
      'POST "$BASE/api/auth/register"',
      'POST "$BASE/api/auth/login"',
      'Authorization: Bearer $TOKEN',
      '-c cookies.txt',
      'X-CSRF-Token: $CSRF',
      'POST "$BASE/api/prompts"',
      '"$BASE/api/auth/sessions"',
      '"$BASE/api/orgs/current/usage"',
      '"$BASE/api/orgs/current/quotas"',
    ]) {
      expect(all).toContain(step);
    }
  });

  it('runs as written against a started server', async () => {
    const blocks = readmeBlocks(readFileSync(README, 'utf8'));
    // One shell, so variables carry from block to block; the first failing command stops it.
    const script = [
      'set -euo pipefail',
      ...blocks.flatMap((b, i) => [b, `echo; echo "@@ block ${i + 1} ok"`]),
    ].join('\n');
    const r = await bash(script, cwd, { BASE: base });
    const done = [...r.stdout.matchAll(/@@ block (\d+) ok/g)].length;
    expect(
      { code: r.code, failedBlock: done < blocks.length ? blocks[done] : null },
      `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
    ).toEqual({ code: 0, failedBlock: null });

    // What the blocks printed is what each step promises.
    const out = r.stdout;
    expect(out).toContain('"kind":"company"'); // the sign-up made a company org
    expect(out).toContain('"email":"ada@example.com"');
    expect(out).toContain('"name":"Acme Voice"'); // GET /api/orgs/current with cookies
    expect(out).toContain('"full_name":"Ada King"'); // the cookie + CSRF write
    expect(out).toContain('"name":"Receptionist"');
    expect(out.match(/"current":/g)?.length).toBe(3); // three sessions listed
    expect(out).toContain('"device_sockets":{"live":0'); // the usage, under the limits
    expect(out).toContain('"max_scheduled_calls_per_day":500'); // the owner's new limits
  }, 60_000);
});
