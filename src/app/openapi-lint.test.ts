// The OpenAPI document the app generates passes Redocly's recommended ruleset with no error and
// no warning, as an integrator's linter or client generator would run it. The installed CLI
// (@redocly/cli, node_modules) runs offline: telemetry and the update check are turned off, and
// src/test/offline.cjs is preloaded so any attempt at the network fails the test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatedOpenApiDocument } from '../test/openapi.ts';
import { openApiJsonText } from '../web/openapi-export.ts';

const REDOCLY = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');
const OFFLINE = fileURLToPath(new URL('../test/offline.cjs', import.meta.url));

interface LintProblem {
  ruleId: string;
  severity: string;
  message: string;
  location: { pointer?: string }[];
}

/** Runs `redocly lint` on a document, offline, with the built-in recommended ruleset. */
function lint(doc: object) {
  // Its own directory: no redocly.yaml of this repository (or above it) can change the rules.
  const dir = mkdtempSync(join(tmpdir(), 'sb-openapi-lint-'));
  try {
    writeFileSync(join(dir, 'openapi.json'), openApiJsonText(doc));
    const run = spawnSync(
      process.execPath,
      [
        '--require',
        OFFLINE,
        REDOCLY,
        'lint',
        'openapi.json',
        '--extends=recommended',
        '--format=json',
        '--max-problems=1000',
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          REDOCLY_TELEMETRY: 'off',
          REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
          NO_COLOR: '1',
        },
      },
    );
    const json = run.stdout.slice(run.stdout.indexOf('{'));
    const report = JSON.parse(json) as {
      totals: { errors: number; warnings: number };
      problems: LintProblem[];
    };
    return { report, stderr: run.stderr, status: run.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const readable = (problems: LintProblem[]) =>
  problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);

let doc: object;
beforeAll(async () => {
  doc = await generatedOpenApiDocument();
});

describe('the OpenAPI document under Redocly lint (recommended)', () => {
  it('has no error and no warning, and the linter never touched the network', () => {
    const { report, stderr, status } = lint(doc);
    expect(readable(report.problems)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(status).toBe(0);
    expect(stderr).not.toContain('OFFLINE GUARD');
  });

  it('the offline guard does catch a connection attempt', () => {
    const run = spawnSync(
      process.execPath,
      ['--require', OFFLINE, '-e', "fetch('https://redocly.com/').catch(() => {})"],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.stderr).toMatch(/OFFLINE GUARD: .*redocly\.com/);
  });

  it('the lint can fail: a document without an operationId or a 4xx answer is reported', () => {
    const broken = structuredClone(doc) as {
      paths: Record<string, Record<string, { operationId?: string; responses: object }>>;
    };
    const health = broken.paths['/health']?.get;
    expect(health).toBeDefined();
    delete health?.operationId;
    if (health) health.responses = { 200: { description: 'ok' } };
    const { report } = lint(broken);
    expect(report.problems.map((p) => p.ruleId).sort()).toEqual([
      'operation-4xx-response',
      'operation-operationId',
    ]);
  });
});
