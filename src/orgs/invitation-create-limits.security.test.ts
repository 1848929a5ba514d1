// Invitations sent against their limits: each one mails an address of the inviter's choosing, and
// anyone may found an org and so be its owner, so an unbounded POST /api/orgs/current/invitations
// was a mail cannon (one victim mailed over and over, or a list of strangers). Per inviter
// (RATE_LIMIT_INVITE_ACTOR) and per address within the org (RATE_LIMIT_INVITE_ADDRESS): past
// either, 429 with Retry-After, and nothing is written, audited or mailed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { uniqueEmail } from '../test/factories.ts';
import {
  type InvitationApp,
  invitationFlows,
  startInvitationApp,
} from '../test/invitation-helpers.ts';
import { auditOf, type Person, team } from '../test/org-helpers.ts';

const PER_INVITER = 3;
const PER_ADDRESS = 2;
let app: InvitationApp;
const { send, invite } = invitationFlows(() => app);

beforeAll(async () => {
  app = await startInvitationApp({
    RATE_LIMIT_INVITE_ACTOR: `${PER_INVITER}/3600`,
    RATE_LIMIT_INVITE_ADDRESS: `${PER_ADDRESS}/3600`,
  });
});
afterAll(async () => {
  await app?.t.close();
  await app?.smtp.close();
});

const inviteRaw = (by: Person, email: string) =>
  send('POST', '/api/orgs/current/invitations', by.headers, { email, role: 'member' });

const invitationsOf = (email: string) =>
  withSystem(app.t.database, (tx) =>
    tx.selectFrom('invitations').select('id').where('email', '=', email).execute(),
  );

/** Every mail the SMTP server has received for `email`, once the app's mailer has sent them all. */
async function mailsTo(email: string) {
  await app.t.app.auth.mailer?.drain();
  return app.smtp.messages.filter((m) => m.to === email);
}

async function expectRefused(by: Person, email: string) {
  const res = await inviteRaw(by, email);
  expect(res.statusCode, res.body).toBe(429);
  expect(res.json().code).toBe('rate_limited');
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
}

describe('invitations sent', () => {
  it('per inviter: past RATE_LIMIT_INVITE_ACTOR, 429 and nothing written or mailed; another admin of the org still invites', async () => {
    const a = await team(app.t, 'Inviter limit');
    for (let i = 0; i < PER_INVITER; i++) await invite(a.owner, uniqueEmail('invitee'));
    const refused = uniqueEmail('refused');
    await expectRefused(a.owner, refused);
    expect(await invitationsOf(refused)).toHaveLength(0);
    expect(await mailsTo(refused)).toHaveLength(0);
    const trail = await auditOf(app.t.database, a.org.id);
    expect(trail.filter((e) => e.action === 'invitation.create')).toHaveLength(PER_INVITER);
    // The budget is the person's: the org's other admin is not held back by it.
    await invite(a.admin, refused);
    expect(await invitationsOf(refused)).toHaveLength(1);
  });

  it('per address and org: past RATE_LIMIT_INVITE_ADDRESS the address is mailed no more, by any inviter; other addresses and other orgs go on', async () => {
    const a = await team(app.t, 'Address limit');
    const b = await team(app.t, 'Another org');
    const victim = uniqueEmail('victim');
    for (let i = 0; i < PER_ADDRESS; i++) await invite(a.admin, victim);
    await expectRefused(a.admin, victim);
    await expectRefused(a.owner, victim);
    expect(await mailsTo(victim)).toHaveLength(PER_ADDRESS);
    // Other addresses of the org, and another org's invitation of the address, are their own
    // (refused attempts still count on their inviter's budget: a.admin has spent it).
    await invite(a.owner, uniqueEmail('colleague'));
    await invite(b.owner, victim);
    expect(await mailsTo(victim)).toHaveLength(PER_ADDRESS + 1);
  });

  it("an admin adding a user spends the address's budget too: an existing account is mailed an invitation that way", async () => {
    const a = await team(app.t, 'Created users');
    const b = await team(app.t, 'Has an account');
    const victim = b.member.email;
    const addUser = () =>
      send('POST', '/api/orgs/current/users', a.owner.headers, { email: victim, role: 'member' });
    for (let i = 0; i < PER_ADDRESS; i++) expect((await addUser()).statusCode).toBe(202);
    const refused = await addUser();
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('rate_limited');
    // And the two ways share it: an invitation of the address is refused as well.
    await expectRefused(a.admin, victim);
    expect(await mailsTo(victim)).toHaveLength(PER_ADDRESS);
  });
});
