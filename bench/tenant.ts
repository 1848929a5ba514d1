// Tenant-scoped reads next to their unguarded baseline (bench/run.ts calls tenantScenarios):
// `GET /api/prompts`, `GET /api/calls` and `GET /auth/me` on Switchboard (bearer token, RLS
// forced, tenant context in the transaction) and the same repository SELECTs on a bare Fastify
// with no auth, RLS or transaction (bench/tenant-server.ts), on each database, in the same run.
import { type LoadRow, measureLoad, medianTurn, ROUNDS, startBenchServer } from './kit.ts';

interface Target {
  port: number;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

async function start(mode: 'app' | 'baseline', dbKind: 'pglite' | 'postgres'): Promise<Target> {
  const server = await startBenchServer<Omit<Target, 'stop'>>('bench/tenant-server.ts', [
    mode,
    dbKind,
  ]);
  return { ...server.info, stop: server.stop };
}

async function measure(
  scenario: string,
  t: Target,
  opts: { duration: number; connections: number },
  path: string,
): Promise<LoadRow> {
  return measureLoad(
    scenario,
    {
      url: `http://127.0.0.1:${t.port}${path}`,
      connections: opts.connections,
      headers: t.headers,
    },
    opts.duration,
  );
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
}): Promise<{ rows: LoadRow[]; markdown: string }> {
  const rows: LoadRow[] = [];
  const lines = [
    '| Route | Database | Switchboard req/s | Unguarded baseline req/s | Ratio (goal ≥ 0.8) |',
    '| --- | --- | ---: | ---: | ---: |',
  ];
  for (const kind of ['pglite', ...(opts.postgres ? ['postgres' as const] : [])] as const) {
    const label = kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL';
    const measured: Record<string, Record<string, LoadRow>> = { app: {}, baseline: {} };
    // Both servers run side by side (an idle one costs nothing) and each route is measured in
    // ROUNDS alternating turns, baseline then Switchboard: a change in the machine's load during
    // the run reaches both sides alike instead of one. Each side's row is its median turn.
    const targets = { baseline: await start('baseline', kind), app: await start('app', kind) };
    try {
      const turn = Math.max(2, Math.round(opts.duration / ROUNDS));
      for (const [name, path] of ROUTES) {
        const turns: Record<'app' | 'baseline', LoadRow[]> = { app: [], baseline: [] };
        for (let round = 0; round < ROUNDS; round++) {
          for (const mode of ['baseline', 'app'] as const) {
            const scenario = `${name}, ${label}${mode === 'baseline' ? ', unguarded baseline' : ', tenant-scoped'}`;
            turns[mode].push(
              await measure(scenario, targets[mode], { ...opts, duration: turn }, path),
            );
          }
        }
        for (const mode of ['baseline', 'app'] as const) {
          const row = medianTurn(turns[mode]);
          measured[mode]![name] = row;
          rows.push(row);
        }
      }
    } finally {
      await targets.baseline.stop();
      await targets.app.stop();
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
