// Only repositories write SQL (ARCHITECTURE.md, Layers): a route or a service that builds a query
// is where an unscoped read or a missing org filter hides from the review of repositories.
// Allowed: *.repository.ts, src/db/** (connection, tenant context, locks, migrations) and tests
// with their support code (src/test/). Import direction is src/architecture.test.ts's concern.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('./', import.meta.url));

/** Query building (Kysely's builders) and raw SQL (the `sql` tag, with or without a type). */
const SQL =
  /\b(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\b|\bsql(<[^`]*>)?`|\bsql\.(raw|lit|ref|id|join|table|val)\b/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

const mayWriteSql = (file: string) =>
  file.endsWith('.repository.ts') ||
  file.endsWith('.test.ts') ||
  file.startsWith('db/') ||
  file.startsWith('test/');

/** Lines that build SQL, as "file:line: text"; comment lines do not count. */
function sqlLines(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => {
    const code = line.trim();
    if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return [];
    return SQL.test(code) ? [`${file}:${i + 1}: ${code}`] : [];
  });
}

describe('layers', () => {
  const all = files(SRC).map((abs) => ({ file: relative(SRC, abs).split(sep).join('/'), abs }));

  it('the check sees each way of writing SQL, and not prose about it', () => {
    const hits = [
      "tx.selectFrom('orgs').select('id')",
      "await tx.insertInto('users').values(row).execute();",
      '.updateTable("sessions")',
      "tx.deleteFrom('x')",
      'await sql`select 1`.execute(tx);',
      "sql<number>`count(*)`.as('n')",
      "sql.raw('BEGIN')",
      'sql.lit(LOCK_ID)',
    ];
    for (const line of hits) expect(sqlLines('x.ts', line), line).toHaveLength(1);
    const misses = [
      '// tx.selectFrom(...) lives in the repository',
      ' * sql`…` is for repositories',
      'const sqlState = err.code;',
      "import { listAudit } from './audit.repository.ts';",
    ];
    for (const line of misses) expect(sqlLines('x.ts', line), line).toEqual([]);
  });

  it('finds the sources, and repositories that do write SQL', () => {
    expect(all.some((f) => f.file === 'app.ts')).toBe(true);
    const repositories = all.filter((f) => f.file.endsWith('.repository.ts'));
    expect(repositories.length).toBeGreaterThan(5);
    for (const r of repositories)
      expect(sqlLines(r.file, readFileSync(r.abs, 'utf8'))).not.toEqual([]);
  });

  it('no file outside repositories, src/db and tests builds SQL', () => {
    const bad = all
      .filter((f) => !mayWriteSql(f.file))
      .flatMap((f) => sqlLines(f.file, readFileSync(f.abs, 'utf8')));
    expect(bad).toEqual([]);
  });
});
