// Refresh-token rotation against a hostile client: replays, races, stolen cookies.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import {
  bearer,
  cookieHeader,
  cookiesFrom,
  postWithCookiesOnly,
  registerUser,
} from '../test/auth-helpers.ts';

let t: TestApp; // grace window 0: any second presentation is a reuse
let graceful: TestApp; // default 10 s grace window, same database
beforeAll(async () => {
  t = await buildTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  graceful = await buildTestApp({ database: t.database });
});
afterAll(async () => {
  await graceful.close();
  await t.close();
});

const refreshWith = (app: TestApp, token: string) =>
  app.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: token } });

async function liveRefreshTokens(sessionUserId: string) {
  const rows = await withSystem(t.database, (tx) =>
    tx
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .select(['refresh_tokens.id'])
      .where('refresh_tokens.user_id', '=', sessionUserId)
      .where('refresh_tokens.rotated_at', 'is', null)
      .where('sessions.revoked_at', 'is', null)
      .execute(),
  );
  return rows.length;
}

describe('refresh rotation', () => {
  it('answers a new pair; the old refresh token is dead; the new pair works', async () => {
    const r = await registerUser(t.app);
    const res = await refreshWith(t, r.refresh);
    expect(res.statusCode).toBe(200);
    const pair = res.json();
    expect(pair).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    expect(pair.refresh_token).not.toBe(r.refresh);
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(pair.access_token) })).statusCode,
    ).toBe(200);
    const second = await refreshWith(t, pair.refresh_token);
    expect(second.statusCode).toBe(200);
  });

  it('a replayed refresh token revokes the whole session: newest refresh and access tokens die', async () => {
    const r = await registerUser(t.app);
    const next = (await refreshWith(t, r.refresh)).json();
    const replay = await refreshWith(t, r.refresh);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('refresh_token_reused');
    expect((await refreshWith(t, next.refresh_token)).statusCode).toBe(401);
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(next.access_token) })).statusCode,
    ).toBe(401);
    expect((await t.app.inject({ url: '/auth/me', headers: bearer(r.access) })).statusCode).toBe(
      401,
    );
    expect(await liveRefreshTokens(r.userId)).toBe(0);
    const audit = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select(['action', 'outcome', 'actor_user_id'])
        .where('org_id', '=', r.orgId)
        .where('action', '=', 'auth.refresh_token_reused')
        .execute(),
    );
    expect(audit).toEqual([
      { action: 'auth.refresh_token_reused', outcome: 'failure', actor_user_id: r.userId },
    ]);
  });

  it('a replay whose revocation fails to commit ends nothing, in the database or in the revocation list', async () => {
    const r = await registerUser(t.app);
    const next = (await refreshWith(t, r.refresh)).json();
    // Fault injection: the replay's transaction fails at COMMIT (a deferred trigger on its audit
    // row), after its statements revoked the session.
    const ddl = (text: string) => sql.raw(text).execute(t.database.db);
    await ddl(`CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql
      AS $$ BEGIN RAISE EXCEPTION 'injected commit failure'; END $$`);
    await ddl(`CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON audit_logs
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
      WHEN (NEW.action = 'auth.refresh_token_reused') EXECUTE FUNCTION test_fail_at_commit()`);
    try {
      const replay = await refreshWith(t, r.refresh);
      expect(replay.statusCode).toBeGreaterThanOrEqual(500);
    } finally {
      await ddl('DROP TRIGGER test_fail_at_commit ON audit_logs');
      await ddl('DROP FUNCTION test_fail_at_commit()');
    }
    // The rollback ended nothing: the session lives on, and the access token is not refused by
    // the in-memory revocation list either (sessions reach it only after their revocation commits).
    expect(await liveRefreshTokens(r.userId)).toBe(1);
    const me = await t.app.inject({ url: '/auth/me', headers: bearer(next.access_token) });
    expect(me.statusCode, me.body).toBe(200);
    expect((await refreshWith(t, next.refresh_token)).statusCode).toBe(200);
  });

  it('within the grace window a second presentation gets a 409 that ends nothing', async () => {
    const r = await registerUser(graceful.app);
    const first = await refreshWith(graceful, r.refresh);
    expect(first.statusCode).toBe(200);
    const again = await refreshWith(graceful, r.refresh);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('refresh_in_progress');
    const next = first.json();
    expect(
      (await graceful.app.inject({ url: '/auth/me', headers: bearer(next.access_token) }))
        .statusCode,
    ).toBe(200);
    expect((await refreshWith(graceful, next.refresh_token)).statusCode).toBe(200);
  });

  it('many concurrent refreshes with one token leave exactly one live refresh token', async () => {
    const r = await registerUser(graceful.app);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => refreshWith(graceful, r.refresh)),
    );
    const codes = results.map((x) => x.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c !== 200).every((c) => c === 409)).toBe(true);
    expect(await liveRefreshTokens(r.userId)).toBe(1);
  });

  it('unknown, malformed and missing refresh tokens are 401, never 500', async () => {
    for (const token of ['x'.repeat(43), 'short', '../../etc/passwd'.repeat(3)]) {
      const res = await refreshWith(t, token);
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_refresh_token');
    }
    const none = await t.app.inject({ method: 'POST', url: '/api/auth/refresh' });
    expect(none.statusCode).toBe(401);
    const extra = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: 'x'.repeat(43), user_id: 'me' },
    });
    expect(extra.statusCode).toBe(400);
  });

  it('an expired refresh token (idle expiry) is refused', async () => {
    const r = await registerUser(t.app);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('refresh_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('user_id', '=', r.userId)
        .execute(),
    );
    expect((await refreshWith(t, r.refresh)).statusCode).toBe(401);
  });

  it('a session past its absolute expiry cannot be refreshed', async () => {
    const r = await registerUser(t.app);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('user_id', '=', r.userId)
        .execute(),
    );
    expect((await refreshWith(t, r.refresh)).statusCode).toBe(401);
  });

  it('stores refresh tokens only as SHA-256 hashes', async () => {
    const r = await registerUser(t.app);
    const rows = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('refresh_tokens')
        .select('token_hash')
        .where('user_id', '=', r.userId)
        .execute(),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.token_hash).not.toContain(r.refresh);
  });
});

describe('refresh by cookie', () => {
  it('works with the refresh cookie and the CSRF header, and rotates the cookies', async () => {
    const r = await registerUser(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      headers: { cookie: cookieHeader(r.cookies), 'x-csrf-token': r.cookies.sb_csrf! },
    });
    expect(res.statusCode).toBe(200);
    const jar = cookiesFrom(res);
    expect(jar.sb_refresh).toBeTruthy();
    expect(jar.sb_refresh).not.toBe(r.cookies.sb_refresh);
  });

  it('without the CSRF header the refresh cookie is refused (403 csrf_failed) and not rotated', async () => {
    const r = await registerUser(t.app);
    const res = await postWithCookiesOnly(t.app, '/api/auth/refresh', r.cookies);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('csrf_failed');
    expect((await refreshWith(t, r.refresh)).statusCode).toBe(200);
  });
});
