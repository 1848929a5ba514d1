// Test-only PostgreSQL housekeeping: a migrated template database per run, cloned per test file.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseFromUrl } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';

export const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/** Only names we made: letters, digits, underscore. Quoted for SQL. */
export function databaseName(name: string): string {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`unexpected database name ${name}`);
  return `"${name}"`;
}

export function adminUrl(url: string): string {
  return url;
}

export function urlFor(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl(url) });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export async function migrateTemplate(url: string): Promise<string> {
  const name = `sb_${RUN_ID}_template`;
  await withAdmin(url, (c) => c.query(`create database ${databaseName(name)}`));
  const database = databaseFromUrl(urlFor(url, name), { poolSize: 2, timeoutMs: 10_000 });
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
  return name;
}

export async function cloneDatabase(url: string, template: string, runId: string): Promise<string> {
  const name = `sb_${runId}_${randomBytes(5).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await withAdmin(url, (c) =>
        c.query(`create database ${databaseName(name)} template ${databaseName(template)}`),
      );
      return name;
    } catch (err) {
      // Two clones of one template at the same instant can collide; try again shortly.
      if (attempt >= 10 || !/being accessed by other users/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  await withAdmin(url, (c) =>
    c.query(`drop database if exists ${databaseName(name)} with (force)`),
  );
}
