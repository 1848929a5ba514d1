// The OpenAPI document as the server generates it, for the tests that check or lint it.
import { generateOpenApiDocument } from '../web/openapi-export.ts';
import { createTestDatabase } from './db.ts';

/** Generates the document over a fresh test database, closed again once it is built. */
export async function generatedOpenApiDocument(): Promise<object> {
  const database = await createTestDatabase();
  try {
    return await generateOpenApiDocument(database);
  } finally {
    await database.close();
  }
}
