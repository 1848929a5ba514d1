// Planner statistics on the embedded database (src/db/embedded-analyze.ts): ANALYZE runs once the
// rows written pass the threshold, after the write has answered, and the page of a log is then
// read through its ordered index (20 rows) instead of every row of the org, filtered and sorted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery } from 'kysely';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from './database.ts';
import { autoAnalyze, BASE_ROWS, FRACTION } from './embedded-analyze.ts';
import { analyzerOf, databaseFromPGlite, rowCount } from './pglite.ts';

/** An AutoAnalyze whose ANALYZE only counts its runs and answers 10 000 rows. */
function counted(neverAnalysed?: () => Promise<boolean>) {
  let runs = 0;
  const a = autoAnalyze(
    async () => {
      runs++;
      return 10_000;
    },
    () => {},
    neverAnalysed,
  );
  return { a, runs: () => runs };
}

describe('autoAnalyze', () => {
  it('runs once the rows written pass BASE_ROWS, then BASE_ROWS + FRACTION of the rows counted', async () => {
    const { a, runs } = counted();
    a.written(BASE_ROWS - 1);
    await a.idle();
    expect(runs()).toBe(0);
    a.written(1);
    // Written while it runs: no second run, and they count towards the next one.
    a.written(50);
    await a.idle();
    expect(runs()).toBe(1);
    a.written(BASE_ROWS + FRACTION * 10_000 - 50 - 1);
    await a.idle();
    expect(runs()).toBe(1);
    a.written(1);
    await a.idle();
    expect(runs()).toBe(2);
  });

  it('runs at once when asked and the tables hold rows never analysed, not otherwise', async () => {
    for (const never of [true, false]) {
      const { a, runs } = counted(async () => never);
      await a.idle();
      expect(runs()).toBe(never ? 1 : 0);
      // After the run at open the threshold is BASE_ROWS + FRACTION × 10 000: BASE_ROWS written
      // start none; without that run they start the first.
      a.written(BASE_ROWS);
      await a.idle();
      expect(runs()).toBe(1);
      await a.stop();
    }
  });

  it('reports which step failed: the check at open, or ANALYZE', async () => {
    const steps: string[] = [];
    const check = autoAnalyze(
      async () => 0,
      (_err, step) => steps.push(step),
      async () => {
        throw new Error('no catalog');
      },
    );
    await check.idle();
    const analyze = autoAnalyze(
      async () => {
        throw new Error('busy');
      },
      (_err, step) => steps.push(step),
      async () => true,
    );
    await analyze.idle();
    expect(steps).toEqual(['check', 'analyze']);
    await check.stop();
    await analyze.stop();
  });

  it('reports a failed run and tries again at the next crossing; none starts once stopped', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const a = autoAnalyze(
      async () => {
        runs++;
        if (runs === 1) throw new Error('busy');
        return 0;
      },
      (err) => errors.push(err),
    );
    a.written(BASE_ROWS);
    await a.idle();
    expect(errors).toHaveLength(1);
    a.written(BASE_ROWS);
    await a.idle();
    expect(runs).toBe(2);
    await a.stop();
    a.written(10 * BASE_ROWS);
    await a.idle();
    expect(runs).toBe(2);
  });
});

describe('rowCount', () => {
  it('reads the rows written from a CommandComplete tag, and none from the others', () => {
    expect(rowCount('INSERT 0 3')).toBe(3);
    expect(rowCount('UPDATE 2')).toBe(2);
    expect(rowCount('DELETE 17')).toBe(17);
    expect(rowCount('MERGE 1')).toBe(1);
    expect(rowCount('COPY 250')).toBe(250);
    expect(rowCount('SELECT 20')).toBe(0);
    expect(rowCount('BEGIN')).toBe(0);
    expect(rowCount('CREATE TABLE')).toBe(0);
    expect(rowCount('INSERTED 5')).toBe(0);
  });
});

