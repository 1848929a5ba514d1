// A database that cannot be opened at start is one line naming DATABASE_URL (or DATA_DIR), never
// its password, and exit 1: in the server, `npm run migrate` and `npm run keys:rotate` alike.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { activeSigningKid } from '../auth/signing-key.repository.ts';
import { ensureSigningKey, loadKeyRing } from '../auth/signing-keys.ts';
import { loadConfig } from '../config.ts';
import { redactConnectionUrl } from '../infra/url.ts';
import { describeDatabaseOpenError } from './connect-error.ts';
import { openDatabase } from './database.ts';
import { migrateToLatest } from './migrate.ts';
import { withSystem } from './tenant.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sb-connect-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const PASSWORD = 's3cret-pw-never-shown';
const pgConfig = (url: string) => ({ database: { url }, dataDir });

/** A DatabaseError as pg throws it (a SQLSTATE in `code`). */
function pgError(code: string, message: string) {
  return Object.assign(new Error(message), { code, severity: 'FATAL' });
}

describe('describeDatabaseOpenError', () => {
  it('names DATABASE_URL without its password for an unreachable server', () => {
    const url = `postgres://switchboard:${PASSWORD}@127.0.0.1:1/test?password=${PASSWORD}`;
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    const why = describeDatabaseOpenError(err, pgConfig(url));
    expect(why).toMatch(
      /^cannot reach the database at DATABASE_URL \(postgres:\/\/switchboard@127\.0\.0\.1:1\/test\?password=\*\*\*: ECONNREFUSED\)/,
    );
    expect(why).not.toContain(PASSWORD);
    // Through an AggregateError (every address of a name refused) as well.
    const many = new AggregateError([err, err], 'connect failed');
    expect(describeDatabaseOpenError(many, pgConfig(url))).toContain('ECONNREFUSED');
  });

  it('says what the server refused: unknown role, unknown database, wrong password', () => {
    const url = `postgres://nobody:${PASSWORD}@db.internal:5432/nodb`;
    for (const [code, message] of [
      ['28000', 'role "nobody" does not exist'],
      ['3D000', 'database "nodb" does not exist'],
      ['28P01', 'password authentication failed for user "nobody"'],
    ] as const) {
      const why = describeDatabaseOpenError(pgError(code, message), pgConfig(url));
      expect(why).toContain(
        `the database at DATABASE_URL (postgres://nobody@db.internal:5432/nodb) refused the connection: ${message} (${code}`,
      );
      expect(why).not.toContain(PASSWORD);
    }
    // pg's own connect timeout has no code.
    const timeout = new Error('Connection terminated due to connection timeout');
    expect(describeDatabaseOpenError(timeout, pgConfig(url))).toContain('DATABASE_TIMEOUT_MS');
  });

  it('leaves other errors alone (the caller rethrows them)', () => {
    const url = 'postgres://u@127.0.0.1/test';
    expect(describeDatabaseOpenError(new Error('boom'), pgConfig(url))).toBeUndefined();
    expect(
      describeDatabaseOpenError(pgError('42P01', 'relation does not exist'), pgConfig(url)),
    ).toBeUndefined();
    // A migration the user may not run (CREATE ROLE without CREATEROLE) is no refused
    // connection: its own error, naming the statement, says what to grant.
    expect(
      describeDatabaseOpenError(
        pgError('42501', 'permission denied to create role'),
        pgConfig(url),
      ),
    ).toBeUndefined();
    // Refused at the door, the same code is the connection's.
    expect(
      describeDatabaseOpenError(
        pgError('42501', 'permission denied for database test'),
        pgConfig(url),
      ),
    ).toMatch(/refused the connection/);
  });

  it('names DATA_DIR when the embedded database cannot be written', () => {
    const err = Object.assign(new Error(`EACCES: permission denied, mkdir '${dataDir}/pgdata'`), {
      code: 'EACCES',
    });
    expect(describeDatabaseOpenError(err, { database: { url: undefined }, dataDir })).toContain(
      `cannot open the embedded database in DATA_DIR ${dataDir} (EACCES`,
    );
  });

  it('redacts the password of a URL', () => {
    expect(redactConnectionUrl(`postgres://u:${PASSWORD}@h:5432/d`)).toBe('postgres://u@h:5432/d');
    expect(redactConnectionUrl('postgres://h/d')).toBe('postgres://h/d');
  });
});

