// npm run openapi:export — regenerates web/src/api/openapi.json and schema.d.ts from the server's
// routes, on a throwaway in-memory database (PGlite, migrated, then discarded).
import { writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { migrateToLatest } from '../src/db/migrate.ts';
import { databaseFromPGlite } from '../src/db/pglite.ts';
import {
  generateOpenApiDocument,
  OPENAPI_JSON,
  OPENAPI_TYPES,
  openApiJsonText,
  openApiTypesText,
} from '../src/web/openapi-export.ts';

const database = databaseFromPGlite(await PGlite.create());
try {
  await migrateToLatest(database.db);
  const doc = await generateOpenApiDocument(database);
  writeFileSync(OPENAPI_JSON, openApiJsonText(doc));
  writeFileSync(OPENAPI_TYPES, await openApiTypesText(doc));
  const paths = Object.keys((doc as { paths?: object }).paths ?? {}).length;
  console.log(`wrote web/src/api/openapi.json and schema.d.ts (${paths} paths)`);
} finally {
  await database.close();
}
