// Runs once per `npm test`: builds one migrated database that every test file clones.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../db/migrate.ts';
import { databaseFromPGlite } from '../db/pglite.ts';
import { adminUrl, databaseName, migrateTemplate, RUN_ID } from './pg-admin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteDump: string;
    pgTemplate: string;
    runId: string;
  }
}

export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  project.provide('runId', RUN_ID);
  if (url) {
    const template = await migrateTemplate(url);
    project.provide('pgTemplate', template);
    project.provide('pgliteDump', '');
    return async () => {
      const admin = new pg.Client({ connectionString: adminUrl(url) });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ datname: string }>(
          'select datname from pg_database where datname like $1',
          [`sb_${RUN_ID}_%`],
        );
        for (const r of rows) {
          await admin.query(`drop database if exists ${databaseName(r.datname)} with (force)`);
        }
      } finally {
        await admin.end();
      }
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'sb-test-'));
  const pglite = await PGlite.create();
  const database = databaseFromPGlite(pglite);
  await migrateToLatest(database.db);
  const dump = await pglite.dumpDataDir('none');
  const file = join(dir, 'template.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await database.close();
  project.provide('pgliteDump', file);
  project.provide('pgTemplate', '');
  return () => rmSync(dir, { recursive: true, force: true });
}
