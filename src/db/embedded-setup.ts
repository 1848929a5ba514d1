// The set-up of an empty embedded data directory, run as its own short-lived process by
// openEmbeddedDatabase (pglite.ts): PGlite's initdb, then every migration, then exit. Both leave a
// process holding memory it cannot give back: initdb a second WebAssembly instance of ~700 MB,
// the migrations a grown WebAssembly heap and malloc arenas (a server that ran them itself stayed
// ~20-35 MB above a restarted one after the same load). A process gives everything back when it
// exits, and the server then opens the finished cluster exactly as on a restart.
//
//   node [--import tsx] embedded-setup.(ts|js) <pgdata dir>
//
// On success prints one JSON line, {"applied": [migration names]}, and exits 0; on failure writes
// what failed to stderr and exits 1 (the server quotes it).
import { PGlite } from '@electric-sql/pglite';
import { migrateToLatest } from './migrate.ts';
import { databaseFromPGlite, EMBEDDED_POSTGRES_CONF } from './pglite.ts';

async function setUp(dir: string): Promise<string[]> {
  const database = databaseFromPGlite(
    await PGlite.create({ dataDir: dir, postgresqlconf: EMBEDDED_POSTGRES_CONF }),
  );
  try {
    return await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
}

const [dir] = process.argv.slice(2);
try {
  if (!dir) throw new Error('usage: embedded-setup <pgdata dir>');
  const applied = await setUp(dir);
  process.stdout.write(`${JSON.stringify({ applied })}\n`, () => process.exit(0));
} catch (err) {
  // PGlite's file-system errors carry a WebAssembly errno and no message. (exit, not exitCode:
  // PGlite's runtime resets the latter.)
  const e = err as { message?: string; name?: string; errno?: number } | undefined;
  const what = e?.message || e?.name || String(err);
  process.stderr.write(`${what}${e?.errno !== undefined ? ` (errno ${e.errno})` : ''}`, () =>
    process.exit(1),
  );
}
