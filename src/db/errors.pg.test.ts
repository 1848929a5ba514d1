// The transient refusals PostgreSQL answers a transaction it rolled back — a deadlock's victim
// (40P01) and a serialization failure (40001) — read as "busy, try again" (503 database_busy with
// Retry-After, src/http/problem.ts) like a lock wait past its limit, never as a 500: nothing of
// the transaction was applied. Real errors of a real server (runs only with DATABASE_URL).
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { isDatabaseBusy } from './errors.ts';

let database: TestDatabase;
const clients: pg.Client[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const setup = await client();
  await setup.query('CREATE TABLE zz_busy (id int PRIMARY KEY, n int NOT NULL)');
  await setup.query('INSERT INTO zz_busy VALUES (1, 0), (2, 0)');
});
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await database?.close();
});

async function client() {
  const c = new pg.Client({ connectionString: database.url! });
  await c.connect();
  clients.push(c);
  return c;
}

/** Runs both, returns the error of the one that failed. */
async function oneFails(a: Promise<unknown>, b: Promise<unknown>): Promise<unknown> {
  const results = await Promise.allSettled([a, b]);
  const failed = results.filter((r) => r.status === 'rejected');
  expect(failed).toHaveLength(1);
  return (failed[0] as PromiseRejectedResult).reason;
}

it('a deadlock victim (40P01) is busy', async () => {
  const [x, y] = [await client(), await client()];
  await x.query('BEGIN');
  await y.query('BEGIN');
  await x.query('UPDATE zz_busy SET n = n + 1 WHERE id = 1');
  await y.query('UPDATE zz_busy SET n = n + 1 WHERE id = 2');
  const err = await oneFails(
    x.query('UPDATE zz_busy SET n = n + 1 WHERE id = 2'),
    y.query('UPDATE zz_busy SET n = n + 1 WHERE id = 1'),
  );
  await x.query('ROLLBACK');
  await y.query('ROLLBACK');
  expect((err as { code?: string }).code).toBe('40P01');
  expect(isDatabaseBusy(err)).toBe(true);
});

it('a serialization failure (40001) is busy', async () => {
  const [x, y] = [await client(), await client()];
  await x.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  await y.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  await x.query('SELECT n FROM zz_busy WHERE id = 1');
  await y.query('SELECT n FROM zz_busy WHERE id = 1');
  await x.query('UPDATE zz_busy SET n = n + 1 WHERE id = 1');
  // Its refusal is caught from the start: it can arrive before the COMMIT's answer, and a
  // rejection nobody handles yet fails the run.
  const waiting = y.query('UPDATE zz_busy SET n = n + 1 WHERE id = 1').then(
    () => undefined,
    (e: unknown) => e,
  );
  await x.query('COMMIT');
  const err = await waiting;
  await y.query('ROLLBACK');
  expect((err as { code?: string }).code).toBe('40001');
  expect(isDatabaseBusy(err)).toBe(true);
});

it('other errors are not', async () => {
  const x = await client();
  const err = await x.query('SELECT 1/0').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isDatabaseBusy(err)).toBe(false);
});
