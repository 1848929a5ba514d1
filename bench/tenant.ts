// Tenant-scoped reads next to their unguarded baseline (bench/run.ts calls tenantScenarios):
// `GET /api/prompts`, `GET /api/calls` and `GET /auth/me` on Switchboard (bearer token, RLS
// forced, tenant context in the transaction) and the same repository SELECTs on a bare Fastify
// with no auth, RLS or transaction (bench/tenant-server.ts), on each database, in the same run.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

export interface TenantRow {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

interface Target {
  port: number;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

async function start(mode: 'app' | 'baseline', dbKind: 'pglite' | 'postgres'): Promise<Target> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/tenant-server.ts', mode, dbKind],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_ENV: 'test' },
    },
  );
  const rl = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`tenant bench server exited (${code})`)));
  });
  return {
    ...JSON.parse(first),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function measure(
  scenario: string,
  t: Target,
  opts: { duration: number; connections: number },
  path: string,
): Promise<TenantRow> {
  const run = (duration: number) =>
    autocannon({
      url: `http://127.0.0.1:${t.port}${path}`,
      connections: opts.connections,
      duration,
      headers: t.headers,
    });
  await run(2); // warm-up: JIT, caches, pool
  const r = await run(opts.duration);
  const errors = r.non2xx + r.errors + r.timeouts;
  console.log(
    `${scenario}: ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms, non-2xx ${errors}`,
  );
  return { scenario, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors };
}

const ROUTES = [
  ['`GET /api/prompts` (20 rows)', '/api/prompts?limit=20'],
  ['`GET /api/calls` (20 rows)', '/api/calls?limit=20'],
  ['`GET /auth/me`', '/auth/me'],
] as const;

/** Rows for the main table and a markdown section with the ratio of each route to its baseline. */
export async function tenantScenarios(opts: {
  duration: number;
  connections: number;
  postgres: boolean;
}): Promise<{ rows: TenantRow[]; markdown: string }> {
  const rows: TenantRow[] = [];
  const lines = [
    '| Route | Database | Switchboard req/s | Unguarded baseline req/s | Ratio (goal ≥ 0.8) |',
    '| --- | --- | ---: | ---: | ---: |',
  ];
  for (const kind of ['pglite', ...(opts.postgres ? ['postgres' as const] : [])] as const) {
    const label = kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL';
    const measured: Record<string, Record<string, TenantRow>> = { app: {}, baseline: {} };
    for (const mode of ['baseline', 'app'] as const) {
      const t = await start(mode, kind);
      try {
        for (const [name, path] of ROUTES) {
          const row = await measure(
            `${name}, ${label}${mode === 'baseline' ? ', unguarded baseline' : ', tenant-scoped'}`,
            t,
            opts,
            path,
          );
          measured[mode]![name] = row;
          rows.push(row);
        }
      } finally {
        await t.stop();
      }
    }
    for (const [name] of ROUTES) {
      const app = measured.app![name]!;
      const base = measured.baseline![name]!;
      lines.push(
        `| ${name} | ${label} | ${Math.round(app.rps)} | ${Math.round(base.rps)} | ${(app.rps / base.rps).toFixed(2)} |`,
      );
    }
  }
  return { rows, markdown: lines.join('\n') };
}
