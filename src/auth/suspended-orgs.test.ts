// The suspended-org list tells its listeners of each suspension once: at once on the instance that
// suspended the org, at the next poll on another instance sharing the database; a resumed org is
// forgotten at the next poll, and a listener that throws does not stop the others.
import { describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { twoAppsForFile } from '../test/app.ts';
import { createOrg } from '../test/factories.ts';

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
    one.app.auth.suspendedOrgs.resume([org.id]);
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
