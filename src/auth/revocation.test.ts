// The revocation list tells its listeners of each ended session once: at once on the instance
// that ended it, at the next poll on another instance sharing the database.
import { describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { twoAppsForFile } from '../test/app.ts';
import { bearer, logOut, registerUser } from '../test/auth-helpers.ts';

const [one, two] = twoAppsForFile();

describe('revocation listeners', () => {
  it('hear a logout here at once and there at the next poll, each session once', async () => {
    const heardHere: string[] = [];
    const heardThere: string[] = [];
    const offHere = one.app.auth.revocation.onRevoked((ids) => heardHere.push(...ids));
    const offThere = two.app.auth.revocation.onRevoked((ids) => heardThere.push(...ids));
    const u = await registerUser(one.app);
    const sid = JSON.parse(Buffer.from(u.access.split('.')[1] ?? '', 'base64url').toString()).sid;

    const res = await logOut(one.app, bearer(u.access));
    expect(res.statusCode).toBe(204);
    expect(heardHere).toEqual([sid]);
    expect(heardThere).toEqual([]);

    await two.app.auth.revocation.poll();
    await two.app.auth.revocation.poll();
    await one.app.auth.revocation.poll();
    expect(heardThere).toEqual([sid]);
    expect(heardHere).toEqual([sid]);

    offHere();
    offThere();
  });

  it('keep telling the others when one listener throws', async () => {
    const heard: string[] = [];
    const offBad = one.app.auth.revocation.onRevoked(() => {
      throw new Error('boom');
    });
    const offGood = one.app.auth.revocation.onRevoked((ids) => heard.push(...ids));
    one.app.auth.revocation.add(['00000000-0000-4000-8000-000000000001']);
    expect(heard).toEqual(['00000000-0000-4000-8000-000000000001']);
    offBad();
    offGood();
  });
});

describe('revocation across instances, whatever their clocks', () => {
  it('a revocation stamped by a lagging clock is still heard by the others', async () => {
    const u = await registerUser(one.app);
    const sid = JSON.parse(Buffer.from(u.access.split('.')[1] ?? '', 'base64url').toString()).sid;
    const me = () => two.app.inject({ url: '/api/users/me', headers: bearer(u.access) });
    expect((await me()).statusCode).toBe(200);
    await two.app.auth.revocation.poll();

    // Another instance whose clock is 10 s behind (or whose transaction took its stamp 10 s
    // before it committed) ends the session: the stamp is the database's clock, not the one
    // written, so it cannot fall behind the watermark of the others' polls.
    const lag = 10_000;
    await withSystem(one.database, (tx) =>
      tx
        .updateTable('sessions')
        .set({ revoked_at: new Date(Date.now() - lag), revoked_reason: 'logout' })
        .where('id', '=', sid)
        .execute(),
    );
    const row = await withSystem(one.database, (tx) =>
      tx
        .selectFrom('sessions')
        .select('revoked_at')
        .where('id', '=', sid)
        .executeTakeFirstOrThrow(),
    );
    expect(Math.abs(row.revoked_at!.getTime() - Date.now())).toBeLessThan(lag / 2);

    await two.app.auth.revocation.poll();
    expect((await me()).statusCode).toBe(401);
  });
});