/** Runs a TypeScript entry point under tsx with `env`; resolves with its exit code and output. */
function run(entry: string, env: Record<string, string>, args: string[] = []) {
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    SECRET_KEY: 'x'.repeat(32),
    LOG_LEVEL: 'warn',
    ...env,
  };
  delete childEnv.REDIS_URL;
  // The PostgreSQL run's own DATABASE_URL names the shared base database: a child given none here
  // must use its embedded one in DATA_DIR, never migrate or rotate keys in that one.
  if (!('DATABASE_URL' in env)) delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, output })),
  );
}

describe('an unreachable DATABASE_URL at start', () => {
  const url = `postgres://switchboard:${PASSWORD}@127.0.0.1:1/test`;
  const line =
    'cannot reach the database at DATABASE_URL (postgres://switchboard@127.0.0.1:1/test: ECONNREFUSED)';

  for (const [entry, prefix] of [
    ['src/main.ts', 'Switchboard cannot start: '],
    ['src/db/migrate-cli.ts', 'migrate: '],
    ['scripts/keys-rotate.ts', 'keys:rotate: '],
  ] as const) {
    it(`${entry} says so in one line and exits 1`, async () => {
      const { code, output } = await run(entry, { DATABASE_URL: url });
      expect(code).toBe(1);
      expect(output).toContain(`${prefix}${line}`);
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toMatch(/^\s+at /m); // no stack trace
      expect(output.trim().split('\n')).toHaveLength(1);
    }, 60_000);
  }
});

describe("npm run keys:rotate with ENCRYPTION_KEYS other than the servers'", () => {
  const key = (fill: number) => `k1:${Buffer.alloc(32, fill).toString('base64')}`;

  it('refuses (exit 1), retiring and withdrawing nothing; with the right keys it rotates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-rotate-'));
    const env = { DATA_DIR: dir, NODE_ENV: 'development', SECRET_KEY: 'x'.repeat(32) };
    try {
      // The servers' database: migrated, its signing key sealed under key(1).
      const config = loadConfig({ ...env, ENCRYPTION_KEYS: key(1) });
      const ring = async () => {
        const database = await openDatabase(config);
        try {
          await migrateToLatest(database.db);
          await ensureSigningKey(database, config.encryption);
          const loaded = await loadKeyRing(database, config.encryption, {
            maxTokenTtlSeconds: 900,
          });
          return {
            active: await withSystem(database, activeSigningKid),
            kids: loaded.jwks.keys.map((k) => k.kid),
          };
        } finally {
          await database.close();
        }
      };
      const before = await ring();

      for (const args of [[], ['--compromised']]) {
        const wrong = await run(
          'scripts/keys-rotate.ts',
          { ...env, ENCRYPTION_KEYS: key(2) },
          args,
        );
        expect(wrong.code, args.join(' ')).toBe(1);
        expect(wrong.output).toContain(
          'keys:rotate: this ENCRYPTION_KEYS cannot decrypt the signing keys stored in the database: the access-token signing key',
        );
        expect(wrong.output).toContain('no key was rotated');
        expect(wrong.output).not.toMatch(/^\s+at /m);
        // The servers' keys are as they were: the same active key, nothing staged or withdrawn.
        expect(await ring()).toEqual(before);
      }

      const right = await run('scripts/keys-rotate.ts', { ...env, ENCRYPTION_KEYS: key(1) });
      expect(right.code).toBe(0);
      expect(right.output).toMatch(/staged signing key: \S+/);
      expect((await ring()).kids).toHaveLength(2);
      // The operator's rotation is in the audit log, the system's act (the refused ones are not).
      const database = await openDatabase(config);
      try {
        const trail = await withSystem(database, (tx) =>
          tx
            .selectFrom('audit_logs')
            .select(['actor_type', 'actor_user_id', 'org_id', 'target_id', 'user_agent'])
            .where('action', '=', 'signing_key.rotate')
            .execute(),
        );
        expect(trail).toEqual([
          {
            actor_type: 'system',
            actor_user_id: null,
            org_id: null,
            target_id: right.output.match(/staged signing key: (\S+)/)?.[1],
            user_agent: 'switchboard-keys-rotate',
          },
        ]);
      } finally {
        await database.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