describe('the embedded database', () => {
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  const ORG = '01a23724-6d28-7720-a61a-a9dafecc950f';

  /** Rows of a log, one org's every sixth, as an INSERT statement. */
  const insertRows = (n: number) =>
    CompiledQuery.raw(
      `INSERT INTO log (id, org_id, body)
       SELECT gen_random_uuid(), CASE WHEN n % 6 = 0 THEN $1::uuid ELSE gen_random_uuid() END, 'x'
         FROM generate_series(1, $2::int) AS n`,
      [ORG, n],
    );

  /** A log indexed like calls, its rows written through the driver in one flight. */
  async function openWithLog(autoAnalyzeOn: boolean, flight = [insertRows(3000)]) {
    const pglite = await PGlite.create();
    await pglite.exec(`
      CREATE TABLE log (id uuid PRIMARY KEY, org_id uuid NOT NULL, agent_id uuid, body text);
      CREATE INDEX log_org_list_idx ON log (org_id, id DESC);
      CREATE INDEX log_org_agent_idx ON log (org_id, agent_id);
    `);
    database = databaseFromPGlite(pglite, { autoAnalyze: autoAnalyzeOn });
    // The check at open has seen empty tables: whatever runs next was set off by the writes.
    await analyzerOf(database)?.idle();
    await database.session((conn) => conn.flight(flight));
    await analyzerOf(database)?.idle();
    return pglite;
  }

  async function pagePlan(pglite: PGlite): Promise<string> {
    const { rows } = await pglite.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM log WHERE org_id = '${ORG}' ORDER BY id DESC LIMIT 21`,
    );
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  const analysed = async (pglite: PGlite) =>
    (
      await pglite.query<{ reltuples: number }>(
        `SELECT reltuples FROM pg_class WHERE relname = 'log'`,
      )
    ).rows[0]!.reltuples;

  it('is analysed after the write that crossed the threshold, and pages through the ordered index', async () => {
    const pglite = await openWithLog(true);
    expect(await analysed(pglite)).toBe(3000);
    expect(await pagePlan(pglite)).toMatch(/Index Scan using log_org_list_idx/);
  });

  it('counts the rows of every statement of a flight, not only the one whose answer is read', async () => {
    const half = Math.ceil(BASE_ROWS / 2);
    const pglite = await openWithLog(true, [
      CompiledQuery.raw('begin'),
      insertRows(half),
      insertRows(half),
      CompiledQuery.raw('commit'),
    ]);
    expect(await analysed(pglite)).toBe(2 * half);
  });

  it('analyses at open a database whose rows were written but never analysed', async () => {
    const pglite = await PGlite.create();
    await pglite.exec(`
      CREATE TABLE log (id uuid PRIMARY KEY, org_id uuid NOT NULL, agent_id uuid, body text);
      CREATE INDEX log_org_list_idx ON log (org_id, id DESC);
      CREATE TABLE empty (id int);
      INSERT INTO log (id, org_id, body)
        SELECT gen_random_uuid(), CASE WHEN n % 6 = 0 THEN '${ORG}'::uuid ELSE gen_random_uuid() END, 'x'
          FROM generate_series(1, 3000) AS n;
    `);
    expect(await analysed(pglite)).toBeLessThan(0);
    database = databaseFromPGlite(pglite, { autoAnalyze: true });
    await analyzerOf(database)?.idle();
    expect(await analysed(pglite)).toBe(3000);
    expect(await pagePlan(pglite)).toMatch(/Index Scan using log_org_list_idx/);
  });

  it('closes once the ANALYZE running then has ended: its statistics are on disk, nothing failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-analyze-'));
    try {
      const written = await PGlite.create({ dataDir: dir });
      await written.exec(`
        CREATE TABLE log (id uuid PRIMARY KEY, body text);
        INSERT INTO log SELECT gen_random_uuid(), 'x' FROM generate_series(1, 3000);
      `);
      await written.close();
      const warnings: unknown[] = [];
      const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
      const opened = databaseFromPGlite(await PGlite.create({ dataDir: dir }), {
        autoAnalyze: true,
        logger,
      });
      // At once: the check set off at open (and the ANALYZE it starts) has not even begun.
      await opened.close();
      expect(warnings).toEqual([]);
      const reopened = await PGlite.create({ dataDir: dir });
      try {
        expect(await analysed(reopened)).toBe(3000);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without it (the state every embedded database was in), no statistics and a sort over the whole org', async () => {
    const pglite = await openWithLog(false);
    expect(await analysed(pglite)).toBeLessThan(0);
    expect(await pagePlan(pglite)).toMatch(/Sort/);
  });
});
