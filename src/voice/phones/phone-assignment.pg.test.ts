// The platform superuser's assignment of a number and the org's switch to its own Twilio account,
// at the same moment, on PostgreSQL (one pool, real row locks; PGlite runs one transaction at a
// time). A number assigned on the platform account proves nothing once the org's own account
// serves it, so the two must serialise: the assignment sees the account and is refused, or it
// commits first and the switch resets it to pending (audited), as for every verified number.
// Before the org row lock they interleaved and left the org on its own account with a number
// verified by the platform's word.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withSystem } from '../../db/tenant.ts';
import { buildTestApp, type TestApp } from '../../test/app.ts';
import { type FakeTwilio, startFakeTwilio } from '../../test/fake-twilio.ts';
import { ADMIN_ENV, type Person, superuser, team } from '../../test/org-helpers.ts';
import { pgRaces, type Query } from '../../test/pg-race.ts';
import { PLATFORM_SID, PLATFORM_TOKEN, twilioEnv, uniqueNumber } from '../../test/twilio.ts';

const ORG_SID = `AC${'d'.repeat(32)}`;
const ORG_TOKEN = 'orgdtoken0123456789abcdef0123456';

let fake: FakeTwilio;
let t: TestApp;
let su: Person;

beforeAll(async () => {
  fake = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN, [ORG_SID]: ORG_TOKEN });
  t = await buildTestApp({ env: { ...ADMIN_ENV, ...twilioEnv({ TWILIO_API_URL: fake.url }) } });
  su = await superuser(t);
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const { during } = pgRaces(() => t);

async function pendingNumber(owner: Person) {
  const number = uniqueNumber();
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/phones',
    headers: owner.headers,
    payload: { number },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id as string, number };
}

const statusOf = (id: string) =>
  withSystem(t.database, (tx) =>
    tx
      .selectFrom('phones')
      .select(['verification_status', 'verification_method'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow(),
  );

it('an assignment racing the switch to the org’s own account is refused', async () => {
  const a = await team(t, 'Assign vs own account');
  const phone = await pendingNumber(a.owner);
  // PUT /api/twilio/credentials as it runs: the org row locked, the account written.
  const ownAccount = async (q: Query) => {
    await q('SELECT 1 FROM orgs WHERE id = $1 FOR NO KEY UPDATE', [a.org.id]);
    await q(
      `INSERT INTO org_twilio_credentials (org_id, account_sid, auth_token_enc, updated_by)
         VALUES ($1, $2, 'sealed elsewhere', $3)`,
      [a.org.id, ORG_SID, a.owner.user.id],
    );
  };
  const res = await during(ownAccount, () =>
    t.app.inject({
      method: 'POST',
      url: '/api/admin/phone-assignments',
      headers: su.headers,
      payload: { org_id: a.org.id, number: phone.number },
    }),
  );
  expect(res.statusCode, res.body).toBe(409);
  expect(res.json().code).toBe('phone_verified_by_account');
  expect(await statusOf(phone.id)).toEqual({
    verification_status: 'pending_verification',
    verification_method: null,
  });
});

it('the switch to the org’s own account racing an assignment resets the number it assigned', async () => {
  const a = await team(t, 'Own account vs assign');
  const phone = await pendingNumber(a.owner);
  // POST /api/admin/phone-assignments as it runs: the org row share-locked, the number verified.
  const assignment = async (q: Query) => {
    await q('SELECT 1 FROM orgs WHERE id = $1 FOR SHARE', [a.org.id]);
    await q(
      `UPDATE phones SET verification_status = 'verified',
         verification_method = 'platform_assignment', verified_at = now() WHERE id = $1`,
      [phone.id],
    );
  };
  const res = await during(assignment, () =>
    t.app.inject({
      method: 'PUT',
      url: '/api/twilio/credentials',
      headers: a.owner.headers,
      payload: { account_sid: ORG_SID, auth_token: ORG_TOKEN },
    }),
  );
  expect(res.statusCode, res.body).toBe(200);
  expect(await statusOf(phone.id)).toEqual({
    verification_status: 'pending_verification',
    verification_method: null,
  });
});
