// The suspended-org list tells its listeners of each suspension once: at once on the instance that
// suspended the org, at the next poll on another instance sharing the database; a resumed org is
// forgotten at the next poll, and a listener that throws does not stop the others. An org is
// lifted on an instance only once that instance knows every session its suspension ended.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { twoAppsForFile } from '../test/app.ts';
import { bearer, registerUser } from '../test/auth-helpers.ts';
import { createOrg } from '../test/factories.ts';
import { createSuspendedOrgs } from './suspended-orgs.ts';

const [one, two] = twoAppsForFile();

const mark = (orgId: string, on: boolean) =>
  withSystem(one.database, (tx) =>
    tx
      .updateTable('orgs')
      .set(
        on
          ? { suspended_at: new Date(), suspended_reason: 'test', suspension_kind: 'suspension' }
          : { suspended_at: null, suspended_reason: null, suspension_kind: null },
      )
      .where('id', '=', orgId)
      .execute(),
  );

describe('suspended-org listeners', () => {
  it('hear a suspension here at once and there at the next poll, each once', async () => {
    const org = await createOrg(one.database);
    const here: string[] = [];
    const there: string[] = [];
    const offHere = one.app.auth.suspendedOrgs.onSuspended((ids) => here.push(...ids));
    const offThrows = two.app.auth.suspendedOrgs.onSuspended(() => {
      throw new Error('a broken listener');
    });
    const offThere = two.app.auth.suspendedOrgs.onSuspended((ids) => there.push(...ids));

    await mark(org.id, true);
    one.app.auth.suspendedOrgs.suspend([org.id]);
    expect(here).toEqual([org.id]);
    expect(one.app.auth.suspendedOrgs.isSuspended(org.id)).toBe(true);
    expect(two.app.auth.suspendedOrgs.isSuspended(org.id)).toBe(false);

    await two.app.auth.suspendedOrgs.poll();
    await one.app.auth.suspendedOrgs.poll();
    expect(there).toEqual([org.id]);
    expect(two.app.auth.suspendedOrgs.isSuspended(org.id)).toBe(true);
    // Already known: not told again.
    await two.app.auth.suspendedOrgs.poll();
    expect(there).toEqual([org.id]);
    expect(here).toEqual([org.id]);

    await mark(org.id, false);
    await one.app.auth.suspendedOrgs.resume([org.id]);
    expect(one.app.auth.suspendedOrgs.isSuspended(org.id)).toBe(false);
    await two.app.auth.suspendedOrgs.poll();
    expect(two.app.auth.suspendedOrgs.isSuspended(org.id)).toBe(false);

    // Suspended again later: told again.
    await mark(org.id, true);
    await two.app.auth.suspendedOrgs.poll();
    expect(there).toEqual([org.id, org.id]);
    offHere();
    offThere();
    offThrows();
    await mark(org.id, false);
  });
});

describe('lifting a suspension', () => {
  // The suspension ended the org's sessions in the transaction that suspended it; an instance
  // that had learned of the suspension (its suspended-org poll) but not yet of those revocations
  // (its revocation poll, a timer of its own) refused them only as "suspended". Lifted before it
  // reads them, it would let an ended session back in until its next revocation poll.
  async function suspendedWithEndedSession() {
    const u = await registerUser(one.app);
    const sid = JSON.parse(Buffer.from(u.access.split('.')[1] ?? '', 'base64url').toString()).sid;
    await withSystem(one.database, (tx) =>
      tx
        .updateTable('sessions')
        .set({ revoked_at: sql`clock_timestamp()` })
        .where('id', '=', sid)
        .execute(),
    );
    await mark(u.orgId, true);
    for (const t of [one, two]) await t.app.auth.suspendedOrgs.poll();
    const me = (t: typeof one) => t.app.inject({ url: '/api/users/me', headers: bearer(u.access) });
    for (const t of [one, two]) expect((await me(t)).json().code).toBe('org_suspended');
    await mark(u.orgId, false);
    return { orgId: u.orgId, sid, me };
  }

  it('on the instance that resumes it: only after it has read the ended sessions', async () => {
    const { orgId, sid, me } = await suspendedWithEndedSession();
    await two.app.auth.suspendedOrgs.resume([orgId]);
    expect(two.app.auth.suspendedOrgs.isSuspended(orgId)).toBe(false);
    expect(two.app.auth.revocation.isRevoked(sid)).toBe(true);
    expect((await me(two)).statusCode).toBe(401);
  });

  it('on an instance that learns of the resume by its poll: the same', async () => {
    const { orgId, sid, me } = await suspendedWithEndedSession();
    await one.app.auth.suspendedOrgs.poll();
    expect(one.app.auth.suspendedOrgs.isSuspended(orgId)).toBe(false);
    expect(one.app.auth.revocation.isRevoked(sid)).toBe(true);
    expect((await me(one)).statusCode).toBe(401);
  });

  it('a failed catch-up keeps the lifted org refused here, and new suspensions still apply', async () => {
    const [lifted, later] = [await createOrg(one.database), await createOrg(one.database)];
    let failing = true;
    const list = createSuspendedOrgs({
      database: one.database,
      pollMs: 60_000,
      catchUp: async () => {
        if (failing) throw new Error('database down');
      },
    });
    await mark(lifted.id, true);
    await list.poll();
    await mark(lifted.id, false);
    await mark(later.id, true);
    await list.poll();
    await list.resume([lifted.id]);
    expect(list.isSuspended(lifted.id)).toBe(true);
    expect(list.isSuspended(later.id)).toBe(true);
    failing = false;
    await list.poll();
    expect(list.isSuspended(lifted.id)).toBe(false);
    expect(list.isSuspended(later.id)).toBe(true);
    await mark(later.id, false);
  });
});

describe('a poll and a change made here at the same time', () => {
  // A poll's reading may predate a suspension or resume this instance has just committed and
  // applied: what was changed here after the read began wins over it.
  function gatedList() {
    const gates: (() => void)[] = [];
    let gated = 0;
    let entered: () => void = () => {};
    const list = createSuspendedOrgs({
      database: one.database,
      pollMs: 60_000,
      // The first `gated` catch-ups wait until released: a poll held between its read and its
      // assignment (or a resume before it lifts).
      catchUp: () => {
        if (gated-- <= 0) return Promise.resolve();
        entered();
        return new Promise<void>((resolve) => gates.push(resolve));
      },
    });
    const heard: string[] = [];
    list.onSuspended((ids) => heard.push(...ids));
    return {
      list,
      heard,
      /** The next catch-up waits for release(); resolves once something is waiting in it. */
      hold: () => {
        gated = 1;
        return new Promise<void>((resolve) => {
          entered = resolve;
        });
      },
      release: () => gates.shift()?.(),
    };
  }

  it('a suspension made here while a poll reads is kept, told once', async () => {
    const [lifted, cut] = [await createOrg(one.database), await createOrg(one.database)];
    const g = gatedList();
    await mark(lifted.id, true);
    await g.list.poll();
    await mark(lifted.id, false);
    const waiting = g.hold();
    const polling = g.list.poll(); // reads: nothing suspended; waits to lift `lifted`
    await waiting;
    await mark(cut.id, true);
    g.list.suspend([cut.id]);
    g.release();
    await polling;
    expect(g.list.isSuspended(cut.id)).toBe(true);
    expect(g.list.isSuspended(lifted.id)).toBe(false);
    await g.list.poll();
    expect(g.heard).toEqual([lifted.id, cut.id]);
    await mark(cut.id, false);
  });

  it('a resume made here while a poll reads is kept, and not told as a new suspension', async () => {
    const [lifted, resumed] = [await createOrg(one.database), await createOrg(one.database)];
    const g = gatedList();
    await mark(lifted.id, true);
    await mark(resumed.id, true);
    await g.list.poll();
    await mark(lifted.id, false);
    const waiting = g.hold();
    const polling = g.list.poll(); // reads `resumed` still suspended
    await waiting;
    await mark(resumed.id, false);
    await g.list.resume([resumed.id]);
    expect(g.list.isSuspended(resumed.id)).toBe(false);
    g.release();
    await polling;
    expect(g.list.isSuspended(resumed.id)).toBe(false);
    expect(g.heard.filter((id) => id === resumed.id)).toHaveLength(1);
  });

  it('suspended again here while its resume waits: it stays suspended, told again', async () => {
    const org = await createOrg(one.database);
    const g = gatedList();
    await mark(org.id, true);
    g.list.suspend([org.id]);
    await mark(org.id, false);
    const waiting = g.hold();
    const resuming = g.list.resume([org.id]);
    await waiting;
    await mark(org.id, true);
    g.list.suspend([org.id]);
    g.release();
    await resuming;
    expect(g.list.isSuspended(org.id)).toBe(true);
    expect(g.heard).toEqual([org.id, org.id]);
    await mark(org.id, false);
  });
});
